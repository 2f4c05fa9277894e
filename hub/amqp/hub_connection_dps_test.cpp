// The Device Provisioning Service over AMQP: SASL PLAIN as the registration, a sender and a
// receiver on "{idScope}/registrations/{id}", register then poll by correlation id.
#include <nlohmann/json.hpp>

#include "hub/amqp/amqp_errors.hpp"
#include "hub/amqp/hub_connection_fixture.hpp"
#include "hub/core/provisioning/provisioning_service.hpp"

namespace hub::amqp {
namespace {

constexpr const char* kScope = "0ne00000042";

struct OneHub : provisioning::HubDirectory {
    Registry* registry = nullptr;
    Registry* registry_for(std::string_view name) override {
        return name == kHost ? registry : nullptr;
    }
};

class DpsLinkTest : public HubConnectionTest {
  protected:
    OneHub hubs;
    std::unique_ptr<provisioning::ProvisioningService> dps;
    std::string enrollment_key;

    void SetUp() override {
        HubConnectionTest::SetUp();
        hubs.registry = &hub->registry();
        provisioning::ProvisioningConfig config;
        config.id_scope = kScope;
        dps = std::move(*provisioning::ProvisioningService::open(hub_node, hubs, config));
        ASSERT_TRUE(dps->link_hub({kHost, "local", 1}).ok());
        provisioning::IndividualEnrollment e;
        e.registration_id = "sensor-7";
        Result<provisioning::IndividualEnrollment> created = dps->create_enrollment(e);
        ASSERT_TRUE(created.ok()) << created.status().to_string();
        enrollment_key = created->attestation.primary_key;
    }
    // From now on, connections serve the DPS from their start, as AmqpServer makes them.
    void serve_dps_from_the_start() {
        listener = std::move(*hub_node.network().listen("hub:5672", [this](std::unique_ptr<Stream> s) {
            connections.push_back(std::make_unique<HubConnection>(
                hub_node, *hub, std::move(s), connections.size() + 1, [] {},
                [](const std::string&) {}));
            connections.back()->serve_provisioning(dps.get());
            connections.back()->start();
        }));
    }
    void TearDown() override {
        HubConnectionTest::TearDown();
        dps.reset();
    }
    std::string address(const std::string& id) { return std::string(kScope) + "/registrations/" + id; }
    std::string dps_token(const std::string& id, const std::string& key) {
        return auth::make_sas_token(address(id), key, now_s() + 3600, "registration");
    }
    // A peer logged in as `id` (PLAIN), its links attached, the DPS served on its connection.
    std::unique_ptr<AmqpTestPeer> login(const std::string& id, const std::string& key) {
        std::unique_ptr<AmqpTestPeer> peer =
            connect(PeerSasl{"PLAIN", plain(address(id), dps_token(id, key))});
        connections.back()->serve_provisioning(dps.get());
        peer->open_receiver(address(id));
        peer->open_sender(address(id));
        run(200);
        return peer;
    }
    static proton::message request(const std::string& correlation, const std::string& type) {
        proton::message m;
        m.correlation_id(correlation);
        m.properties().put("iotdps-operation-type", type);
        return m;
    }
    static nlohmann::json body_of(const proton::message& m) {
        const proton::binary b = proton::get<proton::binary>(m.body());
        return nlohmann::json::parse(std::string(b.begin(), b.end()));
    }
};

TEST_F(DpsLinkTest, RegisterThenPollAssignsTheDeviceToThisHub) {
    std::unique_ptr<AmqpTestPeer> peer = login("sensor-7", enrollment_key);
    proton::message reg = request("c-1", "iotdps-register");
    reg.properties().put("iotdps-forceRegistration", false);
    const std::string body = R"({"registrationId":"sensor-7"})";
    reg.body(proton::binary(body.begin(), body.end()));
    peer->send(address("sensor-7"), reg);
    run(200);
    ASSERT_EQ(peer->received.size(), 1u);
    EXPECT_EQ(peer->received[0].correlation_id(), proton::message_id("c-1"));
    EXPECT_TRUE(peer->received[0].inferred());  // a data section, as the SDK reads it
    const nlohmann::json assigning = body_of(peer->received[0]);
    EXPECT_EQ(assigning["status"], "assigning");
    EXPECT_TRUE(peer->received[0].properties().exists("retry-after"));

    proton::message poll = request("c-2", "iotdps-get-operationstatus");
    poll.properties().put("iotdps-operation-id", assigning["operationId"].get<std::string>());
    peer->send(address("sensor-7"), poll);
    run(200);
    ASSERT_EQ(peer->received.size(), 2u);
    EXPECT_EQ(peer->received[1].correlation_id(), proton::message_id("c-2"));
    const nlohmann::json assigned = body_of(peer->received[1]);
    EXPECT_EQ(assigned["status"], "assigned") << assigned.dump();
    EXPECT_EQ(assigned["registrationState"]["assignedHub"], kHost);
    EXPECT_EQ(assigned["registrationState"]["deviceId"], "sensor-7");
    EXPECT_NE(hub->registry().find("sensor-7"), nullptr);
}

TEST_F(DpsLinkTest, LinksNeedTheLoginOfThatRegistrationWithAGoodKey) {
    // A wrong key passes SASL (DPS tokens are checked by the link) but not the link.
    std::unique_ptr<AmqpTestPeer> wrong = login("sensor-7", kOtherKey);
    EXPECT_EQ(wrong->link_errors[address("sensor-7")], kUnauthorizedAccess);
    // Logged in as one registration, attaching another's address is refused too.
    std::unique_ptr<AmqpTestPeer> peer = login("sensor-7", enrollment_key);
    peer->open_sender(address("sensor-8"));
    run(200);
    EXPECT_EQ(peer->link_errors[address("sensor-8")], kUnauthorizedAccess);
    EXPECT_EQ(peer->link_errors.count(address("sensor-7")), 0u);
}

TEST_F(DpsLinkTest, WithTheDpsServedABadRegistrationTokenFailsTheLoginItself) {
    serve_dps_from_the_start();
    const auto login_on_5672 = [&](const std::string& id, const std::string& key) {
        std::unique_ptr<AmqpTestPeer> peer;
        client_node.network().connect("hub:5672", [&](Result<std::unique_ptr<Stream>> st) {
            peer = std::make_unique<AmqpTestPeer>(client_node, std::move(*st));
            peer->start(PeerSasl{"PLAIN", plain(address(id), dps_token(id, key))});
        });
        run(500);
        return peer;
    };
    std::unique_ptr<AmqpTestPeer> wrong = login_on_5672("sensor-7", kOtherKey);
    EXPECT_EQ(wrong->sasl_outcome, proton::sasl::AUTH);
    EXPECT_FALSE(wrong->opened);
    std::unique_ptr<AmqpTestPeer> unknown = login_on_5672("sensor-404", enrollment_key);
    EXPECT_EQ(unknown->sasl_outcome, proton::sasl::AUTH);
    std::unique_ptr<AmqpTestPeer> good = login_on_5672("sensor-7", enrollment_key);
    EXPECT_TRUE(good->opened);
}

// The registration token of the login is watched like a CBS token: when it lapses, the
// connection (which proves nothing else) is closed with amqp:unauthorized-access.
TEST_F(DpsLinkTest, ALapsedLoginTokenClosesTheConnection) {
    serve_dps_from_the_start();
    std::unique_ptr<AmqpTestPeer> peer;
    const std::string token =
        auth::make_sas_token(address("sensor-7"), enrollment_key, now_s() + 30, "registration");
    client_node.network().connect("hub:5672", [&](Result<std::unique_ptr<Stream>> st) {
        peer = std::make_unique<AmqpTestPeer>(client_node, std::move(*st));
        peer->start(PeerSasl{"PLAIN", plain(address("sensor-7"), token)});
    });
    run(500);
    ASSERT_TRUE(peer->opened);
    peer->open_receiver(address("sensor-7"));
    peer->open_sender(address("sensor-7"));
    run(200);
    proton::message reg = request("c-1", "iotdps-register");
    const std::string body = R"({"registrationId":"sensor-7"})";
    reg.body(proton::binary(body.begin(), body.end()));
    peer->send(address("sensor-7"), reg);
    run(200);
    ASSERT_EQ(peer->received.size(), 1u);  // served while the token holds
    run(31 * 1000);
    EXPECT_EQ(peer->connection_error, kUnauthorizedAccess);
    EXPECT_TRUE(peer->finished);
}

TEST_F(DpsLinkTest, AnOperationOfAnotherRegistrationOrAnUnknownTypeIsRejected) {
    std::unique_ptr<AmqpTestPeer> peer = login("sensor-7", enrollment_key);
    proton::message poll = request("c-1", "iotdps-get-operationstatus");
    poll.id(std::string("m-poll"));
    poll.properties().put("iotdps-operation-id", std::string("no-such-operation"));
    peer->send(address("sensor-7"), poll);
    proton::message odd = request("c-2", "iotdps-dance");
    odd.id(std::string("m-odd"));
    peer->send(address("sensor-7"), odd);
    run(200);
    EXPECT_EQ(peer->outcomes["m-poll"], std::string("rejected:") + kNotFound);
    EXPECT_EQ(peer->outcomes["m-odd"], std::string("rejected:") + kArgumentError);
    EXPECT_TRUE(peer->received.empty());
}

}  // namespace
}  // namespace hub::amqp
