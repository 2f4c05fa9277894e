// Simulator: one seeded world with virtual time, an event scheduler and a trace hash.
//
// Events run in (time, sequence) order; the sequence number breaks ties in scheduling order,
// so a run depends only on the seed and the code. Nothing here reads the wall clock or starts
// a thread. The trace folds every traced event (time, node, kind, detail) into a 64-bit hash
// chain: two runs of one seed must end with the same hash.
//
// Example:
//   Simulator sim(42);
//   sim.schedule(Instant{1000}, [] { ... });
//   sim.run_until([] { return done; }, Instant{Duration::seconds(60).ns});
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "hub/env/env.hpp"
#include "simnet/trace.hpp"

namespace simnet {

using hub::Duration;
using hub::Instant;
using hub::TimerId;

// The UTC time at virtual instant 0: 2026-01-01T00:00:00Z, so tokens and timestamps look real.
constexpr int64_t kSimEpochUtcMs = 1767225600000;

class Simulator {
  public:
    explicit Simulator(uint64_t seed);
    Simulator(const Simulator&) = delete;
    Simulator& operator=(const Simulator&) = delete;

    uint64_t seed() const { return seed_; }
    Instant now() const { return now_; }
    // REQUIRES: at >= now(). Returns an id, never reused.
    TimerId schedule(Instant at, std::function<void()> fn);
    void cancel(TimerId id);
    // Runs the next event; false when none is left.
    bool step();
    // Runs events until `done()` holds (checked after each event) or time would pass `deadline`.
    // Returns done().
    bool run_until(const std::function<bool()>& done, Instant deadline);
    size_t pending_events() const { return live_.size(); }
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
    struct Entry {
        int64_t time_ns;
        uint64_t sequence;
        TimerId id;
        bool operator>(const Entry& other) const {
            return time_ns != other.time_ns ? time_ns > other.time_ns : sequence > other.sequence;
        }
    };

    uint64_t seed_;
    hub::Random root_;
    Instant now_{0};
    uint64_t next_sequence_ = 0;
    uint64_t events_run_ = 0;
    std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> queue_;
    // Lookup only (never iterated): the callbacks of events not yet run or cancelled.
    std::unordered_map<TimerId, std::function<void()>> live_;
    Trace trace_;
    int64_t utc_epoch_ms_ = kSimEpochUtcMs;
};

}  // namespace simnet
