// Registration: authentication, the assigning -> assigned/failed/disabled status model, each
// allocation policy end to end, identities created in the hubs' registries, reprovisioning.
#include "hub/core/provisioning/provisioning_service.hpp"

#include <gtest/gtest.h>

#include "hub/core/provisioning/provisioning_test_world.hpp"

namespace hub::provisioning {
namespace {

using testing::TestWorld;

class Registration : public ::testing::Test {
  protected:
    Registration() {
        world.add_hub("hub-a.azure-devices.net", "westeurope");
        world.add_hub("hub-b.azure-devices.net", "eastus");
    }
    IndividualEnrollment enroll(const std::string& id, std::vector<std::string> hubs = {},
                                std::optional<AllocationPolicy> policy = std::nullopt) {
        IndividualEnrollment e;
        e.registration_id = id;
        e.iot_hubs = std::move(hubs);
        e.allocation_policy = policy;
        Result<IndividualEnrollment> created = world.dps->create_enrollment(e);
        EXPECT_TRUE(created.ok()) << created.status().to_string();
        return created.ok() ? *created : e;
    }
    TestWorld world;
};

TEST_F(Registration, AssigningThenAssignedWithTheDpsShape) {
    const IndividualEnrollment e =
        enroll("sensor-1", {"hub-b.azure-devices.net"}, AllocationPolicy::static_hub);
    Result<RegistrationOperation> op =
        world.dps->register_device("sensor-1", world.token("sensor-1", e.attestation.primary_key),
                                   R"({"model":"x1"})", world.now_ms());
    ASSERT_TRUE(op.ok()) << op.status().to_string();
    EXPECT_EQ(op->status, RegistrationStatus::assigning);
    EXPECT_EQ(op->operation_id.size(), 36u);
    EXPECT_EQ(op->to_json(),
              (nlohmann::json{{"operationId", op->operation_id}, {"status", "assigning"}}));
    EXPECT_EQ(world.dps->pending_operations(), 1u);
    EXPECT_EQ(world.dps->get_operation_status(op->operation_id)->status,
              RegistrationStatus::assigning);

    world.run();
    Result<RegistrationOperation> done = world.dps->get_operation_status(op->operation_id);
    ASSERT_TRUE(done.ok());
    EXPECT_EQ(world.dps->pending_operations(), 0u);
    const nlohmann::json j = done->to_json();
    EXPECT_EQ(j["status"], "assigned");
    const nlohmann::json& state = j["registrationState"];
    EXPECT_EQ(state["registrationId"], "sensor-1");
    EXPECT_EQ(state["assignedHub"], "hub-b.azure-devices.net");
    EXPECT_EQ(state["deviceId"], "sensor-1");
    EXPECT_EQ(state["status"], "assigned");
    EXPECT_EQ(state["substatus"], "initialAssignment");
    EXPECT_EQ(state["createdDateTimeUtc"], "2026-01-01T00:00:00.000Z");
    EXPECT_EQ(state["lastUpdatedDateTimeUtc"], "2026-01-01T00:00:00.000Z");
    EXPECT_EQ(state["etag"], world.dps->lifecycle("sensor-1")->etag());
    EXPECT_EQ(state["payload"]["model"], "x1");
    EXPECT_FALSE(state.contains("errorCode"));

    // The identity exists in that hub with the enrollment's keys: the device can connect.
    const Device* device = world.registry("hub-b.azure-devices.net").find("sensor-1");
    ASSERT_NE(device, nullptr);
    EXPECT_TRUE(device->enabled());
    EXPECT_EQ(device->primary_key, e.attestation.primary_key);
    EXPECT_EQ(device->secondary_key, e.attestation.secondary_key);
    EXPECT_EQ(world.registry("hub-a.azure-devices.net").find("sensor-1"), nullptr);
    const std::string device_token =
        auth::make_sas_token(auth::url_encode_strict("hub-b.azure-devices.net/devices/sensor-1"),
                             e.attestation.primary_key, world.now_ms() / 1000 + 60);
    Result<auth::SasToken> parsed = auth::parse_sas_token(device_token);
    ASSERT_TRUE(parsed.ok());
    EXPECT_TRUE(auth::verify_sas_token(*parsed, device->primary_key, world.now_ms() / 1000).ok());
    EXPECT_EQ(world.dps->lifecycle("sensor-1")->state, LifecycleState::bootstrapped);
}

TEST_F(Registration, EnrollmentDeviceIdAndSecondaryKeyWork) {
    IndividualEnrollment e;
    e.registration_id = "reg-7";
    e.device_id = "thermostat-7";
    e = *world.dps->create_enrollment(e);
    const RegistrationOperation done =
        world.register_and_wait("reg-7", e.attestation.secondary_key);
    ASSERT_EQ(done.status, RegistrationStatus::assigned);
    EXPECT_EQ(done.device_id, "thermostat-7");
    EXPECT_NE(world.registry(done.assigned_hub).find("thermostat-7"), nullptr);
}

TEST_F(Registration, AssignmentWaitsForTheConfiguredDelay) {
    ProvisioningConfig config;
    config.assignment_delay = Duration::millis(2500);
    TestWorld slow(3, config);
    slow.add_hub("hub-a", "westeurope");
    IndividualEnrollment e;
    e.registration_id = "d1";
    e = *slow.dps->create_enrollment(e);
    Result<RegistrationOperation> op = slow.dps->register_device(
        "d1", slow.token("d1", e.attestation.primary_key), "", slow.now_ms());
    ASSERT_TRUE(op.ok());
    slow.run();  // one second
    EXPECT_EQ(slow.dps->get_operation_status(op->operation_id)->status,
              RegistrationStatus::assigning);
    slow.run();
    slow.run();
    EXPECT_EQ(slow.dps->get_operation_status(op->operation_id)->status,
              RegistrationStatus::assigned);
}

TEST_F(Registration, HashedGroupDistributionFollowsWeights) {
    TestWorld w(5);
    w.add_hub("hub-1", "westeurope", 1);
    w.add_hub("hub-3", "westeurope", 3);
    EnrollmentGroup g;
    g.group_id = "fleet";
    g = *w.dps->create_group(g);
    std::map<std::string, int> counts;
    for (int i = 0; i < 1000; ++i) {
        const std::string id = "fleet-" + std::to_string(i);
        const std::string key = *derive_device_key(g.attestation.primary_key, id);
        const RegistrationOperation done = w.register_and_wait(id, key);
        ASSERT_EQ(done.status, RegistrationStatus::assigned) << id << " " << done.error_message;
        ++counts[done.assigned_hub];
        const Device* device = w.registry(done.assigned_hub).find(id);
        ASSERT_NE(device, nullptr);
        ASSERT_EQ(device->primary_key, key);  // the derived key: the device can connect
        ASSERT_EQ(done.assigned_hub,
                  *allocate(w.dps->linked_hubs(), {id, AllocationPolicy::hashed, {}, ""}, {}));
    }
    // Weights 1:3 -> 250/750; about 5 standard deviations (13.7) either way.
    EXPECT_NEAR(counts["hub-1"], 250, 70);
    EXPECT_NEAR(counts["hub-3"], 750, 70);
    EXPECT_EQ(w.registry("hub-1").size() + w.registry("hub-3").size(), 1000u);
}

TEST_F(Registration, GeoLatencyUsesTheRegionHintInThePayload) {
    ProvisioningConfig config;
    config.default_allocation_policy = AllocationPolicy::geo_latency;
    ASSERT_TRUE(config.region_distances.set("northeurope", "westeurope", 750).ok());
    ASSERT_TRUE(config.region_distances.set("northeurope", "eastus", 5000).ok());
    ASSERT_TRUE(config.region_distances.set("westus", "eastus", 3900).ok());
    ASSERT_TRUE(config.region_distances.set("westus", "westeurope", 8900).ok());
    TestWorld w(9, config);
    w.add_hub("hub-eu", "westeurope");
    w.add_hub("hub-us", "eastus");
    EXPECT_EQ(w.enroll_and_register("dublin-1", R"({"region":"northeurope"})").assigned_hub,
              "hub-eu");
    EXPECT_EQ(w.enroll_and_register("seattle-1", R"({"region":"westus"})").assigned_hub, "hub-us");
    EXPECT_EQ(w.enroll_and_register("nyc-1", R"({"region":"eastus"})").assigned_hub, "hub-us");
}

TEST_F(Registration, BadTokensAreUnauthorized) {
    const IndividualEnrollment e = enroll("d1");
    const IndividualEnrollment other = enroll("d2");
    const int64_t now = world.now_ms();
    auto code = [&](const std::string& token) {
        return world.dps->register_device("d1", token, "", now).status().code();
    };
    EXPECT_EQ(code(world.token("d1", other.attestation.primary_key)),
              Code::unauthorized);  // wrong key
    EXPECT_EQ(code(world.token("d1", e.attestation.primary_key, -1)),
              Code::unauthorized);                                                      // expired
    EXPECT_EQ(code(world.token("d2", e.attestation.primary_key)), Code::unauthorized);  // audience
    EXPECT_EQ(code(auth::make_sas_token("0ne00000000/registrations/d1", e.attestation.primary_key,
                                        now / 1000 + 60, "device")),
              Code::unauthorized);  // key name
    EXPECT_EQ(code("SharedAccessSignature garbage"), Code::unauthorized);
    EXPECT_EQ(world.dps->pending_operations(), 0u);
    // The same token one second before expiry still works.
    EXPECT_TRUE(
        world.dps->register_device("d1", world.token("d1", e.attestation.primary_key, 1), "", now)
            .ok());
}

TEST_F(Registration, UnknownRegistrationIsNotFoundUnlessAGroupCouldAdmitIt) {
    const std::string key = generate_device_key(world.dps_node.random());
    EXPECT_EQ(world.dps->register_device("nobody", world.token("nobody", key), "", world.now_ms())
                  .status()
                  .code(),
              Code::not_found);
    EnrollmentGroup g;
    g.group_id = "g";
    ASSERT_TRUE(world.dps->create_group(g).ok());
    EXPECT_EQ(world.dps->register_device("nobody", world.token("nobody", key), "", world.now_ms())
                  .status()
                  .code(),
              Code::unauthorized);
    EXPECT_EQ(world.dps->get_operation_status("no-such-operation").status().code(),
              Code::not_found);
    EXPECT_EQ(world.dps->register_device("bad id", "x", "", world.now_ms()).status().code(),
              Code::invalid_argument);
    const IndividualEnrollment e = enroll("d1");
    EXPECT_EQ(world.dps
                  ->register_device("d1", world.token("d1", e.attestation.primary_key), "{oops",
                                    world.now_ms())
                  .status()
                  .code(),
              Code::invalid_argument);
}

TEST_F(Registration, DisabledEnrollmentOrGroupAnswersDisabled) {
    IndividualEnrollment e = enroll("d1");
    e.provisioning_status = ProvisioningStatus::disabled;
    ASSERT_TRUE(world.dps->update_enrollment(e, "*").ok());
    Result<RegistrationOperation> op = world.dps->register_device(
        "d1", world.token("d1", e.attestation.primary_key), "", world.now_ms());
    ASSERT_TRUE(op.ok()) << op.status().to_string();
    EXPECT_EQ(op->status, RegistrationStatus::disabled);  // at once: nothing to assign
    EXPECT_EQ(op->to_json()["registrationState"]["status"], "disabled");
    EXPECT_EQ(world.dps->pending_operations(), 0u);
    EXPECT_EQ(world.dps->lifecycle("d1")->state, LifecycleState::provisioned);

    EnrollmentGroup g;
    g.group_id = "g";
    g.provisioning_status = ProvisioningStatus::disabled;
    g = *world.dps->create_group(g);
    const RegistrationOperation member = world.register_and_wait(
        "member-1", *derive_device_key(g.attestation.primary_key, "member-1"));
    EXPECT_EQ(member.status, RegistrationStatus::disabled);
    EXPECT_EQ(world.dps->lifecycle("member-1"), nullptr);
    EXPECT_EQ(world.registry("hub-a.azure-devices.net").find("member-1"), nullptr);
    EXPECT_EQ(world.registry("hub-b.azure-devices.net").find("member-1"), nullptr);
}

TEST_F(Registration, UnreachableHubOrNoHubFails) {
    enroll("d1", {"hub-a.azure-devices.net"}, AllocationPolicy::static_hub);
    world.set_down("hub-a.azure-devices.net", true);
    RegistrationOperation failed =
        world.register_and_wait("d1", world.dps->find_enrollment("d1")->attestation.primary_key);
    EXPECT_EQ(failed.status, RegistrationStatus::failed);
    EXPECT_EQ(failed.error_code, kErrorHubUnavailable);
    const nlohmann::json j = failed.to_json();
    EXPECT_EQ(j["registrationState"]["errorCode"], kErrorHubUnavailable);
    EXPECT_NE(j["registrationState"]["errorMessage"].get<std::string>().find("not reachable"),
              std::string::npos);
    EXPECT_EQ(world.dps->lifecycle("d1")->state, LifecycleState::provisioned);  // nothing moved

    enroll("d2", {"hub-gone"}, AllocationPolicy::static_hub);
    failed =
        world.register_and_wait("d2", world.dps->find_enrollment("d2")->attestation.primary_key);
    EXPECT_EQ(failed.status, RegistrationStatus::failed);
    EXPECT_EQ(failed.error_code, kErrorNoHubAllocated);

    world.set_down("hub-a.azure-devices.net", false);  // the device simply registers again
    EXPECT_EQ(
        world.register_and_wait("d1", world.dps->find_enrollment("d1")->attestation.primary_key)
            .status,
        RegistrationStatus::assigned);
}

TEST_F(Registration, ReRegistrationKeepsTheHubOrReprovisionsPerPolicy) {
    IndividualEnrollment e = enroll("d1");
    const std::string key = e.attestation.primary_key;
    const RegistrationOperation first = world.register_and_wait("d1", key);
    ASSERT_EQ(first.status, RegistrationStatus::assigned);
    const RegistrationOperation again = world.register_and_wait("d1", key);
    EXPECT_EQ(again.assigned_hub, first.assigned_hub);
    EXPECT_EQ(again.substatus, Substatus::initial_assignment);
    EXPECT_EQ(world.dps->history("d1")->size(), 3u);  // enroll, assign, assign again
    const std::string home = first.assigned_hub;
    const std::string away =
        home == "hub-a.azure-devices.net" ? "hub-b.azure-devices.net" : "hub-a.azure-devices.net";
    // Keep the hub even when the allocation would now say otherwise.
    e.reprovision_policy.update_hub_assignment = false;
    e = *world.dps->update_enrollment(e, "*");
    ASSERT_TRUE(world.dps->link_hub({home, "westeurope", 0}).ok());  // hashed skips it now
    EXPECT_EQ(world.register_and_wait("d1", key).assigned_hub, home);
    // Reprovision with migration, then without, then back home.
    e.reprovision_policy = {true, true};
    e = *world.dps->update_enrollment(e, "*");
    RegistrationOperation moved = world.register_and_wait("d1", key);
    EXPECT_EQ(moved.assigned_hub, away);
    EXPECT_EQ(moved.substatus, Substatus::device_data_migrated);
    EXPECT_NE(world.registry(away).find("d1"), nullptr);
    ASSERT_TRUE(world.dps->link_hub({home, "westeurope", 1}).ok());
    ASSERT_TRUE(world.dps->link_hub({away, "eastus", 0}).ok());
    moved = world.register_and_wait("d1", key);
    EXPECT_EQ(moved.assigned_hub, home);
    EXPECT_EQ(moved.substatus, Substatus::reprovisioned_to_initial_assignment);
    e.reprovision_policy = {true, false};
    e = *world.dps->update_enrollment(e, "*");
    ASSERT_TRUE(world.dps->link_hub({home, "westeurope", 0}).ok());
    ASSERT_TRUE(world.dps->link_hub({away, "eastus", 1}).ok());
    EXPECT_EQ(world.register_and_wait("d1", key).substatus, Substatus::device_data_reset);
    EXPECT_EQ(world.dps->lifecycle("d1")->initial_hub, home);
}

TEST_F(Registration, KeysRotatedInTheEnrollmentReachTheHubOnReRegistration) {
    IndividualEnrollment e = enroll("d1");
    const RegistrationOperation first = world.register_and_wait("d1", e.attestation.primary_key);
    e.attestation = {generate_device_key(world.dps_node.random()), ""};
    e = *world.dps->update_enrollment(e, "*");
    EXPECT_EQ(world.register_and_wait("d1", e.attestation.primary_key).status,
              RegistrationStatus::assigned);
    EXPECT_EQ(world.registry(first.assigned_hub).find("d1")->primary_key,
              e.attestation.primary_key);
}

TEST_F(Registration, SameSeedSameOperationIds) {
    auto run_once = [] {
        TestWorld w(11);
        w.add_hub("h", "r");
        return w.enroll_and_register("d1").operation_id + w.enroll_and_register("d2").operation_id;
    };
    EXPECT_EQ(run_once(), run_once());
}

}  // namespace
}  // namespace hub::provisioning
