// A small simulated world for provisioning tests: one SimNode running the provisioning
// service and one SimNode per linked hub, each with its own Registry, found through a
// HubDirectory. Everything hangs off one seeded Simulator, so tests are reproducible.
//
// Example:
//   TestWorld w;
//   w.add_hub("hub-a", "westeurope");
//   IndividualEnrollment e; e.registration_id = "d1";
//   Result<IndividualEnrollment> created = w.dps->create_enrollment(e);
//   Result<RegistrationOperation> op = w.dps->register_device("d1", w.token("d1",
//       created->attestation.primary_key), "", w.now_ms());
//   w.run();
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "hub/auth/sas.hpp"
#include "hub/core/provisioning/provisioning_service.hpp"
#include "simnet/sim_node.hpp"

namespace hub::provisioning::testing {

class TestWorld : public HubDirectory {
  public:
    explicit TestWorld(uint64_t seed = 1, ProvisioningConfig config = {})
        : sim(seed),
          net(sim, Random(seed + 1)),
          dps_node(sim, net, "dps"),
          config_(std::move(config)) {
        reopen();
    }

    Registry* registry_for(std::string_view hub_name) override {
        auto it = registries_.find(std::string(hub_name));
        if (it == registries_.end() || down_.contains(it->first)) return nullptr;
        return it->second.get();
    }

    // Starts a hub node with an empty registry and (unless `link` is false) links it.
    void add_hub(const std::string& name, const std::string& region, uint32_t weight = 1,
                 bool link = true) {
        nodes_[name] = std::make_unique<simnet::SimNode>(sim, net, name);
        open_registry(name);
        if (!link) return;
        Result<LinkedHub> linked = dps->link_hub({name, region, weight});
        ASSERT_TRUE(linked.ok()) << linked.status().to_string();
    }
    Registry& registry(const std::string& name) { return *registries_.at(name); }
    void set_down(const std::string& name, bool down) {
        if (down) {
            down_.insert(name);
        } else {
            down_.erase(name);
        }
    }

    // Destroys the service and opens it again from its disk (optionally after a power loss).
    void reopen(bool crash = false) {
        dps.reset();
        if (crash) {
            Random random = sim.random_for("crash/" + std::to_string(crashes_++));
            dps_node.sim_disk().crash(random);
        }
        Result<std::unique_ptr<ProvisioningService>> opened =
            ProvisioningService::open(dps_node, *this, config_);
        EXPECT_TRUE(opened.ok()) << opened.status().to_string();
        dps = opened.ok() ? std::move(*opened) : nullptr;
    }
    // A hub's power loss: its registry is opened again from what its disk kept.
    void crash_hub(const std::string& name) {
        registries_.erase(name);
        Random random = sim.random_for("crash/" + name + std::to_string(crashes_++));
        nodes_.at(name)->sim_disk().crash(random);
        open_registry(name);
    }

    // Runs every timer due within the next second of virtual time.
    void run() {
        sim.run_until([] { return false; }, sim.now() + Duration::seconds(1));
    }
    int64_t now_ms() const { return dps_node.utc_now_ms(); }
    std::string token(const std::string& registration_id, const std::string& key,
                      int64_t valid_s = 3600) const {
        return auth::make_sas_token(config_.id_scope + "/registrations/" + registration_id, key,
                                    now_ms() / 1000 + valid_s, "registration");
    }

    // Enrolls, registers and lets the assignment finish. Returns the finished operation.
    RegistrationOperation enroll_and_register(const std::string& registration_id,
                                              const std::string& payload = "") {
        IndividualEnrollment e;
        e.registration_id = registration_id;
        Result<IndividualEnrollment> created = dps->create_enrollment(e);
        EXPECT_TRUE(created.ok()) << created.status().to_string();
        return register_and_wait(registration_id, created->attestation.primary_key, payload);
    }
    RegistrationOperation register_and_wait(const std::string& registration_id,
                                            const std::string& key,
                                            const std::string& payload = "") {
        Result<RegistrationOperation> op =
            dps->register_device(registration_id, token(registration_id, key), payload, now_ms());
        EXPECT_TRUE(op.ok()) << op.status().to_string();
        if (!op.ok()) return {};
        run();
        Result<RegistrationOperation> done = dps->get_operation_status(op->operation_id);
        EXPECT_TRUE(done.ok()) << done.status().to_string();
        return done.ok() ? *done : RegistrationOperation{};
    }

    // "" when the identity in the device's hub agrees with its lifecycle state, else what is
    // wrong. (Old identities left in other hubs by reprovisioning are not checked.)
    std::string identity_mismatch(const DeviceLifecycle& d) {
        if (d.assigned_hub.empty()) return "";
        Registry* registry = registry_for(d.assigned_hub);
        if (registry == nullptr) return "";
        const Device* identity = registry->find(d.device_id);
        const std::string who = d.registration_id + " (" + lifecycle_state_name(d.state) + "): ";
        switch (d.state) {
            case LifecycleState::provisioned:
                return "";
            case LifecycleState::bootstrapped:
            case LifecycleState::activated:
                return identity != nullptr && identity->enabled() ? ""
                                                                  : who + "no enabled identity";
            case LifecycleState::deactivated:
                return identity == nullptr || !identity->enabled() ? "" : who + "identity enabled";
            case LifecycleState::deprovisioned:
                return identity == nullptr ? "" : who + "identity still exists";
        }
        return "unreachable";
    }

    simnet::Simulator sim;
    simnet::SimNetwork net;
    simnet::SimNode dps_node;
    std::unique_ptr<ProvisioningService> dps;

  private:
    void open_registry(const std::string& name) {
        Result<std::unique_ptr<Registry>> r = Registry::open(*nodes_.at(name));
        ASSERT_TRUE(r.ok()) << r.status().to_string();
        registries_[name] = std::move(*r);
    }

    ProvisioningConfig config_;
    std::map<std::string, std::unique_ptr<simnet::SimNode>> nodes_;
    std::map<std::string, std::unique_ptr<Registry>> registries_;
    std::set<std::string> down_;
    uint64_t crashes_ = 0;
};

}  // namespace hub::provisioning::testing
