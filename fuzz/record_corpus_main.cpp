// Records seed inputs for amqp_connection_fuzz: a simulated device client (our conformance
// client) opens a connection to the hub, does CBS and sends messages; the bytes it writes are
// saved in the fuzz target's chunk format, one file per session variant. The sasl-* sessions
// come from a scriptable Proton peer that logs in with a SASL mechanism first (PLAIN with a
// device token, a PLAIN token the hub refuses, MSSBCBS then CBS).
// Usage: record_corpus OUTPUT_DIR
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "conformance/amqp_device_client.hpp"
#include "hub/amqp/amqp_test_peer.hpp"
#include "hub/auth/sas.hpp"
#include "fuzz/hub_world.hpp"
#include "hub/core/provisioning/enrollment.hpp"

namespace {

// Splits recorded writes into the fuzz format: chunks of at most 255 bytes, a 0 between writes
// when `pause` is set (lets virtual time pass where the real client waited for the hub).
std::string to_fuzz_input(const std::vector<hub::Bytes>& writes, bool pause) {
    std::string out;
    for (const hub::Bytes& w : writes) {
        for (size_t pos = 0; pos < w.size(); pos += 255) {
            const size_t n = std::min<size_t>(255, w.size() - pos);
            out.push_back(static_cast<char>(n));
            out.append(reinterpret_cast<const char*>(w.data() + pos), n);
        }
        if (pause) out.push_back('\0');
    }
    return out;
}

// What a client on a node "device" writes to a fresh hub world while `session` drives it.
std::vector<hub::Bytes> record(
    const std::function<void(fuzz::HubWorld&, simnet::SimNode& device)>& session) {
    fuzz::HubWorld world;
    HUB_ASSERT(world.server->listen(fuzz::kHubAddress).ok());
    std::vector<hub::Bytes> writes;
    world.net.set_tap([&](uint64_t, int side, hub::ByteView bytes) {
        if (side == 0) writes.emplace_back(bytes.begin(), bytes.end());
    });
    simnet::SimNode device(world.sim, world.net, "device");
    session(world, device);
    return writes;
}

// Our device client connects, does CBS with `key` and sends `messages` D2C messages.
std::vector<hub::Bytes> record_session(uint32_t messages, const std::string& key) {
    return record([&](fuzz::HubWorld& world, simnet::SimNode& device) {
        conformance::DeviceClientConfig config;
        config.hub_address = fuzz::kHubAddress;
        config.host_name = fuzz::kHubHostName;
        config.device_id = fuzz::kDeviceId;
        config.key = key;
        conformance::AmqpDeviceClient client(device, config);
        for (uint32_t i = 0; i < messages; ++i) {
            const std::string id = "m" + std::to_string(i);
            client.send(id, hub::Bytes(id.begin(), id.end()));
        }
        client.start();
        world.run_for(hub::Duration::seconds(2));
        client.stop();
        world.run_for(hub::Duration::seconds(1));
    });
}

// An AmqpTestPeer connects and logs in with `sasl`, then `script` drives it.
std::vector<hub::Bytes> record_peer_session(
    const hub::amqp::PeerSasl& sasl,
    const std::function<void(fuzz::HubWorld&, hub::amqp::AmqpTestPeer&)>& script) {
    return record([&](fuzz::HubWorld& world, simnet::SimNode& device) {
        std::unique_ptr<hub::amqp::AmqpTestPeer> peer;
        device.network().connect(fuzz::kHubAddress,
                                 [&](hub::Result<std::unique_ptr<hub::Stream>> s) {
                                     HUB_ASSERT(s.ok());
                                     peer = std::make_unique<hub::amqp::AmqpTestPeer>(
                                         device, std::move(*s));
                                     peer->start(sasl);
                                 });
        world.run_for(hub::Duration::millis(500));
        HUB_ASSERT(peer != nullptr);
        if (peer->opened) script(world, *peer);
        world.run_for(hub::Duration::seconds(1));
        peer.reset();
    });
}

// A SASL login, then `messages` D2C messages on dev1's link (after a put-token if `cbs`), then
// a close unless `stay` (the session then ends while the connection is open).
std::vector<hub::Bytes> record_sasl_session(const hub::amqp::PeerSasl& sasl, bool cbs,
                                            uint32_t messages, bool stay = false) {
    return record_peer_session(sasl, [&](fuzz::HubWorld& world, hub::amqp::AmqpTestPeer& peer) {
        const std::string address = std::string("/devices/") + fuzz::kDeviceId + "/messages/events";
        if (cbs) {
            const std::string sr = hub::auth::url_encode_strict(
                std::string(fuzz::kHubHostName) + "/devices/" + fuzz::kDeviceId);
            peer.put_token(sr, hub::auth::make_sas_token(
                                   sr, fuzz::kDeviceKey, world.node.utc_now_ms() / 1000 + 3600));
            world.run_for(hub::Duration::millis(300));
        }
        peer.open_sender(address);
        for (uint32_t i = 0; i < messages; ++i) peer.send(address, "m" + std::to_string(i), "x");
        world.run_for(hub::Duration::seconds(1));
        if (!stay) peer.close();
    });
}

// The Device Provisioning Service over AMQP, as the Node transport does it: a PLAIN login as
// the registration, a receiver and a sender on "{idScope}/registrations/{id}", a register
// request, then a poll for the operation it started.
std::vector<hub::Bytes> record_dps_session(const std::string& registration_id,
                                           const std::string& key, int64_t utc_s) {
    const std::string address = std::string(fuzz::kIdScope) + "/registrations/" + registration_id;
    const std::string token =
        hub::auth::make_sas_token(address, key, utc_s + 3600, "registration");
    const hub::amqp::PeerSasl sasl{"PLAIN", std::string(1, '\0') + address +
                                                std::string(1, '\0') + token};
    return record_peer_session(sasl, [&](fuzz::HubWorld& world, hub::amqp::AmqpTestPeer& peer) {
        peer.open_receiver(address);
        peer.open_sender(address);
        world.run_for(hub::Duration::millis(200));
        proton::message reg;
        reg.correlation_id("c-1");
        reg.properties().put("iotdps-operation-type", "iotdps-register");
        reg.properties().put("iotdps-forceRegistration", false);
        const std::string body =
            R"({"registrationId":")" + registration_id + R"(","payload":{"k":[1,"v"]}})";
        reg.body(proton::binary(body.begin(), body.end()));
        peer.send(address, reg);
        world.run_for(hub::Duration::millis(300));
        HUB_ASSERT(peer.received.size() == 1);
        const proton::binary answer = proton::get<proton::binary>(peer.received[0].body());
        const nlohmann::json assigning = nlohmann::json::parse(std::string(answer.begin(), answer.end()));
        proton::message poll;
        poll.correlation_id("c-2");
        poll.properties().put("iotdps-operation-type", "iotdps-get-operationstatus");
        poll.properties().put("iotdps-operation-id", assigning["operationId"].get<std::string>());
        peer.send(address, poll);
        world.run_for(hub::Duration::millis(300));
        HUB_ASSERT(peer.received.size() == 2);
        peer.close();
    });
}

std::string plain_login(const std::string& user, const std::string& key, int64_t utc_s,
                        int64_t ttl_s = 3600) {
    const std::string sr = hub::auth::url_encode_strict(std::string(fuzz::kHubHostName) +
                                                        "/devices/" + fuzz::kDeviceId);
    return std::string(1, '\0') + user + std::string(1, '\0') +
           hub::auth::make_sas_token(sr, key, utc_s + ttl_s);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: record_corpus OUTPUT_DIR\n");
        return 2;
    }
    const std::string dir = argv[1];
    const std::string wrong_key = "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const int64_t utc_s = [] {  // the hub world's clock at the start, the same on every run
        fuzz::HubWorld world;
        return world.node.utc_now_ms() / 1000;
    }();
    const struct {
        const char* name;
        std::vector<hub::Bytes> writes;
        bool pause;
        int trailing_pauses = 0;  // 100 ms of virtual time each, after the last write
    } sessions[] = {
        {"d2c-3-messages", record_session(3, fuzz::kDeviceKey), true},
        {"d2c-3-messages-no-pauses", record_session(3, fuzz::kDeviceKey), false},
        {"cbs-wrong-key", record_session(1, wrong_key), true},
        {"sasl-plain-device-d2c",
         record_sasl_session({"PLAIN", plain_login("dev1@sas.hub", fuzz::kDeviceKey, utc_s)},
                             false, 2),
         true},
        {"sasl-plain-wrong-key",
         record_sasl_session({"PLAIN", plain_login("dev1@sas.hub", wrong_key, utc_s)}, false, 1),
         true},
        {"sasl-plain-dps",
         record_sasl_session({"PLAIN", plain_login("0ne00000001/registrations/dev1",
                                                   fuzz::kDeviceKey, utc_s)},
                             false, 1),
         true},
        {"sasl-mssbcbs-then-cbs", record_sasl_session({"MSSBCBS", ""}, true, 1), true},
        {"dps-register-and-poll", record_dps_session(fuzz::kEnrollmentId, fuzz::kDeviceKey, utc_s),
         true},
        {"dps-group-register-and-poll",
         record_dps_session("grp1", *hub::provisioning::derive_device_key(fuzz::kDeviceKey, "grp1"),
                            utc_s),
         true},
        // A 5 s token (outlasting the recording) and no renewal: the trailing pauses (6 s) let
        // it lapse mid-connection when replayed.
        {"sasl-plain-token-expires",
         record_sasl_session({"PLAIN", plain_login("dev1@sas.hub", fuzz::kDeviceKey, utc_s, 5)},
                             false, 1, /*stay=*/true),
         true, 60},
    };
    for (const auto& s : sessions) {
        const std::string path = dir + "/" + s.name;
        std::ofstream(path, std::ios::binary)
            << to_fuzz_input(s.writes, s.pause) + std::string(s.trailing_pauses, '\0');
        std::printf("record_corpus: wrote %s (%zu writes)\n", path.c_str(), s.writes.size());
    }
    return 0;
}
