#include "simnet/simulator.hpp"

namespace simnet {


Simulator::Simulator(uint64_t seed) : seed_(seed), root_(seed), trace_(seed) {}

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

}  // namespace simnet
