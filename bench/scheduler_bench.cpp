// Scheduler benchmarks: HeapQueue against WheelQueue with millions of pending timers.
//
// Hold model (the classic priority-queue benchmark): fill the queue with N timers, then each
// iteration pops the earliest event, runs it and pushes one new timer at its time plus a delay
// drawn from an exponential distribution (mean 1 s) with hub::Random, so N stays constant.
// An exponential fill from time 0 is already the steady state (the residual of an exponential
// is exponential), so timing starts right after the fill. hub::Random::exponential costs about
// as much as a wheel operation (a 30-term series, no libm), so the draws are precomputed into
// a 4096-entry table that hub::Random indexes; BM_ExponentialDraw shows the draw's own cost.
//   BM_Hold<Queue>        the queue alone, SmallCallback events (no allocation)
//   BM_SimulatorHold      Simulator::step with std::function events (lambda capturing 8 bytes)
//
// Bytes per pending timer (BM_Bytes): fill a fresh queue with N timers and divide the growth
// of (a) the resident set, read from /proc/self/statm after malloc_trim(0), and (b) the bytes
// held through operator new (counted below with malloc_usable_size, so allocator rounding is
// included; untouched vector capacity counts here but not in the RSS figure) by N.
//
// Big N use fixed iteration counts (a 10M fill takes seconds and must not be repeated by the
// library's iteration search); N = 1024 runs by time, for the ctest smoke run.
// Example: scheduler_bench --benchmark_filter='Hold|Bytes' --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "hub/env/assert.hpp"
#include "hub/env/random.hpp"
#include "simnet/heap_queue.hpp"
#include "simnet/simulator.hpp"
#include "simnet/wheel_queue.hpp"

// gcc sees malloc/free through the inlined replacements and warns of a mismatch; they match.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

// Bytes currently held through operator new. Global by necessity: operator new is global. The
// benchmark is single-threaded.
static int64_t g_heap_bytes = 0;

void* operator new(size_t size) {
    void* p = std::malloc(size == 0 ? 1 : size);
    HUB_ASSERT(p != nullptr);  // out of memory: a benchmark has nothing better to do
    g_heap_bytes += static_cast<int64_t>(malloc_usable_size(p));
    return p;
}
void* operator new[](size_t size) { return operator new(size); }
void operator delete(void* p) noexcept {
    if (p != nullptr) {
        g_heap_bytes -= static_cast<int64_t>(malloc_usable_size(p));
        std::free(p);
    }
}
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete(void* p, size_t) noexcept { operator delete(p); }
void operator delete[](void* p, size_t) noexcept { operator delete(p); }

namespace {

using simnet::Event;
using simnet::HeapQueue;
using simnet::SchedulerKind;
using simnet::SmallCallback;
using simnet::WheelQueue;

constexpr uint64_t kMeanDelayNs = 1'000'000'000;  // 1 s: a device's telemetry-ish period
constexpr int64_t kHoldEvents = 5'000'000;        // timed events per big-N hold run
constexpr int64_t kSmokePending = 1024;

// Exponential delays drawn with hub::Random, precomputed; next() costs one xoshiro draw.
class DelayTable {
  public:
    DelayTable(uint64_t seed, uint64_t mean_ns) : random_(seed), delays_(kEntries) {
        for (int64_t& d : delays_) {
            d = static_cast<int64_t>(random_.exponential(mean_ns));
        }
    }
    int64_t next() { return delays_[random_.next_u64() >> (64 - kEntriesLog2)]; }

  private:
    static constexpr int kEntriesLog2 = 12;  // 32 KiB: stays in L1/L2 next to the queue
    static constexpr size_t kEntries = size_t{1} << kEntriesLog2;
    hub::Random random_;
    std::vector<int64_t> delays_;
};

void count_fire(void* context, uint64_t) { ++*static_cast<uint64_t*>(context); }

template <typename Queue>
void BM_Hold(benchmark::State& state) {
    const int64_t pending = state.range(0);
    Queue queue;
    DelayTable delays(1, kMeanDelayNs);
    uint64_t fired = 0;
    const SmallCallback callback{&count_fire, &fired, 0};
    for (int64_t i = 0; i < pending; ++i) {
        queue.push(delays.next(), callback);
    }
    Event event;
    for (auto _ : state) {
        const bool popped = queue.pop_next(INT64_MAX, &event);
        HUB_ASSERT(popped);
        event.callback();
        queue.push(event.time_ns + delays.next(), callback);
    }
    HUB_ASSERT(fired == static_cast<uint64_t>(state.iterations()));
    HUB_ASSERT(queue.size() == static_cast<size_t>(pending));
    state.SetItemsProcessed(state.iterations());
}

// A self-rescheduling timer population on a Simulator: each event schedules the next one.
class TimerPopulation {
  public:
    TimerPopulation(simnet::Simulator& sim, int64_t pending) : sim_(sim), delays_(1, kMeanDelayNs) {
        for (int64_t i = 0; i < pending; ++i) {
            sim_.schedule(simnet::Instant{delays_.next()}, [this] { fire(); });
        }
    }

  private:
    void fire() { sim_.schedule(sim_.now() + hub::Duration{delays_.next()}, [this] { fire(); }); }

    simnet::Simulator& sim_;
    DelayTable delays_;
};

void BM_SimulatorHold(benchmark::State& state) {
    const int64_t pending = state.range(0);
    simnet::Simulator sim(1, static_cast<SchedulerKind>(state.range(1)));
    TimerPopulation population(sim, pending);
    for (auto _ : state) {
        const bool ran = sim.step();
        HUB_ASSERT(ran);
    }
    HUB_ASSERT(sim.pending_events() == static_cast<size_t>(pending));
    state.SetItemsProcessed(state.iterations());
    state.SetLabel(std::string(simnet::to_string(sim.scheduler())));
}

int64_t resident_bytes() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    HUB_ASSERT(f != nullptr);
    long size_pages = 0;
    long resident_pages = 0;
    const int fields = std::fscanf(f, "%ld %ld", &size_pages, &resident_pages);
    std::fclose(f);
    HUB_ASSERT(fields == 2);
    return static_cast<int64_t>(resident_pages) * sysconf(_SC_PAGESIZE);
}

enum CallbackKind : int64_t { kSmall = 0, kFunctionInline = 1, kFunctionAllocating = 2 };

template <typename Queue>
void fill(Queue& queue, int64_t pending, CallbackKind kind, uint64_t* sink) {
    DelayTable delays(2, kMeanDelayNs);
    for (int64_t i = 0; i < pending; ++i) {
        const int64_t at = delays.next();
        if (kind == kSmall) {
            queue.push(at, SmallCallback{&count_fire, sink, 0});
        } else if (kind == kFunctionInline) {
            // 16 trivially copyable bytes: std::function keeps them inline, no allocation.
            queue.push(at, [sink, i] { *sink += static_cast<uint64_t>(i); });
        } else {
            // 24 bytes: too big for std::function's inline buffer, so it allocates.
            queue.push(at, [sink, i, at] { *sink += static_cast<uint64_t>(i + at); });
        }
    }
}

template <typename Queue>
void BM_Bytes(benchmark::State& state) {
    const int64_t pending = state.range(0);
    const auto kind = static_cast<CallbackKind>(state.range(1));
    uint64_t sink = 0;
    for (auto _ : state) {
        malloc_trim(0);
        const int64_t rss_before = resident_bytes();
        const int64_t heap_before = g_heap_bytes;
        auto queue = std::make_unique<Queue>();
        fill(*queue, pending, kind, &sink);
        const double n = static_cast<double>(pending);
        state.counters["rss_B_per_timer"] = static_cast<double>(resident_bytes() - rss_before) / n;
        state.counters["heap_B_per_timer"] = static_cast<double>(g_heap_bytes - heap_before) / n;
        HUB_ASSERT(queue->size() == static_cast<size_t>(pending));
    }
    static constexpr const char* kNames[] = {"SmallCallback", "std::function(16B)",
                                             "std::function(24B,allocates)"};
    state.SetLabel(kNames[kind]);
}

void BM_ExponentialDraw(benchmark::State& state) {
    hub::Random random(1);
    for (auto _ : state) {
        benchmark::DoNotOptimize(random.exponential(kMeanDelayNs));
    }
    state.SetItemsProcessed(state.iterations());
}

constexpr int64_t kHeap = static_cast<int64_t>(SchedulerKind::heap);
constexpr int64_t kWheel = static_cast<int64_t>(SchedulerKind::wheel);

BENCHMARK(BM_ExponentialDraw);

BENCHMARK_TEMPLATE(BM_Hold, HeapQueue)->Arg(kSmokePending);
BENCHMARK_TEMPLATE(BM_Hold, WheelQueue)->Arg(kSmokePending);
BENCHMARK_TEMPLATE(BM_Hold, HeapQueue)->Arg(1'000'000)->Arg(10'000'000)->Iterations(kHoldEvents);
BENCHMARK_TEMPLATE(BM_Hold, WheelQueue)->Arg(1'000'000)->Arg(10'000'000)->Iterations(kHoldEvents);

BENCHMARK(BM_SimulatorHold)->Args({kSmokePending, kHeap})->Args({kSmokePending, kWheel});
BENCHMARK(BM_SimulatorHold)
    ->Args({1'000'000, kHeap})
    ->Args({1'000'000, kWheel})
    ->Args({10'000'000, kHeap})
    ->Args({10'000'000, kWheel})
    ->Iterations(kHoldEvents);

void bytes_args(benchmark::internal::Benchmark* b) {
    for (int64_t pending : {int64_t{1'000'000}, int64_t{10'000'000}}) {
        for (int64_t kind : {kSmall, kFunctionInline, kFunctionAllocating}) {
            b->Args({pending, kind});
        }
    }
    b->Iterations(1);
}
BENCHMARK_TEMPLATE(BM_Bytes, HeapQueue)->Apply(bytes_args);
BENCHMARK_TEMPLATE(BM_Bytes, WheelQueue)->Apply(bytes_args);

}  // namespace

BENCHMARK_MAIN();
