#include "simnet/simulator.hpp"

namespace simnet {

namespace {

uint64_t fnv1a(uint64_t h, std::string_view s) {
    for (char c : s) {
        h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ULL;
    }
    return (h ^ 0xff) * 0x100000001b3ULL;  // field separator
}

}  // namespace

Simulator::Simulator(uint64_t seed) : seed_(seed), root_(seed), trace_hash_(hub::mix64(seed)) {}

TimerId Simulator::schedule(Instant at, std::function<void()> fn) {
    HUB_ASSERT(at >= now_);
    const TimerId id = ++next_sequence_;
    queue_.push(Entry{at.ns, id, id});
    live_.emplace(id, std::move(fn));
    return id;
}

void Simulator::cancel(TimerId id) { live_.erase(id); }

bool Simulator::step() {
    while (!queue_.empty()) {
        const Entry entry = queue_.top();
        queue_.pop();
        auto it = live_.find(entry.id);
        if (it == live_.end()) {
            continue;  // cancelled
        }
        HUB_ASSERT(entry.time_ns >= now_.ns);
        now_ = Instant{entry.time_ns};
        std::function<void()> fn = std::move(it->second);
        live_.erase(it);
        ++events_run_;
        fn();
        return true;
    }
    return false;
}

bool Simulator::run_until(const std::function<bool()>& done, Instant deadline) {
    while (!done()) {
        while (!queue_.empty() && !live_.contains(queue_.top().id)) {
            queue_.pop();
        }
        if (queue_.empty() || queue_.top().time_ns > deadline.ns) {
            if (now_ < deadline) {
                now_ = deadline;
            }
            return done();
        }
        step();
    }
    return true;
}

void Simulator::trace(std::string_view node, std::string_view kind, std::string_view detail) {
    uint64_t h = fnv1a(0xcbf29ce484222325ULL ^ static_cast<uint64_t>(now_.ns), node);
    h = fnv1a(h, kind);
    h = fnv1a(h, detail);
    trace_hash_ = hub::mix64(trace_hash_ ^ h);
    ++trace_count_;
    if (printer_) {
        printer_(std::to_string(now_.ns) + " " + std::string(node) + " " + std::string(kind) +
                 " " + std::string(detail));
    }
}

}  // namespace simnet
