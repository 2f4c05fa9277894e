// HubWorld: a hub (core + AMQP server) on a simulated node, for fuzzing and corpus recording.
//
// One device, "dev1", with a fixed key, so recorded sessions authenticate when replayed. A
// Device Provisioning Service next to the hub (id scope kIdScope) with an individual enrollment
// "dps1" and an enrollment group "fleet", both with the same fixed key, so DPS sessions get
// past their logins too. Fresh per fuzz input: nothing is shared between inputs.
// HUB_FUZZ_TRACE=1 prints the trace.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "hub/amqp/amqp_server.hpp"
#include "hub/core/hub.hpp"
#include "hub/core/provisioning/provisioning_service.hpp"
#include "simnet/sim_node.hpp"

namespace fuzz {

inline constexpr const char* kHubAddress = "hub:5671";
inline constexpr const char* kHubHostName = "hub";
inline constexpr const char* kDeviceId = "dev1";
inline constexpr const char* kDeviceKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
inline constexpr const char* kIdScope = "0ne00000001";
inline constexpr const char* kEnrollmentId = "dps1";
inline constexpr const char* kGroupId = "fleet";

struct HubWorld : hub::provisioning::HubDirectory {
    simnet::Simulator sim{1};
    simnet::SimNetwork net{sim, hub::Random(2)};
    simnet::SimNode node{sim, net, "hub"};
    std::unique_ptr<hub::Hub> hub;
    std::unique_ptr<hub::provisioning::ProvisioningService> dps;
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
        open_provisioning();
        server = std::make_unique<hub::amqp::AmqpServer>(node, *hub);
        server->serve_provisioning(*dps);
    }
    ~HubWorld() override {
        server.reset();
        dps.reset();
        hub.reset();
    }
    hub::Registry* registry_for(std::string_view name) override {
        return name == kHubHostName ? &hub->registry() : nullptr;
    }
    void run_for(hub::Duration d) { sim.run_until([] { return false; }, sim.now() + d); }

  private:
    void open_provisioning() {
        hub::provisioning::ProvisioningConfig config;
        config.id_scope = kIdScope;
        auto opened = hub::provisioning::ProvisioningService::open(node, *this, config);
        HUB_ASSERT(opened.ok());
        dps = std::move(*opened);
        HUB_ASSERT(dps->link_hub({kHubHostName, "local", 1}).ok());
        hub::provisioning::IndividualEnrollment e;
        e.registration_id = kEnrollmentId;
        e.attestation = {kDeviceKey, kDeviceKey};
        HUB_ASSERT(dps->create_enrollment(e).ok());
        hub::provisioning::EnrollmentGroup g;
        g.group_id = kGroupId;
        g.attestation = {kDeviceKey, kDeviceKey};
        HUB_ASSERT(dps->create_group(g).ok());
    }
};

}  // namespace fuzz
