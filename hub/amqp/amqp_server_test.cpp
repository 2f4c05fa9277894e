// The AMQP front door in the simulator, with our conformance client as the device.
#include "hub/amqp/amqp_server.hpp"

#include <gtest/gtest.h>

#include "conformance/amqp_device_client.hpp"
#include "simnet/sim_node.hpp"

namespace hub::amqp {
namespace {

constexpr const char* kKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

struct HubProcess : simnet::Process {
    explicit HubProcess(simnet::SimNode& node) {
        HubConfig config;
        config.host_name = "hub";
        config.devices = {{"dev1", kKey}};
        hub = std::move(*Hub::open(node, config));
        server = std::make_unique<AmqpServer>(node, *hub);
        HUB_ASSERT(server->listen("hub:5671").ok());
    }
    ~HubProcess() override { server.reset(); }
    std::unique_ptr<Hub> hub;
    std::unique_ptr<AmqpServer> server;
};

class AmqpServerTest : public ::testing::Test {
  protected:
    simnet::Simulator sim{7};
    simnet::SimNetwork net{sim, Random(8)};
    simnet::SimNode hub_node{sim, net, "hub"};
    simnet::SimNode a_node{sim, net, "a"};
    simnet::SimNode b_node{sim, net, "b"};

    void SetUp() override {
        hub_node.boot([](simnet::SimNode& n) { return std::make_unique<HubProcess>(n); });
    }
    Hub& hub() { return *static_cast<HubProcess*>(hub_node.process())->hub; }
    static conformance::DeviceClientConfig config() {
        conformance::DeviceClientConfig c;
        c.hub_address = "hub:5671";
        c.host_name = "hub";
        c.device_id = "dev1";
        c.key = kKey;
        return c;
    }
    void run(int64_t ms) { sim.run_until([] { return false; }, sim.now() + Duration::millis(ms)); }
    std::vector<std::string> disconnect_reasons() {
        std::vector<std::string> out;
        for (uint32_t p = 0; p < hub().monitor_stream().partition_count(); ++p) {
            for (const StoredEvent& e : hub().monitor_stream().events(p)) {
                const std::string body(e.message.body.begin(), e.message.body.end());
                if (body.find(kDeviceDisconnected) != std::string::npos) out.push_back(body);
            }
        }
        return out;
    }
};

TEST_F(AmqpServerTest, ANewConnectionForADeviceClosesTheOldOne) {
    conformance::AmqpDeviceClient a(a_node, config());
    int a_acked = 0;
    a.on_acknowledged = [&](const std::string&) { ++a_acked; };
    a.send("a1", Bytes{1});
    a.start();
    run(1000);
    ASSERT_EQ(a_acked, 1);
    EXPECT_EQ(a.connection_failures(), 0u);
    a.stop();  // A goes quiet but keeps nothing open...
    a.start();  // ...and reconnects, so two live connections would exist without the rule
    run(1000);
    conformance::AmqpDeviceClient b(b_node, config());
    int b_acked = 0;
    b.on_acknowledged = [&](const std::string&) { ++b_acked; };
    b.send("b1", Bytes{2});
    b.start();
    run(300);
    EXPECT_EQ(b_acked, 1);
    EXPECT_GE(a.connection_failures(), 1u);  // A was pushed out
    bool saw_400027 = false;
    for (const std::string& body : disconnect_reasons()) {
        saw_400027 |= body.find("ConnectionForcefullyClosedOnNewConnection") != std::string::npos;
    }
    EXPECT_TRUE(saw_400027);
    a.stop();
    b.stop();
    run(100);
}

}  // namespace
}  // namespace hub::amqp
