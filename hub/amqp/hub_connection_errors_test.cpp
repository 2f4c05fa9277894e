// The AMQP error conditions the hub sends, as the Azure SDKs map them (amqp_errors.hpp): on link
// attach, in a rejected transfer's disposition, and in the hub's settlement of a C2D delivery.
#include <gtest/gtest.h>

#include "hub/amqp/amqp_errors.hpp"
#include "hub/amqp/hub_connection_fixture.hpp"

namespace hub::amqp {
namespace {

using HubConnectionErrorsTest = HubConnectionTest;

TEST(AmqpErrors, StatusCodesMapToTheConditionsTheSdksTranslate) {
    EXPECT_EQ(error_for(Status(Code::unauthorized, "x")).name(), "amqp:unauthorized-access");
    EXPECT_EQ(error_for(Status(Code::not_found, "x")).name(), "amqp:not-found");
    EXPECT_EQ(error_for(Status(Code::resource_exhausted, "x")).name(),
              "amqp:resource-limit-exceeded");
    EXPECT_EQ(error_for(Status(Code::invalid_argument, "x")).name(), "com.microsoft:argument-error");
    for (Code store : {Code::unavailable, Code::io_error, Code::corruption, Code::internal}) {
        EXPECT_EQ(error_for(Status(store, "disk")).name(), "amqp:internal-error");
    }
    EXPECT_EQ(error_for(Status(Code::not_found, "why")).description(), "why");
}

proton::message c2d_to(const std::string& device, const std::string& id, size_t body_bytes = 4) {
    proton::message m;
    m.id(id);
    m.to("/devices/" + device + "/messages/devicebound");
    m.body(std::string(body_bytes, 'c'));
    return m;
}

TEST_F(HubConnectionErrorsTest, D2cRejectionsCarryTheirCondition) {
    auto peer = connect(std::nullopt);
    peer->put_token(device_sr("dev1"), device_token("dev1", 3600));
    run(200);
    peer->open_sender(kD2c1);
    peer->send(kD2c1, "ok", "small");
    peer->send(kD2c1, "big", std::string(kD2cMessageBytesMax + 1, 'x'));
    run(2000);
    EXPECT_EQ(peer->outcomes["ok"], "accepted");
    EXPECT_EQ(peer->outcomes["big"], "rejected:amqp:link:message-size-exceeded");
    // The device is deleted while its link is open: its next message is for no device.
    ASSERT_TRUE(hub->remove_device("dev1", "*").ok());
    peer->send(kD2c1, "after-delete", "x");
    run(1000);
    EXPECT_EQ(peer->outcomes["after-delete"], "rejected:amqp:not-found");
    EXPECT_EQ(d2c_count(), 1u);
}

TEST_F(HubConnectionErrorsTest, AStoreFailureIsAnInternalError) {
    auto peer = connect(std::nullopt);
    peer->put_token(device_sr("dev1"), device_token("dev1", 3600));
    peer->put_token(kHost, service_token("service", 3600));
    run(200);
    peer->open_sender(kD2c1);
    peer->open_sender("/messages/devicebound");
    run(200);
    hub_node.sim_disk().set_fail_syncs(true);  // a dying disk: nothing becomes durable
    peer->send(kD2c1, "d2c", "x");
    peer->send("/messages/devicebound", c2d_to("dev1", "c2d"));
    run(2000);
    EXPECT_EQ(peer->outcomes["d2c"], "rejected:amqp:internal-error");
    EXPECT_EQ(peer->outcomes["c2d"], "rejected:amqp:internal-error");
}

TEST_F(HubConnectionErrorsTest, AttachErrors) {
    auto peer = connect(std::nullopt);
    peer->put_token(device_sr("dev1"), device_token("dev1", 3600));
    run(200);
    peer->open_sender("/devices/dev2/messages/events");      // no token for dev2
    peer->open_sender("/nowhere");                            // not a node
    peer->open_receiver("/devices/dev1/somewhere");           // not a node either
    peer->open_sender("/messages/devicebound");               // no service token
    run(500);
    EXPECT_EQ(peer->link_errors["/devices/dev2/messages/events"], "amqp:unauthorized-access");
    EXPECT_EQ(peer->link_errors["/nowhere"], "amqp:not-found");
    EXPECT_EQ(peer->link_errors["/devices/dev1/somewhere"], "amqp:not-found");
    EXPECT_EQ(peer->link_errors["/messages/devicebound"], "amqp:unauthorized-access");
}

TEST_F(HubConnectionErrorsTest, ModuleLinksAreUnknownNodesWithoutModuleIdentities) {
    // The registry holds devices only: a module's D2C or input link cannot exist, and a module
    // token (sr = host/devices/d/modules/m) proves nothing.
    auto peer = connect(std::nullopt);
    peer->put_token(device_sr("dev1"), device_token("dev1", 3600));
    const std::string module_sr = auth::url_encode_strict(std::string(kHost) + "/devices/dev1/modules/m1");
    peer->put_token(module_sr, auth::make_sas_token(module_sr, kKey, now_s() + 3600));
    run(200);
    const std::string events = "/devices/dev1/modules/m1/messages/events";
    const std::string inputs = "/devices/dev1/modules/m1/inputs";
    peer->open_sender(events);
    peer->open_receiver(inputs);
    run(500);
    EXPECT_EQ(peer->cbs_status, (std::vector<int32_t>{200, 401}));
    EXPECT_EQ(peer->link_errors[events], "amqp:not-found");
    EXPECT_EQ(peer->link_errors[inputs], "amqp:not-found");
}

TEST_F(HubConnectionErrorsTest, C2dSendRejections) {
    auto peer = connect(std::nullopt);
    peer->put_token(kHost, service_token("service", 3600));
    run(200);
    peer->open_sender("/messages/devicebound");
    run(200);
    peer->send("/messages/devicebound", c2d_to("nobody", "unknown-device"));
    proton::message bad_to = c2d_to("dev1", "bad-to");
    bad_to.to("/devices/dev1");
    peer->send("/messages/devicebound", bad_to);
    peer->send("/messages/devicebound", c2d_to("dev1", "too-big", kC2dMessageBytesMax + 1));
    for (int i = 0; i < 50; ++i) {  // Azure's queue depth: 50 pending per device
        peer->send("/messages/devicebound", c2d_to("dev1", "q" + std::to_string(i)));
    }
    run(2000);
    peer->send("/messages/devicebound", c2d_to("dev1", "one-too-many"));
    run(1000);
    EXPECT_EQ(peer->outcomes["unknown-device"], "rejected:amqp:not-found");
    EXPECT_EQ(peer->outcomes["bad-to"], "rejected:com.microsoft:argument-error");
    EXPECT_EQ(peer->outcomes["too-big"], "rejected:amqp:link:message-size-exceeded");
    EXPECT_EQ(peer->outcomes["q49"], "accepted");
    EXPECT_EQ(peer->outcomes["one-too-many"], "rejected:amqp:resource-limit-exceeded");
}

TEST_F(HubConnectionErrorsTest, EventHubReadersPerConnectionAreCapped) {
    auto peer = connect(std::nullopt);
    peer->put_token(kHost, service_token("service", 3600));
    run(200);
    for (size_t i = 0; i <= kPartitionReadersMax; ++i) {
        peer->open_receiver("myhub/ConsumerGroups/$default/Partitions/0", 1,
                            "reader-" + std::to_string(i));
    }
    run(1000);
    EXPECT_EQ(peer->link_errors.count("reader-0"), 0u);
    EXPECT_EQ(peer->link_errors["reader-" + std::to_string(kPartitionReadersMax)],
              "amqp:resource-limit-exceeded");
}

TEST_F(HubConnectionErrorsTest, LinksPerConnectionAreCapped) {
    // (This cap counted at most two links before: Proton 0.37's connection-wide link ranges
    // stop after the first link.)
    auto peer = connect(std::nullopt);
    for (size_t i = 0; i <= kLinksPerConnectionMax; ++i) {
        peer->open_receiver("$management", 1, "m-" + std::to_string(i));
    }
    run(2000);
    EXPECT_EQ(peer->link_errors.count("m-0"), 0u);
    EXPECT_EQ(peer->link_errors.count("m-" + std::to_string(kLinksPerConnectionMax - 1)), 0u);
    EXPECT_EQ(peer->link_errors["m-" + std::to_string(kLinksPerConnectionMax)],
              "amqp:resource-limit-exceeded");
}

TEST_F(HubConnectionErrorsTest, SettlingALapsedC2dLockIsMessageLockLost) {
    auto peer = connect(std::nullopt);
    peer->put_token(device_sr("dev1"), device_token("dev1", 3600));
    run(200);
    for (const char* id : {"early", "late"}) {
        C2dMessage m;
        m.message_id = id;
        m.body = Bytes{1};
        hub->c2d().enqueue("dev1", hub->registry().find("dev1")->generation_id, m, [](auto) {});
    }
    run(200);
    peer->open_receiver(kC2d1, 2, {}, /*auto_accept=*/false);
    run(500);
    ASSERT_EQ(peer->held.size(), 2u);
    peer->accept_unsettled(0);  // within the 1 minute lock: the hub confirms
    run(1000);
    ASSERT_EQ(peer->hub_settled, std::vector<std::string>{"accepted"});
    run(61 * 1000);             // the second lock lapses
    peer->accept_unsettled(1);
    run(1000);
    EXPECT_EQ(peer->hub_settled,
              (std::vector<std::string>{"accepted", "rejected:com.microsoft:message-lock-lost"}));
}

}  // namespace
}  // namespace hub::amqp
