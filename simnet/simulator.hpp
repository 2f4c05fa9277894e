// Simulator: one seeded world with virtual time, an event scheduler and a trace hash.
//
// Events run in (time, sequence) order; the sequence number breaks ties in scheduling order,
// so a run depends only on the seed and the code. Nothing here reads the wall clock or starts
// a thread. The trace folds every traced event (time, node, kind, detail) into a 64-bit hash
// chain: two runs of one seed must end with the same hash.
//
// The event queue is a SchedulerKind: the timing wheel (default) or the binary heap (the
// reference). Both give the same run, event for event, so the same trace hash.
//
// Example:
//   Simulator sim(42);
//   sim.schedule(Instant{1000}, [] { ... });
//   sim.run_until([] { return done; }, Instant{Duration::seconds(60).ns});
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hub/env/env.hpp"
#include "simnet/event_queue.hpp"
#include "simnet/trace.hpp"

namespace simnet {

using hub::Duration;
using hub::Instant;
using hub::TimerId;

// The UTC time at virtual instant 0: 2026-01-01T00:00:00Z, so tokens and timestamps look real.
constexpr int64_t kSimEpochUtcMs = 1767225600000;

class Simulator {
  public:
    explicit Simulator(uint64_t seed, SchedulerKind scheduler = SchedulerKind::wheel);
    ~Simulator();
    Simulator(const Simulator&) = delete;
    Simulator& operator=(const Simulator&) = delete;

    uint64_t seed() const { return seed_; }
    SchedulerKind scheduler() const { return scheduler_; }
    Instant now() const { return now_; }
    // REQUIRES: at >= now(). Returns an id, never reused.
    TimerId schedule(Instant at, std::function<void()> fn);
    // The same for a callback that never allocates (a function pointer and two words): 56
    // bytes per pending event on the wheel instead of 64 (more if a std::function allocates).
    TimerId schedule(Instant at, SmallCallback fn);
    // Cancelling an id that already ran or was cancelled is a no-op.
    void cancel(TimerId id);
    // Runs the next event; false when none is left.
    bool step();
    // Runs events until `done()` holds (checked after each event) or time would pass `deadline`.
    // Returns done().
    bool run_until(const std::function<bool()>& done, Instant deadline);
    size_t pending_events() const { return queue_->size(); }
    uint64_t events_run() const { return events_run_; }

    // A random stream for a component, independent of every other label's stream.
    hub::Random random_for(std::string_view label) const { return root_.fork(label); }

    void trace(std::string_view node, std::string_view kind, std::string_view detail) {
        trace_.record(now_.ns, node, kind, detail);
    }
    uint64_t trace_hash() const { return trace_.hash(); }
    uint64_t trace_count() const { return trace_.count(); }
    // Sinks see every traced event (printers, JSONL writers, recorders).
    void add_trace_sink(TraceSink sink) { trace_.add_sink(std::move(sink)); }

    // The UTC time at virtual instant 0 (ms since the Unix epoch); nodes read UTC from it.
    int64_t utc_epoch_ms() const { return utc_epoch_ms_; }
    void set_utc_epoch_ms(int64_t ms) { utc_epoch_ms_ = ms; }

  private:
    void run(Event& event);

    uint64_t seed_;
    SchedulerKind scheduler_;
    hub::Random root_;
    Instant now_{0};
    uint64_t events_run_ = 0;
    std::unique_ptr<EventQueue> queue_;  // pending events and their callbacks
    Trace trace_;
    int64_t utc_epoch_ms_ = kSimEpochUtcMs;
};

}  // namespace simnet
