// The conformance C2D clients against the hub in the simulator: a service sends, a device
// settles, and the service reads exactly the matching feedback.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "conformance/amqp_device_client.hpp"
#include "conformance/amqp_service_client.hpp"
#include "hub/amqp/amqp_server.hpp"
#include "hub/core/hub.hpp"
#include "simnet/sim_node.hpp"

namespace conformance {
namespace {

constexpr const char* kKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

struct HubProcess : simnet::Process {
    explicit HubProcess(simnet::SimNode& node) {
        hub::HubConfig config;
        config.host_name = "hub";
        config.devices = {{"dev1", kKey}};
        hub = std::move(*hub::Hub::open(node, config));
        server = std::make_unique<hub::amqp::AmqpServer>(node, *hub);
        HUB_ASSERT(server->listen("hub:5671").ok());
    }
    ~HubProcess() override { server.reset(); }
    std::unique_ptr<hub::Hub> hub;
    std::unique_ptr<hub::amqp::AmqpServer> server;
};

class C2dClientsTest : public ::testing::Test {
  protected:
    simnet::Simulator sim{11};
    simnet::SimNetwork net{sim, hub::Random(12)};
    simnet::SimNode hub_node{sim, net, "hub"};
    simnet::SimNode device_node{sim, net, "device"};
    simnet::SimNode service_node{sim, net, "service"};

    void SetUp() override {
        hub_node.boot([](simnet::SimNode& n) { return std::make_unique<HubProcess>(n); });
    }
    hub::Hub& hub() { return *static_cast<HubProcess*>(hub_node.process())->hub; }
    static DeviceClientConfig device_config() {
        DeviceClientConfig c;
        c.hub_address = "hub:5671";
        c.host_name = "hub";
        c.device_id = "dev1";
        c.key = kKey;
        return c;
    }
    ServiceClientConfig service_config(std::string key) {
        ServiceClientConfig c;
        c.hub_address = "hub:5671";
        c.host_name = "hub";
        c.policy_key = std::move(key);
        c.receive_feedback = true;
        return c;
    }
    void run(hub::Duration d) { sim.run_until([] { return false; }, sim.now() + d); }
};

TEST_F(C2dClientsTest, DeviceSettlesAndServiceGetsTheMatchingFeedback) {
    AmqpDeviceClient device(device_node, device_config());
    std::map<std::string, std::string> received;  // message id -> body
    device.on_c2d = [&](const ReceivedC2d& m) {
        received[m.message_id] = std::string(m.body.begin(), m.body.end());
        return m.message_id == "m-reject" ? C2dOutcome::reject : C2dOutcome::complete;
    };
    device.start();

    AmqpServiceClient service(service_node,
                              service_config(hub().registry().policies().at("service").primary_key));
    std::map<std::string, bool> sent;
    std::string feedback;
    service.on_sent = [&](const std::string& id, const hub::Status& s) { sent[id] = s.ok(); };
    service.on_feedback = [&](const std::string& json) { feedback += json; };
    bool failed = false;
    service.on_failed = [&](const hub::Status&) { failed = true; };
    service.start();
    service.send({"dev1", "m-ok", {'h', 'i'}, "full"});
    service.send({"dev1", "m-reject", {'n', 'o'}, "full"});
    service.send({"dev1", "m-quiet", {'s', 'h'}, "none"});
    run(hub::Duration::seconds(20));  // past the 15 s feedback batching

    EXPECT_FALSE(failed);
    EXPECT_EQ(sent, (std::map<std::string, bool>{{"m-ok", true}, {"m-reject", true},
                                                 {"m-quiet", true}}));
    EXPECT_EQ(received, (std::map<std::string, std::string>{
                            {"m-ok", "hi"}, {"m-reject", "no"}, {"m-quiet", "sh"}}));
    EXPECT_NE(feedback.find("\"originalMessageId\":\"m-ok\""), std::string::npos) << feedback;
    EXPECT_NE(feedback.find("\"statusCode\":\"Success\""), std::string::npos) << feedback;
    EXPECT_NE(feedback.find("\"originalMessageId\":\"m-reject\""), std::string::npos);
    EXPECT_NE(feedback.find("\"statusCode\":\"Rejected\""), std::string::npos);
    EXPECT_EQ(feedback.find("m-quiet"), std::string::npos);  // ack none: no receipt
}

TEST_F(C2dClientsTest, AWrongPolicyKeyFailsTheServiceClient) {
    AmqpServiceClient service(service_node, service_config(kKey));
    hub::Status why;
    service.on_failed = [&](const hub::Status& s) { why = s; };
    service.start();
    service.send({"dev1", "m1", {'x'}, "full"});
    run(hub::Duration::seconds(2));
    EXPECT_EQ(why.code(), hub::Code::unauthorized) << why.to_string();
    EXPECT_EQ(hub().c2d().pending_count("dev1"), 0u);
}

// Regression: a device that completes a message and disconnects at once used to crash the hub
// (the completion's durable callback ran on the destroyed connection).
TEST_F(C2dClientsTest, CompletingAndDisconnectingAtOnceIsSafe) {
    AmqpDeviceClient device(device_node, device_config());
    int received = 0;
    device.on_c2d = [&](const ReceivedC2d&) {
        ++received;
        // Late enough for the settlement to reach the hub, early enough to close the
        // connection before the hub's group commit makes it durable.
        device_node.schedule(device_node.now() + hub::Duration::micros(500),
                             [&] { device.stop(); });
        return C2dOutcome::complete;
    };
    device.start();
    AmqpServiceClient service(service_node,
                              service_config(hub().registry().policies().at("service").primary_key));
    service.start();
    service.send({"dev1", "m1", {'x'}, "full"});
    run(hub::Duration::seconds(2));
    EXPECT_EQ(received, 1);
    EXPECT_EQ(hub().c2d().pending_count("dev1"), 0u);  // the completion still counted
}

// With `reconnect`, the service survives a hub crash: it connects again (new token, new links),
// sends what it queued while the hub was down, and its feedback receiver is attached again.
TEST_F(C2dClientsTest, AReconnectingServiceSurvivesAHubCrashAndGetsFeedbackAfterIt) {
    ServiceClientConfig config =
        service_config(hub().registry().policies().at("service").primary_key);
    config.reconnect = true;
    AmqpServiceClient service(service_node, config);
    std::map<std::string, bool> sent;
    std::string feedback;
    bool failed = false;
    service.on_sent = [&](const std::string& id, const hub::Status& s) { sent[id] = s.ok(); };
    service.on_feedback = [&](const std::string& json) { feedback += json; };
    service.on_failed = [&](const hub::Status&) { failed = true; };
    service.start();
    service.send({"dev1", "m-before", {'a'}, "full"});
    run(hub::Duration::seconds(1));
    ASSERT_EQ(sent, (std::map<std::string, bool>{{"m-before", true}}));

    hub_node.crash();
    service.send({"dev1", "m-during", {'b'}, "full"});
    run(hub::Duration::seconds(2));
    EXPECT_EQ(service.pending(), 1u);  // nowhere to send it
    hub_node.restart();
    run(hub::Duration::seconds(10));  // past the longest backoff
    EXPECT_EQ(sent, (std::map<std::string, bool>{{"m-before", true}, {"m-during", true}}));
    EXPECT_EQ(service.pending(), 0u);
    EXPECT_GE(service.connects(), 2u);
    EXPECT_GE(service.connection_failures(), 1u);
    EXPECT_FALSE(failed);  // a reconnecting client does not give up

    AmqpDeviceClient device(device_node, device_config());
    device.on_c2d = [](const ReceivedC2d&) { return C2dOutcome::complete; };
    device.start();
    run(hub::Duration::seconds(20));  // past the 15 s feedback batching
    EXPECT_NE(feedback.find("\"originalMessageId\":\"m-before\""), std::string::npos)
        << feedback;
    EXPECT_NE(feedback.find("\"originalMessageId\":\"m-during\""), std::string::npos)
        << feedback;
    EXPECT_EQ(hub().c2d().feedback().size(), 0u);  // the service accepted every batch
}

// Without `reconnect` (the default) the client fails once and stays down.
TEST_F(C2dClientsTest, ANonReconnectingServiceFailsOnceOnAHubCrash) {
    AmqpServiceClient service(service_node,
                              service_config(hub().registry().policies().at("service").primary_key));
    int failures = 0;
    service.on_failed = [&](const hub::Status&) { ++failures; };
    service.start();
    run(hub::Duration::seconds(1));
    hub_node.crash();
    hub_node.restart();
    run(hub::Duration::seconds(10));
    EXPECT_EQ(failures, 1);
    EXPECT_EQ(service.connects(), 1u);
}

// Regression (found by hubsim --scenario c2d): a device stopped while its connect was still in
// flight came back connected though stopped; when that connection dropped, it scheduled no
// reconnect, and a later start() saw the dead connection and never connected again.
TEST_F(C2dClientsTest, ADeviceStoppedWhileConnectingStaysStoppedAndStartsAgain) {
    AmqpDeviceClient device(device_node, device_config());
    int received = 0;
    device.on_c2d = [&](const ReceivedC2d&) {
        ++received;
        return C2dOutcome::complete;
    };
    device.start();
    device.stop();  // the connect is still in flight
    run(hub::Duration::seconds(1));
    EXPECT_EQ(device.connects(), 0u);
    device.start();
    AmqpServiceClient service(service_node,
                              service_config(hub().registry().policies().at("service").primary_key));
    service.start();
    service.send({"dev1", "m1", {'x'}, "none"});
    run(hub::Duration::seconds(2));
    EXPECT_EQ(device.connects(), 1u);
    EXPECT_EQ(received, 1);
}

// Regression, found by hubsim --scenario c2d: HubConnection::settle() found C2D locks by
// delivery tag alone; its C2D tags count 0, 1, 2... per connection, and its $cbs reply sender
// numbers its deliveries 1, 2... too. A device that attaches devicebound with messages waiting
// sends its `accepted` for the put-token reply after the attach, so the hub took that
// disposition for the C2D delivery tagged 1 and completed a message the device never settled
// (here: one the device rejects ended Success). settle() now checks the tracker too.
TEST_F(C2dClientsTest, TheCbsReplysSettlementDoesNotSettleAC2dMessage) {
    AmqpServiceClient service(service_node,
                              service_config(hub().registry().policies().at("service").primary_key));
    std::string feedback;
    service.on_feedback = [&](const std::string& json) { feedback += json; };
    service.start();
    for (const char* id : {"m0", "m1", "m2"}) {
        service.send({"dev1", id, {'x'}, "full"});
    }
    run(hub::Duration::seconds(1));  // queued before the device connects
    AmqpDeviceClient device(device_node, device_config());
    int received = 0;
    device.on_c2d = [&](const ReceivedC2d&) {
        ++received;
        return C2dOutcome::reject;
    };
    device.start();
    run(hub::Duration::seconds(20));  // past the 15 s feedback batching
    EXPECT_EQ(received, 3);
    EXPECT_EQ(feedback.find("Success"), std::string::npos) << feedback;
    for (const char* id : {"m0", "m1", "m2"}) {
        EXPECT_NE(feedback.find(std::string("\"originalMessageId\":\"") + id +
                                "\",\"enqueuedTimeUtc\""),
                  std::string::npos)
            << feedback;
    }
}

}  // namespace
}  // namespace conformance
