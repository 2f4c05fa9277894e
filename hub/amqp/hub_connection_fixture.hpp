// HubConnectionTest: a hub and HubConnections on a simulated node, reached by AmqpTestPeers
// over simulated streams (test-only). The fixture keeps every connection until the test ends,
// so tests can look at a connection's state after the peer is gone.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hub/amqp/amqp_test_peer.hpp"
#include "hub/amqp/hub_connection.hpp"
#include "hub/auth/sas.hpp"
#include "simnet/sim_node.hpp"

namespace hub::amqp {

inline constexpr const char* kKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
inline constexpr const char* kOtherKey = "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
inline constexpr const char* kHost = "myhub.azure-devices.net";
inline const std::string kD2c1 = "/devices/dev1/messages/events";
inline const std::string kD2c2 = "/devices/dev2/messages/events";
inline const std::string kC2d1 = "/devices/dev1/messages/devicebound";

inline std::string plain(const std::string& user, const std::string& password) {
    return std::string(1, '\0') + user + std::string(1, '\0') + password;
}

class HubConnectionTest : public ::testing::Test {
  protected:
    simnet::Simulator sim{11};
    simnet::SimNetwork net{sim, Random(12)};
    simnet::SimNode hub_node{sim, net, "hub"};
    simnet::SimNode client_node{sim, net, "client"};
    std::unique_ptr<Hub> hub;
    std::unique_ptr<Listener> listener;
    std::vector<std::unique_ptr<HubConnection>> connections;

    void SetUp() override {
        HubConfig config;
        config.host_name = kHost;
        config.devices = {{"dev1", kKey}, {"dev2", kKey}};
        hub = std::move(*Hub::open(hub_node, config));
        listener = std::move(*hub_node.network().listen("hub:5671", [this](std::unique_ptr<Stream> s) {
            connections.push_back(std::make_unique<HubConnection>(
                hub_node, *hub, std::move(s), connections.size() + 1, [] {},
                [](const std::string&) {}));
            connections.back()->start();
        }));
    }
    void TearDown() override {
        connections.clear();
        listener.reset();
    }
    void run(int64_t ms) { sim.run_until([] { return false; }, sim.now() + Duration::millis(ms)); }
    int64_t now_s() { return hub_node.utc_now_ms() / 1000; }

    std::unique_ptr<AmqpTestPeer> connect(std::optional<PeerSasl> sasl) {
        std::unique_ptr<AmqpTestPeer> peer;
        client_node.network().connect("hub:5671", [&](Result<std::unique_ptr<Stream>> s) {
            HUB_ASSERT(s.ok());
            peer = std::make_unique<AmqpTestPeer>(client_node, std::move(*s));
            peer->start(sasl);
        });
        run(500);
        HUB_ASSERT(peer != nullptr);
        return peer;
    }
    std::string device_sr(const std::string& id) {
        return auth::url_encode_strict(std::string(kHost) + "/devices/" + id);
    }
    std::string device_token(const std::string& id, int64_t ttl_s, const char* key = kKey) {
        return auth::make_sas_token(device_sr(id), key, now_s() + ttl_s);
    }
    std::string service_token(const std::string& policy, int64_t ttl_s) {
        return auth::make_sas_token(kHost, hub->registry().policy(policy)->primary_key,
                                    now_s() + ttl_s, policy);
    }
    std::vector<std::string> monitor_events(const char* type) {
        std::vector<std::string> out;
        for (uint32_t p = 0; p < hub->monitor_stream().partition_count(); ++p) {
            for (const StoredEvent& e : hub->monitor_stream().events(p)) {
                const std::string body(e.message.body.begin(), e.message.body.end());
                if (body.find(type) != std::string::npos) out.push_back(body);
            }
        }
        return out;
    }
    size_t d2c_count() {
        size_t n = 0;
        for (uint32_t p = 0; p < hub->d2c().partition_count(); ++p) n += hub->d2c().events(p).size();
        return n;
    }
};

}  // namespace hub::amqp
