// SimNode: one simulated machine: a process, its timers, its disk and its view of the network.
//
// A SimNode is the hub::Env its process sees. boot() starts the process from a Boot function;
// crash() destroys the process (its streams reset, its timers cancelled, late connect results
// dropped) and drops the disk's unsynced bytes; restart() boots it again from what the disk
// kept. The Simulator and SimNetwork must outlive the node.
//
// Example:
//   SimNode hub(sim, net, "hub");
//   hub.boot([](SimNode& node) { return std::make_unique<HubProcess>(node); });
//   hub.crash(); hub.restart();
#pragma once

#include <functional>
#include <memory>
#include <map>
#include <string>

#include "hub/env/env.hpp"
#include "simnet/sim_disk.hpp"
#include "simnet/sim_network.hpp"
#include "simnet/simulator.hpp"

namespace simnet {

// What runs on a node. Its destructor is the crash: it must release everything it holds.
class Process {
  public:
    virtual ~Process() = default;
};

class SimNode : public hub::Env {
  public:
    using Boot = std::function<std::unique_ptr<Process>(SimNode&)>;

    SimNode(Simulator& sim, SimNetwork& net, std::string name);
    ~SimNode() override;
    SimNode(const SimNode&) = delete;
    SimNode& operator=(const SimNode&) = delete;

    const std::string& name() const { return name_; }
    void boot(Boot boot);
    void crash();
    void restart();
    bool running() const { return process_ != nullptr; }
    Process* process() { return process_.get(); }
    SimDisk& sim_disk() { return disk_; }
    uint64_t crashes() const { return epoch_; }

    // hub::Env
    Instant now() const override { return sim_.now(); }
    int64_t utc_now_ms() const override { return sim_.utc_epoch_ms() + sim_.now().to_millis(); }
    TimerId schedule(Instant at, std::function<void()> fn) override;
    void cancel(TimerId id) override;
    hub::Random& random() override { return random_; }
    hub::Disk& disk() override { return disk_; }
    hub::Network& network() override { return *network_; }
    void trace(std::string_view kind, std::string_view detail) override {
        sim_.trace(name_, kind, detail);
    }

  private:
    void stop_process();

    Simulator& sim_;
    std::string name_;
    hub::Random random_;
    SimDisk disk_;
    uint64_t epoch_ = 0;  // bumped by every crash
    std::unique_ptr<hub::Network> network_;
    struct Timer {
        TimerId event = 0;  // the simulator's id
        std::function<void()> fn;
    };
    static void fire(void* self, uint64_t ticket);
    // This node's pending timers, by the ticket handed out. The callback lives here and the
    // simulator holds a SmallCallback: no second wrapping std::function per timer.
    std::map<TimerId, Timer> timers_;
    TimerId next_ticket_ = 1;
    Boot boot_;
    std::unique_ptr<Process> process_;
};

}  // namespace simnet
