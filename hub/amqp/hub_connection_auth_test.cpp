// HubConnection authentication, bytes in and bytes out: SASL mechanisms (no header, ANONYMOUS,
// MSSBCBS, PLAIN device/service/DPS, EXTERNAL) and token expiry mid-connection, with a Proton
// client (AmqpTestPeer) on the other end of a simulated stream.
#include <gtest/gtest.h>

#include "hub/amqp/hub_connection_fixture.hpp"

namespace hub::amqp {
namespace {

using HubConnectionAuthTest = HubConnectionTest;

TEST_F(HubConnectionAuthTest, NoSaslHeaderThenCbsStillWorks) {
    auto peer = connect(std::nullopt);
    ASSERT_TRUE(peer->opened);
    peer->put_token(device_sr("dev1"), device_token("dev1", 3600));
    run(200);
    peer->open_sender(kD2c1);
    peer->send(kD2c1, "m1", "hello");
    run(500);
    EXPECT_EQ(peer->cbs_status, std::vector<int32_t>{200});
    EXPECT_EQ(peer->outcomes["m1"], "accepted");
}

TEST_F(HubConnectionAuthTest, PlainDeviceLoginAuthorisesItsLinksWithoutCbs) {
    auto peer = connect(PeerSasl{"PLAIN", plain("dev1@sas.myhub", device_token("dev1", 3600))});
    ASSERT_TRUE(peer->opened);
    EXPECT_EQ(peer->sasl_outcome, proton::sasl::NONE);  // no transport error at all
    peer->open_sender(kD2c1);
    peer->open_receiver(kC2d1);
    peer->open_sender(kD2c2);  // the login proves dev1 only
    peer->send(kD2c1, "m1", "hello");
    run(500);
    EXPECT_EQ(peer->outcomes["m1"], "accepted");
    EXPECT_TRUE(peer->link_active(kC2d1));
    EXPECT_EQ(peer->link_errors[kD2c2], "amqp:unauthorized-access");
    EXPECT_EQ(d2c_count(), 1u);
    EXPECT_EQ(monitor_events(kDeviceConnected).size(), 1u);
}

TEST_F(HubConnectionAuthTest, PlainServiceLoginAuthorisesServiceLinks) {
    auto peer = connect(PeerSasl{"PLAIN", plain("service@sas.root.MyHub",
                                                service_token("service", 3600))});
    ASSERT_TRUE(peer->opened);
    peer->open_sender("/messages/devicebound");
    proton::message m;
    m.id(std::string("c1"));
    m.to("/devices/dev1/messages/devicebound");
    m.body(std::string("to dev1"));
    peer->send("/messages/devicebound", m);
    peer->open_receiver("/messages/serviceBound/feedback");
    run(500);
    EXPECT_EQ(peer->outcomes["c1"], "accepted");
    EXPECT_TRUE(peer->link_active("/messages/serviceBound/feedback"));
}

TEST_F(HubConnectionAuthTest, PlainWithABadTokenFailsWithOutcomeAuthAndCloses) {
    const struct {
        const char* why;
        std::string response;
    } cases[] = {
        {"wrong key", plain("dev1@sas.myhub", device_token("dev1", 3600, kOtherKey))},
        {"another device's token", plain("dev2@sas.myhub", device_token("dev1", 3600))},
        {"another hub", plain("dev1@sas.otherhub", device_token("dev1", 3600))},
        {"a device token for a policy user", plain("service@sas.root.myhub",
                                                    device_token("dev1", 3600))},
        {"expired", plain("dev1@sas.myhub", device_token("dev1", -10))},
        {"policy without ServiceConnect",
         plain("registryRead@sas.root.myhub", service_token("registryRead", 3600))},
        {"not a PLAIN response", "dev1@sas.myhub"},
        {"unknown user form", plain("dev1", device_token("dev1", 3600))},
        {"authzid differs", "dev2" + plain("dev1@sas.myhub", device_token("dev1", 3600))},
    };
    for (const auto& c : cases) {
        auto peer = connect(PeerSasl{"PLAIN", c.response});
        run(500);
        EXPECT_FALSE(peer->opened) << c.why;
        EXPECT_EQ(peer->sasl_outcome, proton::sasl::AUTH) << c.why;  // sasl-outcome code 1
        EXPECT_EQ(peer->transport_error, "amqp:unauthorized-access") << c.why;
        EXPECT_TRUE(peer->finished) << c.why;
    }
    EXPECT_EQ(d2c_count(), 0u);
    // Device logins that failed are reported like failed put-tokens.
    EXPECT_GE(monitor_events(kDeviceConnectionError).size(), 3u);
}

TEST_F(HubConnectionAuthTest, AnonymousAndMssbcbsSucceedAndThenNeedCbs) {
    for (const char* mechanism : {"ANONYMOUS", "MSSBCBS"}) {
        auto peer = connect(PeerSasl{mechanism, "anonymous"});
        ASSERT_TRUE(peer->opened) << mechanism;
        peer->open_sender(kD2c2);
        run(200);
        EXPECT_EQ(peer->link_errors[kD2c2], "amqp:unauthorized-access") << mechanism;
        peer->put_token(device_sr("dev1"), device_token("dev1", 3600));
        run(200);
        peer->open_sender(kD2c1);
        peer->send(kD2c1, std::string("m-") + mechanism, "via CBS");
        run(500);
        EXPECT_EQ(peer->cbs_status, std::vector<int32_t>{200}) << mechanism;
        EXPECT_EQ(peer->outcomes[std::string("m-") + mechanism], "accepted") << mechanism;
        peer->close();
        run(200);
    }
}

TEST_F(HubConnectionAuthTest, ExternalIsRefusedWithoutATransportIdentity) {
    // EXTERNAL would trust an identity the transport proved (a TLS client certificate); the
    // hub's TLS requests none, so there is nothing to trust.
    auto peer = connect(PeerSasl{"EXTERNAL", ""});
    run(200);
    EXPECT_FALSE(peer->opened);
    EXPECT_EQ(peer->sasl_outcome, proton::sasl::AUTH);
    EXPECT_EQ(peer->transport_error, "amqp:unauthorized-access");
}

TEST_F(HubConnectionAuthTest, AMechanismTheHubDoesNotOfferIsRefused) {
    auto peer = connect(PeerSasl{"CRAM-MD5", "x"});
    run(200);
    EXPECT_FALSE(peer->opened);
    EXPECT_NE(peer->transport_error, "");
}

TEST_F(HubConnectionAuthTest, PlainDpsLoginIsRecordedUnverified) {
    auto peer = connect(PeerSasl{"PLAIN", plain("0ne00000001/registrations/reg-1",
                                                "SharedAccessSignature sr=not-checked-here")});
    ASSERT_TRUE(peer->opened);
    ASSERT_EQ(connections.size(), 1u);
    const std::optional<DpsLogin>& dps = connections[0]->dps_login();
    ASSERT_TRUE(dps.has_value());
    EXPECT_EQ(dps->id_scope, "0ne00000001");
    EXPECT_EQ(dps->registration_id, "reg-1");
    EXPECT_EQ(dps->token, "SharedAccessSignature sr=not-checked-here");
    // It proves no hub identity.
    peer->open_sender(kD2c1);
    run(200);
    EXPECT_EQ(peer->link_errors[kD2c1], "amqp:unauthorized-access");
}

TEST_F(HubConnectionAuthTest, AnExpiredTokenClosesTheLinksAndTheConnection) {
    auto peer = connect(std::nullopt);
    peer->put_token(device_sr("dev1"), device_token("dev1", 60));
    run(200);
    peer->open_sender(kD2c1);
    peer->open_receiver(kC2d1);
    peer->send(kD2c1, "m1", "before");
    run(1000);
    ASSERT_EQ(peer->outcomes["m1"], "accepted");
    ASSERT_TRUE(hub->registry().find("dev1")->connected);
    run(60 * 1000);
    // Nothing else was proven on this connection: it is closed for the lapsed token.
    EXPECT_EQ(peer->connection_error, "amqp:unauthorized-access");
    EXPECT_TRUE(peer->finished);
    const std::vector<std::string> gone = monitor_events(kDeviceDisconnected);
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_NE(gone[0].find("SAS token expired"), std::string::npos) << gone[0];
    EXPECT_FALSE(hub->registry().find("dev1")->connected);
}

TEST_F(HubConnectionAuthTest, APlainLoginTokenExpiresToo) {
    auto peer = connect(PeerSasl{"PLAIN", plain("dev1@sas.myhub", device_token("dev1", 30))});
    ASSERT_TRUE(peer->opened);
    peer->open_sender(kD2c1);
    run(29 * 1000);
    EXPECT_TRUE(peer->link_active(kD2c1));
    run(2 * 1000);
    EXPECT_EQ(peer->connection_error, "amqp:unauthorized-access");
}

TEST_F(HubConnectionAuthTest, RenewalOnTheSameCbsLinkExtendsTheToken) {
    auto peer = connect(std::nullopt);
    peer->put_token(device_sr("dev1"), device_token("dev1", 60));
    run(200);
    peer->open_sender(kD2c1);
    run(30 * 1000);
    peer->put_token(device_sr("dev1"), device_token("dev1", 3600));
    run(60 * 1000);
    peer->send(kD2c1, "m1", "after the first token's expiry");
    run(1000);
    EXPECT_EQ(peer->cbs_status, (std::vector<int32_t>{200, 200}));
    EXPECT_EQ(peer->outcomes["m1"], "accepted");
    EXPECT_TRUE(peer->link_active(kD2c1));
    EXPECT_EQ(peer->connection_error, "");
    EXPECT_TRUE(monitor_events(kDeviceDisconnected).empty());
}

TEST_F(HubConnectionAuthTest, OnAGatewayOnlyTheLapsedDevicesLinksClose) {
    auto peer = connect(std::nullopt);
    peer->put_token(device_sr("dev1"), device_token("dev1", 60));
    peer->put_token(device_sr("dev2"), device_token("dev2", 3600));
    run(200);
    peer->open_sender(kD2c1);
    peer->open_sender(kD2c2);
    run(61 * 1000);
    EXPECT_EQ(peer->link_errors[kD2c1], "amqp:unauthorized-access");
    EXPECT_TRUE(peer->link_active(kD2c2));
    EXPECT_EQ(peer->connection_error, "");
    peer->send(kD2c2, "m2", "still proven");
    run(1000);
    EXPECT_EQ(peer->outcomes["m2"], "accepted");
    const std::vector<std::string> gone = monitor_events(kDeviceDisconnected);
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_NE(gone[0].find("\"deviceId\":\"dev1\""), std::string::npos) << gone[0];
}

TEST_F(HubConnectionAuthTest, AnExpiredServiceTokenClosesTheServiceLinks) {
    auto peer = connect(std::nullopt);
    peer->put_token(kHost, service_token("service", 60));
    peer->put_token(device_sr("dev1"), device_token("dev1", 3600));
    run(200);
    peer->open_receiver("/messages/serviceBound/feedback");
    peer->open_sender("/messages/devicebound");
    run(200);
    ASSERT_TRUE(peer->link_active("/messages/devicebound"));
    run(61 * 1000);
    EXPECT_EQ(peer->link_errors["/messages/serviceBound/feedback"], "amqp:unauthorized-access");
    EXPECT_EQ(peer->link_errors["/messages/devicebound"], "amqp:unauthorized-access");
    EXPECT_EQ(peer->connection_error, "");  // dev1 is still proven here
}

TEST_F(HubConnectionAuthTest, EvictingOneDeviceOfAGatewayDetachesOnlyItsLinks) {
    // (Before the session-by-session link walk this detached nothing: Proton 0.37's
    // connection-wide link range stops after the first link.)
    auto peer = connect(std::nullopt);
    peer->put_token(device_sr("dev1"), device_token("dev1", 3600));
    peer->put_token(device_sr("dev2"), device_token("dev2", 3600));
    run(200);
    peer->open_sender(kD2c1);
    peer->open_sender(kD2c2);
    run(200);
    ASSERT_EQ(connections.size(), 1u);
    connections[0]->evict("dev1");  // what AmqpServer does when dev1 connects elsewhere
    run(200);
    EXPECT_EQ(peer->link_errors[kD2c1], "amqp:link:detach-forced");
    EXPECT_TRUE(peer->link_active(kD2c2));
    EXPECT_EQ(peer->connection_error, "");
}

}  // namespace
}  // namespace hub::amqp
