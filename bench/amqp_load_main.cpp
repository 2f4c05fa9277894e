// amqp_load: a load generator for a hub's AMQP D2C ingest (iothubd or any hub).
//
// Opens --connections device connections (devices load-0..N-1, all with --key), each keeping
// --window messages of --body-bytes unacknowledged, until --messages per device are
// acknowledged. Prints durable-ack throughput and ack latency percentiles (from queueing a
// message to its `accepted`). Runs on RealEnv: one thread, TLS on real sockets.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "conformance/amqp_device_client.hpp"
#include "bench/load_tool.hpp"

namespace {

struct Options {
    std::string address = "localhost:5671";
    std::string host_name = "localhost";
    std::string ca;
    std::string key;
    int connections = 8;
    int window = 32;
    int messages = 2000;
    int body_bytes = 256;
    int hold_seconds = 0;  // after the load, keep the connections open (idle) this long
};

int usage() {
    std::fputs("usage: amqp_load --address HOST:PORT --ca CERT.pem --key BASE64 [--host-name H]\n"
               "                 [--connections N] [--window W] [--messages M] [--body-bytes B]\n"
               "                 [--hold-seconds S]  (keep the connections open, idle, after)\n"
               "Devices load-0 .. load-(N-1) must exist on the hub with that key\n"
               "(iothubd --device load-0:KEY ...; bench/run_amqp_load.sh does it).\n", stderr);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (!bench::parse_flags(argc, argv, {{"--address", &o.address},
                                         {"--host-name", &o.host_name},
                                         {"--ca", &o.ca},
                                         {"--key", &o.key},
                                         {"--connections", &o.connections},
                                         {"--window", &o.window},
                                         {"--messages", &o.messages},
                                         {"--body-bytes", &o.body_bytes},
                                         {"--hold-seconds", &o.hold_seconds}})) {
        return usage();
    }
    if (o.key.empty() || o.ca.empty() || o.connections < 1 || o.window < 1 || o.messages < 1) {
        return usage();
    }
    bench::LoadEnv load("amqp-load", o.ca);
    hub::server::RealEnv& env = load.env();
    std::vector<std::unique_ptr<conformance::AmqpDeviceClient>> clients;
    std::vector<int64_t> latencies_us;
    latencies_us.reserve(static_cast<size_t>(o.connections) * o.messages);
    int64_t acked = 0;
    const int64_t total = static_cast<int64_t>(o.connections) * o.messages;
    const hub::Bytes body(static_cast<size_t>(o.body_bytes), 'x');
    std::vector<std::vector<int64_t>> queued_at(o.connections, std::vector<int64_t>(o.messages));
    std::vector<int> next(o.connections, 0);
    for (int c = 0; c < o.connections; ++c) {
        conformance::DeviceClientConfig dc;
        dc.hub_address = o.address;
        dc.host_name = o.host_name;
        dc.device_id = "load-" + std::to_string(c);
        dc.key = o.key;
        dc.in_flight_max = static_cast<uint32_t>(o.window);
        auto client = std::make_unique<conformance::AmqpDeviceClient>(env, dc);
        conformance::AmqpDeviceClient* raw = client.get();
        auto send_next = [&, c, raw] {
            const int n = next[c]++;
            queued_at[c][n] = load.now_us();
            raw->send(std::to_string(n), body);
        };
        client->on_acknowledged = [&, c, send_next](const std::string& id) {
            latencies_us.push_back(load.now_us() - queued_at[c][std::stoi(id)]);
            if (++acked == total) env.stop();
            if (next[c] < o.messages) send_next();
        };
        for (int w = 0; w < o.window && next[c] < o.messages; ++w) send_next();
        client->start();
        clients.push_back(std::move(client));
    }
    const hub::Status s = env.run_for(hub::Duration::seconds(600));
    const double seconds = static_cast<double>(load.now_us()) / 1e6;
    if (o.hold_seconds > 0) {  // idle connections, for memory measurements of the hub
        std::printf("amqp_load: holding %d idle connections for %d s\n", o.connections,
                    o.hold_seconds);
        std::fflush(stdout);
        (void)env.run_for(hub::Duration::seconds(o.hold_seconds));
    }
    for (auto& c : clients) c->stop();
    (void)env.run_for(hub::Duration::millis(200));
    if (!s.ok() || acked != total) {
        std::fprintf(stderr, "amqp_load: %" PRId64 " of %" PRId64 " acknowledged (%s)\n", acked,
                     total, s.to_string().c_str());
        return 1;
    }
    std::printf("connections=%d window=%d body=%dB messages=%" PRId64 " seconds=%.2f "
                "rate=%.0f msg/s ack_latency_ms p50=%.2f p99=%.2f max=%.2f\n",
                o.connections, o.window, o.body_bytes, total, seconds,
                static_cast<double>(total) / seconds, bench::percentile_ms(latencies_us, 0.50),
                bench::percentile_ms(latencies_us, 0.99), bench::percentile_ms(latencies_us, 1.0));
    return 0;
}
