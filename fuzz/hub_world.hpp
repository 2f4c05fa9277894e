// HubWorld: a hub (core + AMQP server) on a simulated node, for fuzzing and corpus recording.
//
// One device, "dev1", with a fixed key, so recorded sessions authenticate when replayed.
// Fresh per fuzz input: nothing is shared between inputs. HUB_FUZZ_TRACE=1 prints the trace.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "hub/amqp/amqp_server.hpp"
#include "hub/core/hub.hpp"
#include "simnet/sim_node.hpp"

namespace fuzz {

inline constexpr const char* kHubAddress = "hub:5671";
inline constexpr const char* kHubHostName = "hub";
inline constexpr const char* kDeviceId = "dev1";
inline constexpr const char* kDeviceKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

struct HubWorld {
    simnet::Simulator sim{1};
    simnet::SimNetwork net{sim, hub::Random(2)};
    simnet::SimNode node{sim, net, "hub"};
    std::unique_ptr<hub::Hub> hub;
    std::unique_ptr<hub::amqp::AmqpServer> server;

    HubWorld() {
        if (std::getenv("HUB_FUZZ_TRACE") != nullptr) {  // print what the hub did with an input
            sim.add_trace_sink([](const simnet::TraceEvent& e) {
                std::printf("%s\n", simnet::to_text(e).c_str());
            });
        }
        hub::HubConfig config;
        config.host_name = kHubHostName;
        config.devices.push_back({kDeviceId, kDeviceKey});
        hub::Result<std::unique_ptr<hub::Hub>> opened = hub::Hub::open(node, config);
        HUB_ASSERT(opened.ok());
        hub = std::move(*opened);
        server = std::make_unique<hub::amqp::AmqpServer>(node, *hub);
    }
    ~HubWorld() {
        server.reset();
        hub.reset();
    }
    void run_for(hub::Duration d) { sim.run_until([] { return false; }, sim.now() + d); }
};

}  // namespace fuzz
