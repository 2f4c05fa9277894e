// SimWorld: what every hubsim scenario builds before its own actors: the simulator with the
// configured scheduler and trace sinks, the simulated network, one hub node (an AMQP server on a
// hub core, its devices' keys drawn from the seed, its disk with the configured latency) and the
// nemesis that resets, partitions, clogs and crashes by a plan drawn from the seed.
//
// A scenario (d2c_scenario.cpp, c2d_scenario.cpp) derives from it, adds its clients and its
// checker, and calls, in order: boot_hub(), schedule_faults(hosts), run, recover_hub(), finish().
// Members are torn down in reverse order: a derived scenario's nodes go before the hub node, the
// network and the simulator.
//
// Deterministic: every random draw comes from the Simulator's seeded streams, in a fixed order (the
// D2C scenario's trace hashes depend on it: keep the draws where they are).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "conformance/amqp_device_client.hpp"
#include "hub/amqp/amqp_server.hpp"
#include "hub/core/hub.hpp"
#include "scenarios/scenario.hpp"
#include "simnet/nemesis.hpp"
#include "simnet/sim_network.hpp"
#include "simnet/sim_node.hpp"
#include "simnet/simulator.hpp"

namespace scenarios {

inline constexpr const char* kHubAddress = "hub:5671";

struct HubProcess : simnet::Process {
    HubProcess(simnet::SimNode& node, const hub::HubConfig& config);
    ~HubProcess() override;
    hub::Status boot_status;
    std::unique_ptr<hub::Hub> hub;
    std::unique_ptr<hub::amqp::AmqpServer> server;
};

// A simulated device: the real AMQP device client on its own node.
struct DeviceProcess : simnet::Process {
    DeviceProcess(simnet::SimNode& node, conformance::DeviceClientConfig config)
        : client(node, std::move(config)) {}
    conformance::AmqpDeviceClient client;
};

class SimWorld {
  public:
    // Sets up the simulator, the network, the hub config (host "hub", one key per device drawn from
    // the "keys" stream) and the hub node, not yet booted.
    explicit SimWorld(const ScenarioConfig& config);
    SimWorld(const SimWorld&) = delete;
    SimWorld& operator=(const SimWorld&) = delete;

  protected:
    // Boots the hub node with hub_config_ (restarts reuse it).
    void boot_hub();
    // The configured fault plan, or one drawn from the "nemesis" stream over the send window:
    // crashes hit the hub; partitions and clogs hit the links of `hosts`.
    void schedule_faults(const std::vector<std::string>& hosts);
    // The hub's process; nullptr while it is down.
    HubProcess* hub_process();
    // The checker's final crash (dropping unsynced bytes) and restart. Returns the recovered hub,
    // or nullptr with *verdict saying why it did not recover.
    HubProcess* recover_hub(std::string* verdict);
    // Fills what every result reports (faults, events, end time) and seals the trace with the
    // verdict: call last.
    void finish(ScenarioResult* result);
    // A device client's config for one of hub_config_.devices.
    conformance::DeviceClientConfig device_client_config(const hub::DeviceSpec& spec) const;

    ScenarioConfig config_;
    simnet::Simulator sim_;
    simnet::SimNetwork net_;
    hub::HubConfig hub_config_;
    std::unique_ptr<simnet::SimNode> hub_node_;
    std::unique_ptr<simnet::Nemesis> nemesis_;
};

}  // namespace scenarios
