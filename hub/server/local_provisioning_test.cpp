#include "hub/server/local_provisioning.hpp"

#include <gtest/gtest.h>

#include "hub/auth/sas.hpp"
#include "simnet/sim_node.hpp"

namespace hub::server {
namespace {

class LocalProvisioningTest : public ::testing::Test {
  protected:
    simnet::Simulator sim{3};
    simnet::SimNetwork net{sim, Random(4)};
    simnet::SimNode node{sim, net, "hub"};

    std::unique_ptr<Hub> open_hub(const std::string& name) {
        HubConfig config;
        config.host_name = name;
        Result<std::unique_ptr<Hub>> hub = Hub::open(node, config);
        EXPECT_TRUE(hub.ok());
        return std::move(*hub);
    }
    std::unique_ptr<LocalProvisioning> open_local(Hub& hub,
                                                  const std::string& scope = "0ne00000000") {
        Result<std::unique_ptr<LocalProvisioning>> local =
            LocalProvisioning::open(node, hub, scope);
        EXPECT_TRUE(local.ok()) << local.status().to_string();
        return local.ok() ? std::move(*local) : nullptr;
    }
    void run() {
        sim.run_until([] { return false; }, sim.now() + Duration::millis(50));
    }
};

TEST_F(LocalProvisioningTest, AssignsDevicesToTheLocalHubByItsHostName) {
    std::unique_ptr<Hub> hub = open_hub("myhub");
    std::unique_ptr<LocalProvisioning> local = open_local(*hub);
    ASSERT_NE(local, nullptr);
    EXPECT_EQ(local->endpoint().host_name, "myhub");
    EXPECT_EQ(local->endpoint().id_scope, "0ne00000000");
    EXPECT_EQ(local->endpoint().policy.name, "provisioningserviceowner");
    ASSERT_EQ(local->service().linked_hubs().size(), 1u);
    EXPECT_EQ(local->service().linked_hubs().begin()->first, "myhub");
    provisioning::IndividualEnrollment e;
    e.registration_id = "r1";
    Result<provisioning::IndividualEnrollment> created = local->service().create_enrollment(e);
    ASSERT_TRUE(created.ok());
    const std::string token =
        auth::make_sas_token("0ne00000000/registrations/r1", created->attestation.primary_key,
                             node.utc_now_ms() / 1000 + 60, "registration");
    Result<provisioning::RegistrationOperation> op =
        local->service().register_device("r1", token, "", node.utc_now_ms());
    ASSERT_TRUE(op.ok()) << op.status().to_string();
    run();
    Result<provisioning::RegistrationOperation> done =
        local->service().get_operation_status(op->operation_id);
    ASSERT_TRUE(done.ok());
    EXPECT_EQ(done->status, provisioning::RegistrationStatus::assigned);
    EXPECT_EQ(done->assigned_hub, "myhub");
    ASSERT_NE(hub->registry().find("r1"), nullptr);
    EXPECT_EQ(hub->registry().find("r1")->primary_key, created->attestation.primary_key);
    LocalHubDirectory directory(*hub);
    EXPECT_EQ(directory.registry_for("MYHUB"), &hub->registry());
    EXPECT_EQ(directory.registry_for("elsewhere"), nullptr);
}

// Registers `id` through an individual enrollment and lets the assignment run.
void register_one(LocalProvisioning& local, simnet::SimNode& node, simnet::Simulator& sim,
                  const std::string& id) {
    provisioning::IndividualEnrollment e;
    e.registration_id = id;
    Result<provisioning::IndividualEnrollment> created = local.service().create_enrollment(e);
    ASSERT_TRUE(created.ok());
    const std::string token =
        auth::make_sas_token("0ne00000000/registrations/" + id, created->attestation.primary_key,
                             node.utc_now_ms() / 1000 + 60, "registration");
    ASSERT_TRUE(local.service().register_device(id, token, "", node.utc_now_ms()).ok());
    sim.run_until([] { return false; }, sim.now() + Duration::millis(50));
    ASSERT_EQ(local.service().lifecycle(id)->state, provisioning::LifecycleState::bootstrapped);
}

TEST_F(LocalProvisioningTest, FirstConnectOrMessageActivatesAProvisionedDevice) {
    std::unique_ptr<Hub> hub = open_hub("myhub");
    std::unique_ptr<LocalProvisioning> local = open_local(*hub);
    ASSERT_NE(local, nullptr);
    register_one(*local, node, sim, "amqp-dev");
    register_one(*local, node, sim, "http-dev");
    // A disconnect or an error is no activity; a connect is.
    hub->monitor().device_disconnected("amqp-dev", "test");
    hub->monitor().connection_error("amqp-dev", "test");
    run();
    EXPECT_EQ(local->service().lifecycle("amqp-dev")->state,
              provisioning::LifecycleState::bootstrapped);
    hub->monitor().device_connected("amqp-dev");
    run();
    EXPECT_EQ(local->service().lifecycle("amqp-dev")->state,
              provisioning::LifecycleState::activated);
    // An HTTPS device never connects: its first message counts.
    D2cMessage m;
    m.device_id = "http-dev";
    m.body = Bytes{'x'};
    hub->d2c().append(m, [](Result<EventPosition>) {});
    run();
    EXPECT_EQ(local->service().lifecycle("http-dev")->state,
              provisioning::LifecycleState::activated);
    // Devices the service did not provision are ignored.
    m.device_id = "stranger";
    hub->d2c().append(m, [](Result<EventPosition>) {});
    hub->monitor().device_connected("stranger");
    run();
    EXPECT_EQ(local->service().lifecycle("stranger"), nullptr);
    // Activity after a restart is reported too (the feeds start at the logs' ends).
    local.reset();
    local = open_local(*hub);
    register_one(*local, node, sim, "later");
    hub->monitor().device_connected("later");
    run();
    EXPECT_EQ(local->service().lifecycle("later")->state, provisioning::LifecycleState::activated);
    std::vector<provisioning::LifecycleTransition> history = *local->service().history("amqp-dev");
    EXPECT_EQ(history.back().event, provisioning::LifecycleEvent::activate);
}

TEST_F(LocalProvisioningTest, PolicyAndEnrollmentsSurviveARestartAndARenamedHubIsRelinked) {
    std::string key;
    {
        std::unique_ptr<Hub> hub = open_hub("first");
        std::unique_ptr<LocalProvisioning> local = open_local(*hub);
        ASSERT_NE(local, nullptr);
        key = local->endpoint().policy.primary_key;
        EXPECT_EQ(auth::base64_decode(key)->size(), kPolicyKeyBytes);
        EXPECT_NE(local->endpoint().policy.secondary_key, key);
        provisioning::IndividualEnrollment e;
        e.registration_id = "kept";
        ASSERT_TRUE(local->service().create_enrollment(e).ok());
    }
    std::unique_ptr<Hub> hub = open_hub("second");
    std::unique_ptr<LocalProvisioning> local = open_local(*hub, "0neOTHER");
    ASSERT_NE(local, nullptr);
    EXPECT_EQ(local->endpoint().policy.primary_key, key);
    EXPECT_EQ(local->endpoint().id_scope, "0neOTHER");
    EXPECT_NE(local->service().find_enrollment("kept"), nullptr);
    ASSERT_EQ(local->service().linked_hubs().size(), 1u);
    EXPECT_EQ(local->service().linked_hubs().begin()->first, "second");
}

TEST_F(LocalProvisioningTest, AForeignPolicyFileIsCorruption) {
    const std::string junk = R"({"name":"x","primaryKey":"not base64!"})";
    ASSERT_TRUE(node.disk()
                    .append(kProvisioningPolicyFile,
                            ByteView(reinterpret_cast<const uint8_t*>(junk.data()), junk.size()))
                    .ok());
    Result<http::ProvisioningPolicy> policy = load_or_create_provisioning_policy(node);
    ASSERT_FALSE(policy.ok());
    EXPECT_EQ(policy.status().code(), Code::corruption);
}

}  // namespace
}  // namespace hub::server
