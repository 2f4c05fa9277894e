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
    timers_[ticket] = sim_.schedule(at, [this, ticket, fn = std::move(fn)] {
        timers_.erase(ticket);
        fn();
    });
    return ticket;
}

void SimNode::cancel(TimerId ticket) {
    auto it = timers_.find(ticket);
    if (it != timers_.end()) {
        sim_.cancel(it->second);
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
    for (const auto& [ticket, id] : timers_) {
        sim_.cancel(id);  // anything the process forgot
    }
    timers_.clear();
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
