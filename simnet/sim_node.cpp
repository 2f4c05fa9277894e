#include "simnet/sim_node.hpp"

namespace simnet {

SimNode::SimNode(Simulator& sim, SimNetwork& net, std::string name)
    : sim_(sim),
      name_(std::move(name)),
      random_(sim.random_for("node/" + name_)),
      disk_(&sim, sim.random_for("disk/" + name_)),
      network_(net.network_for(name_, &epoch_)) {}

SimNode::~SimNode() { stop_process(); }

TimerId SimNode::schedule(Instant at, std::function<void()> fn) {
    const TimerId ticket = next_ticket_++;
    const TimerId event = sim_.schedule(at, SmallCallback{&SimNode::fire, this, ticket});
    timers_.emplace(ticket, Timer{event, std::move(fn)});
    return ticket;
}

void SimNode::fire(void* self, uint64_t ticket) {
    auto& timers = static_cast<SimNode*>(self)->timers_;
    auto it = timers.find(ticket);
    HUB_ASSERT(it != timers.end());  // cancel() cancels the event too
    std::function<void()> fn = std::move(it->second.fn);
    timers.erase(it);
    fn();
}

void SimNode::cancel(TimerId ticket) {
    auto it = timers_.find(ticket);
    if (it != timers_.end()) {
        sim_.cancel(it->second.event);
        timers_.erase(it);
    }
}

void SimNode::boot(Boot boot) {
    HUB_ASSERT(process_ == nullptr);
    boot_ = std::move(boot);
    sim_.trace(name_, "node.boot", "epoch=" + std::to_string(epoch_));
    process_ = boot_(*this);
}

void SimNode::stop_process() {
    process_.reset();  // streams reset, timers cancelled by their owners
    // Moved out first: destroying a callback may run code that cancels other timers.
    std::map<TimerId, Timer> forgotten = std::move(timers_);
    timers_.clear();
    for (const auto& [ticket, timer] : forgotten) {
        sim_.cancel(timer.event);  // anything the process forgot
    }
}

void SimNode::crash() {
    HUB_ASSERT(process_ != nullptr);
    sim_.trace(name_, "node.crash", "unsynced_bytes=" + std::to_string(disk_.unsynced_bytes()));
    ++epoch_;
    stop_process();
    disk_.crash(random_);
}

void SimNode::restart() {
    HUB_ASSERT(process_ == nullptr);
    Boot again = boot_;
    boot(std::move(again));
}

}  // namespace simnet
