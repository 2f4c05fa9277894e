#include "hub/core/monitor.hpp"

#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "hub/core/hub.hpp"
#include "simnet/sim_node.hpp"

namespace hub {
namespace {

class MonitorTest : public ::testing::Test {
  protected:
    simnet::Simulator sim{1};
    simnet::SimNetwork net{sim, Random(2)};
    simnet::SimNode node{sim, net, "hub"};
    std::unique_ptr<Hub> hub = open();

    std::unique_ptr<Hub> open() {
        HubConfig config;
        config.host_name = "myhub";
        config.devices = {{"d1", ""}, {"d2", ""}};
        Result<std::unique_ptr<Hub>> h = Hub::open(node, config);
        EXPECT_TRUE(h.ok()) << h.status().to_string();
        return std::move(*h);
    }
    void run() { sim.run_until([] { return false; }, sim.now() + Duration::seconds(1)); }

    // Every monitoring event in the stream, in sequence-number order.
    std::vector<nlohmann::json> events() {
        std::map<std::string, nlohmann::json> by_sequence;
        for (uint32_t p = 0; p < hub->monitor_stream().partition_count(); ++p) {
            for (const StoredEvent& e : hub->monitor_stream().events(p)) {
                nlohmann::json j = nlohmann::json::parse(e.message.body);
                by_sequence[j["data"]["deviceConnectionStateEventInfo"]["sequenceNumber"]] = j;
            }
        }
        std::vector<nlohmann::json> out;
        for (auto& [seq, j] : by_sequence) out.push_back(j);
        return out;
    }
};

TEST_F(MonitorTest, EventsHaveTheEventGridShapeAndADurableOrder) {
    hub->monitor().device_connected("d1");
    hub->monitor().device_disconnected("d1", "connection reset");
    hub->monitor().connection_error("d2", "unauthorized: signature mismatch");
    run();
    const std::vector<nlohmann::json> all = events();
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0]["eventType"], kDeviceConnected);
    EXPECT_EQ(all[0]["subject"], "devices/d1");
    EXPECT_EQ(all[0]["data"]["hubName"], "myhub");
    EXPECT_EQ(all[0]["dataVersion"], "1");
    EXPECT_EQ(all[0]["eventTime"], "2026-01-01T00:00:00.000Z");
    EXPECT_EQ(all[0]["data"]["deviceConnectionStateEventInfo"]["sequenceNumber"].get<std::string>().size(),
              64u);
    EXPECT_EQ(all[1]["eventType"], kDeviceDisconnected);
    EXPECT_EQ(all[1]["data"]["reason"], "connection reset");
    EXPECT_EQ(all[2]["eventType"], kDeviceConnectionError);
    // Durable: a crash after the commit keeps them.
    hub.reset();
    Random random(3);
    node.sim_disk().crash(random);
    hub = open();
    EXPECT_EQ(events().size(), 3u);
}

// Reasons carry untrusted text (a token's audience): invalid UTF-8 must not throw out of the
// JSON encoder and take the hub down.
TEST_F(MonitorTest, InvalidUtf8InAReasonIsReplacedNotThrown) {
    hub->monitor().connection_error("d1", "audience '\xff\xfe' is not a device");
    run();
    const std::vector<nlohmann::json> all = events();
    ASSERT_EQ(all.size(), 1u);
    EXPECT_NE(all[0]["data"]["reason"].get<std::string>().find("\xef\xbf\xbd"), std::string::npos);
}

// The seed document's example: count failed connection attempts per device from the
// monitoring stream and disable a device after three.
TEST_F(MonitorTest, AWatchdogDisablesADeviceAfterThreeFailedAttempts) {
    for (int i = 0; i < 3; ++i) {
        hub->monitor().connection_error("d2", "unauthorized: signature mismatch");
    }
    hub->monitor().connection_error("d1", "unauthorized: token expired");
    run();
    std::map<std::string, int> failures;
    for (const nlohmann::json& e : events()) {
        if (e["eventType"] != kDeviceConnectionError) continue;
        const std::string id = e["data"]["deviceId"];
        if (++failures[id] == 3) {
            Device d = *hub->registry().find(id);
            d.status = DeviceStatus::disabled;
            d.status_reason = "3 failed connection attempts";
            ASSERT_TRUE(hub->registry().update(d, "*").ok());
        }
    }
    EXPECT_FALSE(hub->registry().find("d2")->enabled());
    EXPECT_EQ(hub->registry().find("d2")->status_reason, "3 failed connection attempts");
    EXPECT_TRUE(hub->registry().find("d1")->enabled());
}

}  // namespace
}  // namespace hub
