// Tests of the event queues: HeapQueue against a std::map model, WheelQueue against HeapQueue
// (same pops, same ids), edge cases through the Simulator with both schedulers, and a
// multi-node timer workload whose trace hash must not depend on the scheduler.
#include "simnet/event_queue.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "simnet/heap_queue.hpp"
#include "simnet/simulator.hpp"
#include "simnet/wheel_queue.hpp"

namespace simnet {
namespace {

constexpr int64_t kDayNs = 86'400'000'000'000;

// ---------------------------------------------------------------------------------------------
// Property: random push / cancel / pop sequences give identical results on every queue.

struct Op {
    int kind = 0;        // 0-4 push, 5-6 cancel, 7-9 pop
    int64_t delay = 0;   // push: time - now; pop: deadline - now (may be negative)
    uint64_t pick = 0;   // cancel: which id (issued or unknown); push: callback kind
};

std::ostream& operator<<(std::ostream& os, const Op& op) {
    return os << "Op{" << op.kind << ", " << op.delay << ", " << op.pick << "}";
}

// Delays that hit the wheel's corners: equal times, one tick, bucket and level edges, days,
// and beyond the 13-day window of the default wheel.
rc::Gen<int64_t> delay_gen() {
    return rc::gen::weightedOneOf<int64_t>({
        {4, rc::gen::just<int64_t>(0)},
        {3, rc::gen::element<int64_t>(1, 1023, 1024, 1025, 262'143, 262'144, 67'108'864,
                                      17'179'869'184, (int64_t{1} << 50) - 1, int64_t{1} << 50)},
        {4, rc::gen::inRange<int64_t>(0, 4096)},
        {4, rc::gen::inRange<int64_t>(0, 100'000'000)},
        {2, rc::gen::inRange<int64_t>(0, 3 * kDayNs)},
        {2, rc::gen::inRange<int64_t>(0, 40 * kDayNs)},
    });
}

rc::Gen<Op> op_gen() {
    return rc::gen::construct<Op>(rc::gen::inRange(0, 10), delay_gen(),
                                  rc::gen::arbitrary<uint64_t>());
}

void log_small(void* context, uint64_t tag) {
    static_cast<std::vector<uint64_t>*>(context)->push_back(tag);
}

// One queue under test with the log its callbacks write.
struct Subject {
    std::unique_ptr<EventQueue> queue;
    WheelQueue* wheel = nullptr;  // for invariant checks
    std::vector<uint64_t> log;
};

std::vector<Subject> make_subjects() {
    std::vector<Subject> subjects;
    subjects.push_back(Subject{std::make_unique<HeapQueue>(), nullptr, {}});
    for (int levels : {WheelQueue::kLevelsDefault, 1, 2, WheelQueue::kLevelsMax}) {
        auto wheel = std::make_unique<WheelQueue>(levels);
        WheelQueue* raw = wheel.get();
        subjects.push_back(Subject{std::move(wheel), raw, {}});
    }
    return subjects;
}

// The model: pending events by (time, sequence).
struct Model {
    int64_t now = 0;
    uint64_t sequence = 0;
    std::map<std::pair<int64_t, uint64_t>, EventId> pending;
    std::vector<EventId> issued;
};

void apply_push(const Op& op, Model& model, std::vector<Subject>& subjects) {
    const int64_t time = model.now + op.delay;
    const uint64_t tag = ++model.sequence;
    std::vector<EventId> ids;
    for (Subject& s : subjects) {
        if (op.pick % 2 == 0) {
            std::vector<uint64_t>* log = &s.log;
            ids.push_back(s.queue->push(time, [log, tag] { log->push_back(tag); }));
        } else {
            ids.push_back(s.queue->push(time, SmallCallback{&log_small, &s.log, tag}));
        }
    }
    for (EventId id : ids) {
        RC_ASSERT(id == ids[0]);
    }
    RC_ASSERT(std::find(model.issued.begin(), model.issued.end(), ids[0]) == model.issued.end());
    model.pending.emplace(std::pair{time, tag}, ids[0]);
    model.issued.push_back(ids[0]);
}

void apply_cancel(const Op& op, Model& model, std::vector<Subject>& subjects) {
    // Mostly ids that were issued (pending, popped or cancelled); sometimes made-up ones.
    EventId id = op.pick;
    if (!model.issued.empty() && op.pick % 8 != 0) {
        id = model.issued[op.pick % model.issued.size()];
    }
    bool expected = false;
    for (auto it = model.pending.begin(); it != model.pending.end(); ++it) {
        if (it->second == id) {
            model.pending.erase(it);
            expected = true;
            break;
        }
    }
    for (Subject& s : subjects) {
        RC_ASSERT(s.queue->cancel(id) == expected);
    }
}

// Deadlines: unbounded, exactly the earliest pending time or one before it (the boundaries),
// or anywhere from just before now on.
int64_t pick_deadline(const Op& op, const Model& model) {
    const int64_t earliest = model.pending.empty() ? model.now : model.pending.begin()->first.first;
    switch (op.pick % 4) {
        case 0: return INT64_MAX;
        case 1: return earliest;
        case 2: return earliest - 1;
        default: return model.now + op.delay - 1;
    }
}

void apply_pop(const Op& op, Model& model, std::vector<Subject>& subjects) {
    const int64_t deadline = pick_deadline(op, model);
    const bool expected = !model.pending.empty() && model.pending.begin()->first.first <= deadline;
    for (Subject& s : subjects) {
        Event event;
        const bool popped = s.queue->pop_next(deadline, &event);
        RC_ASSERT(popped == expected);
        if (popped) {
            RC_ASSERT(event.time_ns == model.pending.begin()->first.first);
            RC_ASSERT(event.id == model.pending.begin()->second);
            event.callback();
            RC_ASSERT(s.log.back() == model.pending.begin()->first.second);
        }
    }
    if (expected) {
        model.now = model.pending.begin()->first.first;
        model.pending.erase(model.pending.begin());
    } else if (deadline != INT64_MAX) {
        model.now = std::max(model.now, deadline);  // what Simulator::run_until does
    }
}

void check_all(const Model& model, const std::vector<Subject>& subjects) {
    for (const Subject& s : subjects) {
        RC_ASSERT(s.queue->size() == model.pending.size());
        RC_ASSERT(s.log == subjects[0].log);
        if (s.wheel != nullptr) {
            s.wheel->check_invariants();
        }
    }
}

RC_GTEST_PROP(EventQueues, AgreeWithTheModelAndWithEachOther, ()) {
    const std::vector<Op> ops = *rc::gen::container<std::vector<Op>>(op_gen());
    Model model;
    std::vector<Subject> subjects = make_subjects();
    for (const Op& op : ops) {
        if (op.kind < 5) {
            apply_push(op, model, subjects);
        } else if (op.kind < 7) {
            apply_cancel(op, model, subjects);
        } else {
            apply_pop(op, model, subjects);
        }
        check_all(model, subjects);
    }
    // Drain: everything left comes out in model order on every queue.
    while (!model.pending.empty()) {
        apply_pop(Op{9, 0, 0}, model, subjects);
    }
    check_all(model, subjects);
}

// ---------------------------------------------------------------------------------------------
// Edge cases through the Simulator, for both schedulers.

class BothSchedulers : public ::testing::TestWithParam<SchedulerKind> {};

INSTANTIATE_TEST_SUITE_P(Kinds, BothSchedulers,
                         ::testing::Values(SchedulerKind::heap, SchedulerKind::wheel),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST_P(BothSchedulers, CancelInsideACallbackOfAnEventDueAtTheSameTime) {
    Simulator sim(1, GetParam());
    std::vector<std::string> ran;
    TimerId victim = 0;
    sim.schedule(Instant{100}, [&] {
        ran.push_back("a");
        sim.cancel(victim);
    });
    victim = sim.schedule(Instant{100}, [&] { ran.push_back("victim"); });
    sim.schedule(Instant{100}, [&] { ran.push_back("c"); });
    while (sim.step()) {
    }
    EXPECT_EQ(ran, (std::vector<std::string>{"a", "c"}));
    EXPECT_EQ(sim.pending_events(), 0u);
}

TEST_P(BothSchedulers, EventsScheduledAtNowFromACallbackRunAfterTheCurrentOnes) {
    Simulator sim(1, GetParam());
    std::vector<std::string> ran;
    sim.schedule(Instant{10}, [&] {
        ran.push_back("a");
        sim.schedule(sim.now(), [&] { ran.push_back("a-child"); });
    });
    sim.schedule(Instant{10}, [&] { ran.push_back("b"); });
    sim.schedule(Instant{11}, [&] { ran.push_back("later"); });
    while (sim.step()) {
    }
    EXPECT_EQ(ran, (std::vector<std::string>{"a", "b", "a-child", "later"}));
}

TEST_P(BothSchedulers, TimeZeroAndChainsAtZero) {
    Simulator sim(1, GetParam());
    std::vector<int> ran;
    sim.schedule(Instant{0}, [&] {
        ran.push_back(1);
        sim.schedule(Instant{0}, [&] { ran.push_back(3); });
    });
    sim.schedule(Instant{0}, [&] { ran.push_back(2); });
    EXPECT_FALSE(sim.run_until([] { return false; }, Instant{0}));
    EXPECT_EQ(ran, (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(sim.now().ns, 0);
}

TEST_P(BothSchedulers, FarFutureEventsBeyondTheWheelWindowComeOutInOrder) {
    Simulator sim(1, GetParam());
    std::vector<int64_t> times;
    const std::vector<int64_t> at = {400 * kDayNs, 14 * kDayNs, 31 * kDayNs, 14 * kDayNs,
                                     5,            13 * kDayNs, 2 * kDayNs,  31 * kDayNs + 1};
    for (int64_t t : at) {
        sim.schedule(Instant{t}, [&] { times.push_back(sim.now().ns); });
    }
    while (sim.step()) {
    }
    std::vector<int64_t> sorted = at;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(times, sorted);
}

TEST_P(BothSchedulers, LargeTimesUpToInt64Max) {
    Simulator sim(1, GetParam());
    std::vector<std::string> ran;
    const int64_t month = 31 * kDayNs;
    sim.schedule(Instant{INT64_MAX}, [&] { ran.push_back("max"); });
    sim.schedule(Instant{INT64_MAX - 1024}, [&] { ran.push_back("max-1024"); });
    sim.schedule(Instant{INT64_MAX - month}, [&] {
        ran.push_back("max-month");
        sim.schedule(Instant{INT64_MAX}, [&] { ran.push_back("max-again"); });
        sim.schedule(sim.now() + Duration::seconds(1), [&] { ran.push_back("max-month+1s"); });
    });
    EXPECT_FALSE(sim.run_until([] { return false; }, Instant{INT64_MAX - 2048}));
    EXPECT_EQ(ran, (std::vector<std::string>{"max-month", "max-month+1s"}));
    EXPECT_EQ(sim.now().ns, INT64_MAX - 2048);
    EXPECT_FALSE(sim.run_until([] { return false; }, Instant{INT64_MAX}));
    EXPECT_EQ(ran, (std::vector<std::string>{"max-month", "max-month+1s", "max-1024", "max",
                                             "max-again"}));
}

TEST_P(BothSchedulers, RunUntilKeepsItsSemantics) {
    Simulator sim(1, GetParam());
    int count = 0;
    sim.schedule(Instant{1'000}, [&] { ++count; });
    sim.schedule(Instant{2'000'000}, [&] { ++count; });
    // An event exactly at the deadline runs; time then rests at the deadline.
    EXPECT_FALSE(sim.run_until([] { return false; }, Instant{1'000}));
    EXPECT_EQ(count, 1);
    EXPECT_EQ(sim.now().ns, 1'000);
    // A deadline in the past moves nothing, time does not go back.
    EXPECT_FALSE(sim.run_until([] { return false; }, Instant{10}));
    EXPECT_EQ(sim.now().ns, 1'000);
    // Scheduling between the deadline and the next event after a blocked run still works.
    EXPECT_FALSE(sim.run_until([] { return false; }, Instant{1'500'000}));
    sim.schedule(Instant{1'600'000}, [&] { count += 10; });
    EXPECT_TRUE(sim.run_until([&] { return count == 11; }, Instant{3'000'000}));
    EXPECT_EQ(sim.now().ns, 1'600'000);
    EXPECT_EQ(sim.pending_events(), 1u);
    EXPECT_TRUE(sim.run_until([&] { return count == 12; }, Instant{3'000'000}));
}

TEST_P(BothSchedulers, ADeadlineExactlyAtABucketStartRunsTheEventThere) {
    Simulator sim(1, GetParam());
    int count = 0;
    const int64_t level1_bucket_start = int64_t{1024} * 256 * 3;  // ticks are 1024 ns
    sim.schedule(Instant{level1_bucket_start}, [&] { ++count; });
    EXPECT_FALSE(sim.run_until([] { return false; }, Instant{level1_bucket_start - 1}));
    EXPECT_EQ(count, 0);
    EXPECT_FALSE(sim.run_until([] { return false; }, Instant{level1_bucket_start}));
    EXPECT_EQ(count, 1);
}

TEST_P(BothSchedulers, IdsAreNeverReusedAndStaleCancelsAreNoOps) {
    Simulator sim(1, GetParam());
    std::set<TimerId> ids;
    int ran = 0;
    for (int round = 0; round < 50; ++round) {
        std::vector<TimerId> batch;
        for (int i = 0; i < 100; ++i) {
            const TimerId id = sim.schedule(sim.now() + Duration::nanos(i % 7), [&] { ++ran; });
            EXPECT_TRUE(ids.insert(id).second);
            batch.push_back(id);
        }
        for (size_t i = 0; i < batch.size(); i += 3) {
            sim.cancel(batch[i]);
        }
        while (sim.step()) {
        }
        for (TimerId id : batch) {
            sim.cancel(id);  // ran or cancelled: no-op
        }
        sim.cancel(0);
        sim.cancel(~TimerId{0});
    }
    EXPECT_EQ(ran, 50 * 66);
    EXPECT_EQ(sim.events_run(), 50u * 66u);
}

void add_to(void* context, uint64_t amount) { *static_cast<uint64_t*>(context) += amount; }

TEST_P(BothSchedulers, SmallCallbacksRunInOrderWithStdFunctions) {
    Simulator sim(1, GetParam());
    uint64_t total = 0;
    std::vector<uint64_t> seen;
    sim.schedule(Instant{5}, SmallCallback{&add_to, &total, 1});
    sim.schedule(Instant{5}, [&] { seen.push_back(total); });
    const TimerId cancelled = sim.schedule(Instant{5}, SmallCallback{&add_to, &total, 100});
    sim.schedule(Instant{6}, SmallCallback{&add_to, &total, 10});
    sim.cancel(cancelled);
    while (sim.step()) {
    }
    EXPECT_EQ(seen, (std::vector<uint64_t>{1}));
    EXPECT_EQ(total, 11u);
}

// ---------------------------------------------------------------------------------------------
// Memory and slab details.

TEST(EventQueues, CancelledEntriesAreSweptSoMemoryStaysBounded) {
    HeapQueue heap;
    WheelQueue wheel;
    for (int round = 0; round < 20; ++round) {
        for (int i = 0; i < 10'000; ++i) {
            const int64_t t = (round * 10'000 + i) * int64_t{1'000'000'000};  // far future
            const EventId a = heap.push(t, [] {});
            const EventId b = wheel.push(t, [] {});
            ASSERT_EQ(a, b);
            if (i % 10 != 0) {
                EXPECT_TRUE(heap.cancel(a));
                EXPECT_TRUE(wheel.cancel(b));
            }
        }
        EXPECT_LE(heap.entries(), 2 * heap.size() + kCancelledEntriesFloor);
        EXPECT_LE(wheel.entries(), 2 * wheel.size() + kCancelledEntriesFloor);
        wheel.check_invariants();
    }
    EXPECT_EQ(heap.size(), 20'000u);
    EXPECT_EQ(wheel.size(), 20'000u);
    Event a;
    Event b;
    while (heap.pop_next(INT64_MAX, &a)) {
        ASSERT_TRUE(wheel.pop_next(INT64_MAX, &b));
        ASSERT_EQ(a.id, b.id);
        ASSERT_EQ(a.time_ns, b.time_ns);
    }
    EXPECT_FALSE(wheel.pop_next(INT64_MAX, &b));
}

TEST(SlotPool, RetiresASlotInsteadOfWrappingItsGeneration) {
    SlotPool<SmallCallback> pool;
    const uint32_t first = pool.allocate(1, SmallCallback{&add_to, nullptr, 0});
    pool.release(first);
    EXPECT_EQ(pool.node(first).generation, 2u);
    pool.node(first).generation = UINT32_MAX - 1;  // as if reused 2^31 - 1 times
    EXPECT_EQ(pool.allocate(2, SmallCallback{&add_to, nullptr, 0}), first);
    EXPECT_EQ(pool.node(first).generation, UINT32_MAX);
    pool.release(first);
    EXPECT_EQ(pool.node(first).generation, 0u);  // retired: never handed out again
    const uint32_t next = pool.allocate(3, SmallCallback{&add_to, nullptr, 0});
    EXPECT_NE(next, first);
    EXPECT_EQ(pool.node(next).generation, 1u);
}

TEST(EventSlab, FindsOnlyPendingEvents) {
    EventSlab slab;
    const SlotRef a = slab.add(1, [] {});
    const SlotRef b = slab.add(2, SmallCallback{&add_to, nullptr, 0});
    EXPECT_NE(a.slot, b.slot);
    EXPECT_EQ(slab.find(EventSlab::id_of(a)), a);
    EXPECT_EQ(slab.find(EventSlab::id_of(b)), b);
    EXPECT_EQ(slab.sequence(b), 2u);
    slab.remove(a);
    EXPECT_FALSE(slab.find(EventSlab::id_of(a)).has_value());
    EXPECT_FALSE(slab.find(0).has_value());
    EXPECT_FALSE(slab.find(EventSlab::id_of(b) + (uint64_t{2} << 32)).has_value());
    const SlotRef c = slab.add(3, [] {});
    EXPECT_EQ(c.slot, a.slot);  // LIFO reuse of the slot, with a new generation
    EXPECT_NE(EventSlab::id_of(c), EventSlab::id_of(a));
    EXPECT_EQ(slab.live(), 2u);
}

TEST(SchedulerKind, NamesRoundTrip) {
    for (SchedulerKind kind : {SchedulerKind::heap, SchedulerKind::wheel}) {
        EXPECT_EQ(parse_scheduler_kind(to_string(kind)), kind);
    }
    EXPECT_FALSE(parse_scheduler_kind("calendar").has_value());
    EXPECT_EQ(Simulator(1).scheduler(), SchedulerKind::wheel);
}

// ---------------------------------------------------------------------------------------------
// A multi-node timer workload: the trace hash must not depend on the scheduler.

// A node that keeps a handful of timers: each firing traces, re-arms one or two timers at
// random delays (zero, sub-tick, network-like, seconds, days) and sometimes cancels one.
class TimerNode {
  public:
    TimerNode(Simulator& sim, std::string name)
        : sim_(sim), name_(std::move(name)), random_(sim.random_for("timer-node/" + name_)) {}

    void start() {
        for (int i = 0; i < 3; ++i) {
            arm();
        }
    }

  private:
    void arm() {
        const int64_t delay = draw_delay();
        const uint64_t n = ++armed_;
        if (random_.chance(1, 4)) {
            pending_.push_back(sim_.schedule(sim_.now() + Duration::nanos(delay),
                                             SmallCallback{&TimerNode::fire_small, this, n}));
        } else {
            pending_.push_back(
                sim_.schedule(sim_.now() + Duration::nanos(delay), [this, n] { fire(n); }));
        }
    }

    int64_t draw_delay() {
        switch (random_.uniform(6)) {
            case 0: return 0;
            case 1: return static_cast<int64_t>(random_.uniform(2048));
            case 2: return static_cast<int64_t>(random_.exponential(2'000'000));
            case 3: return static_cast<int64_t>(random_.exponential(3'000'000'000));
            case 4: return random_.uniform_between(0, 20 * kDayNs);
            default: return static_cast<int64_t>(random_.exponential(50'000));
        }
    }

    static void fire_small(void* context, uint64_t n) { static_cast<TimerNode*>(context)->fire(n); }

    void fire(uint64_t n) {
        sim_.trace(name_, "timer.fire", "n=" + std::to_string(n));
        if (sim_.events_run() > 20'000) {
            return;  // wind down: the run ends when the timers run out
        }
        arm();
        if (random_.chance(1, 2)) {
            arm();
        }
        if (!pending_.empty() && random_.chance(1, 3)) {
            const size_t i = static_cast<size_t>(random_.uniform(pending_.size()));
            sim_.cancel(pending_[i]);  // maybe already ran: then a no-op
            sim_.trace(name_, "timer.cancel", "i=" + std::to_string(i));
            pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
        }
        if (pending_.size() > 32) {
            pending_.erase(pending_.begin());  // bound the bookkeeping; the timer still runs
        }
    }

    Simulator& sim_;
    std::string name_;
    hub::Random random_;
    std::vector<TimerId> pending_;
    uint64_t armed_ = 0;
};

struct WorkloadResult {
    uint64_t hash = 0;
    uint64_t events = 0;
    uint64_t traced = 0;
    int64_t end_ns = 0;
    bool operator==(const WorkloadResult&) const = default;
};

WorkloadResult run_workload(uint64_t seed, SchedulerKind kind) {
    Simulator sim(seed, kind);
    std::vector<std::unique_ptr<TimerNode>> nodes;
    for (int i = 0; i < 12; ++i) {
        nodes.push_back(std::make_unique<TimerNode>(sim, "n" + std::to_string(i)));
        nodes.back()->start();
    }
    // Two phases, as scenarios run them: up to a deadline, then until idle.
    sim.run_until([] { return false; }, Instant{Duration::seconds(2).ns});
    while (sim.step()) {
    }
    return WorkloadResult{sim.trace_hash(), sim.events_run(), sim.trace_count(), sim.now().ns};
}

TEST(SchedulerEquivalence, TimerWorkloadHasTheSameTraceOnBothSchedulers) {
    const WorkloadResult heap = run_workload(7, SchedulerKind::heap);
    const WorkloadResult wheel = run_workload(7, SchedulerKind::wheel);
    EXPECT_EQ(heap, wheel);
    EXPECT_GT(heap.events, 20'000u);
    EXPECT_GT(heap.end_ns, 13 * kDayNs);  // the run crossed the wheel's window
    EXPECT_NE(run_workload(8, SchedulerKind::wheel).hash, wheel.hash);
}

RC_GTEST_PROP(SchedulerEquivalence, AnySeedGivesTheSameTraceOnBothSchedulers, ()) {
    const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
    RC_ASSERT(run_workload(seed, SchedulerKind::heap) == run_workload(seed, SchedulerKind::wheel));
}

}  // namespace
}  // namespace simnet
