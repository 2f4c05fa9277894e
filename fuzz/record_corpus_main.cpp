// Records seed inputs for amqp_connection_fuzz: a simulated device client (our conformance
// client) opens a connection to the hub, does CBS and sends messages; the bytes it writes are
// saved in the fuzz target's chunk format, one file per session variant.
// Usage: record_corpus OUTPUT_DIR
#include <cstdio>
#include <fstream>
#include <string>

#include "conformance/amqp_device_client.hpp"
#include "fuzz/hub_world.hpp"

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

std::vector<hub::Bytes> record_session(uint32_t messages, const std::string& key) {
    fuzz::HubWorld world;
    HUB_ASSERT(world.server->listen(fuzz::kHubAddress).ok());
    std::vector<hub::Bytes> writes;
    world.net.set_tap([&](uint64_t, int side, hub::ByteView bytes) {
        if (side == 0) writes.emplace_back(bytes.begin(), bytes.end());
    });
    simnet::SimNode device(world.sim, world.net, "device");
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
    return writes;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: record_corpus OUTPUT_DIR\n");
        return 2;
    }
    const std::string dir = argv[1];
    const std::string wrong_key = "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const struct {
        const char* name;
        std::vector<hub::Bytes> writes;
        bool pause;
    } sessions[] = {
        {"d2c-3-messages", record_session(3, fuzz::kDeviceKey), true},
        {"d2c-3-messages-no-pauses", record_session(3, fuzz::kDeviceKey), false},
        {"cbs-wrong-key", record_session(1, wrong_key), true},
    };
    for (const auto& s : sessions) {
        const std::string path = dir + "/" + s.name;
        std::ofstream(path, std::ios::binary) << to_fuzz_input(s.writes, s.pause);
        std::printf("record_corpus: wrote %s (%zu writes)\n", path.c_str(), s.writes.size());
    }
    return 0;
}
