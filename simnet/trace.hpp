// Trace: the structured record of a simulated run, folded into a hash chain.
//
// Each event is (index, virtual time, node, kind, detail); detail holds the fields as
// "key=value" text. Every event updates a 64-bit hash chain, so two runs of one seed must end
// with the same hash, and the per-event hash pinpoints the first divergence between two runs
// (see first_divergence()). Sinks see every event as it happens: a printer, a JSONL writer, a
// recorder for divergence checks.
//
// Deterministic and single-threaded. Example:
//   Trace trace(seed);
//   trace.add_sink([](const TraceEvent& e) { puts(to_jsonl(e).c_str()); });
//   trace.record(now, "hub", "d2c.commit", "events=3");
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace simnet {

struct TraceEvent {
    uint64_t index = 0;
    int64_t time_ns = 0;
    std::string node;
    std::string kind;
    std::string detail;
    uint64_t hash = 0;  // the chain's value after this event

    bool operator==(const TraceEvent&) const = default;
};

using TraceSink = std::function<void(const TraceEvent&)>;

class Trace {
  public:
    explicit Trace(uint64_t seed);

    void record(int64_t time_ns, std::string_view node, std::string_view kind,
                std::string_view detail);
    void add_sink(TraceSink sink) { sinks_.push_back(std::move(sink)); }
    uint64_t hash() const { return hash_; }
    uint64_t count() const { return count_; }

  private:
    uint64_t hash_;
    uint64_t count_ = 0;
    std::vector<TraceSink> sinks_;
};

// One JSON object per line: {"i":..,"t_ns":..,"node":"..","kind":"..","detail":"..","hash":".."}
std::string to_jsonl(const TraceEvent& event);
// The human form: "<time_ns> <node> <kind> <detail>".
std::string to_text(const TraceEvent& event);

// Keeps the events of a run (up to a bound) to compare with another run.
class TraceRecorder {
  public:
    // Events kept at most: bounds memory on long runs (about 100 bytes per event).
    static constexpr size_t kEventsMax = 2'000'000;
    TraceSink sink();
    const std::vector<TraceEvent>& events() const { return events_; }
    bool truncated() const { return truncated_; }

  private:
    std::vector<TraceEvent> events_;
    bool truncated_ = false;
};

// The index of the first event where two runs differ (in content or in length), or nullopt
// when they are identical as far as both were recorded.
std::optional<size_t> first_divergence(const std::vector<TraceEvent>& a,
                                       const std::vector<TraceEvent>& b);

}  // namespace simnet
