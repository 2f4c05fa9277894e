// c2d_latency: cloud-to-device latency of a hub over AMQP (iothubd or any hub).
//
// One service connection (policy token) sends C2D messages to --devices device connections
// (devices load-0..N-1, key --key). Each device keeps --window messages outstanding: when it
// receives one it completes it and the service sends that device the next, so the loop is
// closed and the rate is what the hub sustains. Measured per message, on one clock:
//   delivery: service send -> the device holds the message (hub durable enqueue + lock + push)
//   accept:   service send -> the hub's `accepted` on the service link (durable enqueue)
// Runs on RealEnv: one thread, TLS on real sockets.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "conformance/amqp_device_client.hpp"
#include "conformance/amqp_service_client.hpp"
#include "bench/load_tool.hpp"

namespace {

struct Options {
    std::string address = "localhost:5671";
    std::string host_name = "localhost";
    std::string ca;
    std::string key;
    std::string policy = "iothubowner";
    std::string policy_key;
    int devices = 8;
    int window = 1;
    int messages = 500;  // per device
    int body_bytes = 64;
};

int usage() {
    std::fputs(
        "usage: c2d_latency --address HOST:PORT --ca CERT.pem --key DEVICE_KEY --policy-key KEY\n"
        "                   [--policy NAME] [--host-name H] [--devices N] [--window W]\n"
        "                   [--messages M] [--body-bytes B]\n"
        "Devices load-0 .. load-(N-1) must exist with DEVICE_KEY; the policy needs ServiceConnect.\n"
        "bench/run_c2d_latency.sh starts iothubd and runs this against it.\n",
        stderr);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (!bench::parse_flags(argc, argv, {{"--address", &o.address},
                                         {"--host-name", &o.host_name},
                                         {"--ca", &o.ca},
                                         {"--key", &o.key},
                                         {"--policy", &o.policy},
                                         {"--policy-key", &o.policy_key},
                                         {"--devices", &o.devices},
                                         {"--window", &o.window},
                                         {"--messages", &o.messages},
                                         {"--body-bytes", &o.body_bytes}})) {
        return usage();
    }
    // The hub keeps at most 50 messages per device queue (reference §3).
    if (o.key.empty() || o.policy_key.empty() || o.ca.empty() || o.devices < 1 ||
        o.window < 1 || o.window > 50 || o.messages < 1) {
        return usage();
    }
    bench::LoadEnv load("c2d-latency", o.ca);
    hub::server::RealEnv& env = load.env();

    conformance::ServiceClientConfig sc;
    sc.hub_address = o.address;
    sc.host_name = o.host_name;
    sc.policy_name = o.policy;
    sc.policy_key = o.policy_key;
    conformance::AmqpServiceClient service(env, sc);
    std::map<std::string, int64_t> sent_at;  // message id -> send time
    std::vector<int64_t> delivery_us, accept_us;
    std::vector<int> next(o.devices, 0);
    const int64_t total = static_cast<int64_t>(o.devices) * o.messages;
    const hub::Bytes body(static_cast<size_t>(o.body_bytes), 'c');
    hub::Status failure;
    auto send_next = [&](int d) {
        const std::string id = std::to_string(d) + "-" + std::to_string(next[d]++);
        sent_at[id] = load.now_us();
        service.send({"load-" + std::to_string(d), id, body, "none"});
    };
    service.on_sent = [&](const std::string& id, const hub::Status& s) {
        if (!s.ok()) failure = s;
        auto it = sent_at.find(id);
        if (it != sent_at.end()) accept_us.push_back(load.now_us() - it->second);
    };
    service.on_failed = [&](const hub::Status& s) {
        failure = s;
        env.stop();
    };

    std::vector<std::unique_ptr<conformance::AmqpDeviceClient>> devices;
    for (int d = 0; d < o.devices; ++d) {
        conformance::DeviceClientConfig dc;
        dc.hub_address = o.address;
        dc.host_name = o.host_name;
        dc.device_id = "load-" + std::to_string(d);
        dc.key = o.key;
        auto device = std::make_unique<conformance::AmqpDeviceClient>(env, dc);
        device->on_c2d = [&, d](const conformance::ReceivedC2d& m) {
            auto it = sent_at.find(m.message_id);
            if (it != sent_at.end()) {  // a redelivery after a lost lock counts once
                delivery_us.push_back(load.now_us() - it->second);
                sent_at.erase(it);
                if (next[d] < o.messages) send_next(d);
                if (static_cast<int64_t>(delivery_us.size()) == total) env.stop();
            }
            return conformance::C2dOutcome::complete;
        };
        device->start();
        devices.push_back(std::move(device));
    }
    service.start();
    for (int d = 0; d < o.devices; ++d) {
        for (int w = 0; w < o.window && next[d] < o.messages; ++w) send_next(d);
    }
    const hub::Status run = env.run_for(hub::Duration::seconds(600));
    const double seconds = static_cast<double>(load.now_us()) / 1e6;
    for (auto& d : devices) d->stop();
    service.stop();
    (void)env.run_for(hub::Duration::millis(200));
    if (!run.ok() || !failure.ok() || static_cast<int64_t>(delivery_us.size()) != total) {
        std::fprintf(stderr, "c2d_latency: %zu of %" PRId64 " delivered (%s %s)\n",
                     delivery_us.size(), total, run.to_string().c_str(),
                     failure.to_string().c_str());
        return 1;
    }
    std::printf("devices=%d window=%d body=%dB messages=%" PRId64 " seconds=%.2f rate=%.0f msg/s "
                "delivery_ms p50=%.2f p99=%.2f max=%.2f accept_ms p50=%.2f p99=%.2f\n",
                o.devices, o.window, o.body_bytes, total, seconds,
                static_cast<double>(total) / seconds, bench::percentile_ms(delivery_us, 0.50),
                bench::percentile_ms(delivery_us, 0.99), bench::percentile_ms(delivery_us, 1.0),
                bench::percentile_ms(accept_us, 0.50), bench::percentile_ms(accept_us, 0.99));
    return 0;
}
