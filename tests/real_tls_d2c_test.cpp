// End to end on real sockets: our conformance device client sends D2C messages over TLS on
// loopback to the hub served by RealEnv (Asio + OpenSSL + POSIX files); every message must be
// accepted, and still be in the log after the hub is stopped and opened again from its files.
#include <gtest/gtest.h>

#include "conformance/amqp_device_client.hpp"
#include "hub/amqp/amqp_server.hpp"
#include "hub/server/real_env.hpp"
#include "hub/server/test_temp_dir.hpp"
#include "hub/server/tls_cert.hpp"

namespace {

using hub::Duration;

// run_for() returns an error if a callback threw: that must fail the test, not pass silently.
#define EXPECT_TRUE_OK(expr) EXPECT_TRUE((expr).ok())

constexpr int kMessages = 20;
const char* kKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

hub::HubConfig hub_config() {
    hub::HubConfig config;
    config.host_name = "localhost";
    config.devices.push_back({"dev1", kKey});
    return config;
}

std::unique_ptr<hub::server::RealEnv> open_env(const hub::server::TestTempDir& dir) {
    hub::Result<hub::server::CertFiles> cert =
        hub::server::ensure_self_signed_cert(dir.sub("tls"));
    EXPECT_TRUE(cert.ok()) << cert.status().to_string();
    hub::server::RealEnvConfig config;
    config.data_dir = dir.sub("hub");
    config.tls = {cert->cert_pem_path, cert->key_pem_path, cert->cert_pem_path};
    config.trace_to_stderr = std::getenv("HUB_TRACE") != nullptr;
    hub::Result<std::unique_ptr<hub::server::RealEnv>> env = hub::server::RealEnv::open(config);
    EXPECT_TRUE(env.ok()) << env.status().to_string();
    return std::move(*env);
}

TEST(RealTlsD2c, DeviceClientMessagesAreAcceptedAndDurable) {
    hub::server::TestTempDir dir;
    {
        auto env = open_env(dir);
        auto hub = std::move(*hub::Hub::open(*env, hub_config()));
        hub::amqp::AmqpServer server(*env, *hub);
        ASSERT_TRUE(server.listen("127.0.0.1:0").ok());

        conformance::DeviceClientConfig config;
        config.hub_address = server.address();
        config.host_name = "localhost";
        config.device_id = "dev1";
        config.key = kKey;
        conformance::AmqpDeviceClient client(*env, config);
        int acknowledged = 0;
        client.on_acknowledged = [&](const std::string&) {
            if (++acknowledged == kMessages) env->stop();
        };
        for (int i = 0; i < kMessages; ++i) {
            const std::string id = "m" + std::to_string(i);
            client.send(id, hub::Bytes(id.begin(), id.end()));
        }
        client.start();
        ASSERT_TRUE(env->run_for(Duration::seconds(20)).ok());
        EXPECT_EQ(acknowledged, kMessages);
        EXPECT_EQ(client.connects(), 1u);
        client.stop();
        EXPECT_TRUE_OK(env->run_for(Duration::millis(200)));
    }
    // A new process over the same files: every acknowledged message is there.
    auto env = open_env(dir);
    auto hub = std::move(*hub::Hub::open(*env, hub_config()));
    const uint32_t p = hub->d2c().partition_of("dev1");
    ASSERT_EQ(hub->d2c().events(p).size(), static_cast<size_t>(kMessages));
    EXPECT_EQ(hub->d2c().events(p).front().message.message_id, "m0");
    EXPECT_EQ(hub->d2c().events(p).back().message.device_id, "dev1");
}

TEST(RealTlsD2c, WrongKeyIsRefusedAndNothingIsAcknowledged) {
    hub::server::TestTempDir dir;
    auto env = open_env(dir);
    auto hub = std::move(*hub::Hub::open(*env, hub_config()));
    hub::amqp::AmqpServer server(*env, *hub);
    ASSERT_TRUE(server.listen("127.0.0.1:0").ok());
    conformance::DeviceClientConfig config;
    config.hub_address = server.address();
    config.device_id = "dev1";
    config.key = "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    config.backoff_max = Duration::millis(200);
    conformance::AmqpDeviceClient client(*env, config);
    int acknowledged = 0;
    client.on_acknowledged = [&](const std::string&) { ++acknowledged; };
    client.send("m0", hub::Bytes{1, 2, 3});
    client.start();
    EXPECT_TRUE_OK(env->run_for(Duration::seconds(1)));
    EXPECT_EQ(acknowledged, 0);
    EXPECT_GE(client.token_refusals(), 2u);  // refused by CBS, and retried
    EXPECT_GE(client.connection_failures(), 2u);
    client.stop();
    EXPECT_TRUE_OK(env->run_for(Duration::millis(100)));
}

}  // namespace
