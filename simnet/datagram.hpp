// DatagramNetwork: small messages between addresses, for the scale tier's compact devices.
//
// A message sent from one address ("host:port", or a bare host) to another arrives after a
// latency draw, at most message_bytes_max long, with no connection and no guarantee: each
// message may be dropped, duplicated (each copy draws its own latency) or given an extra long
// delay, with probabilities in parts per million from DatagramConfig. Independent latency
// draws reorder messages. Partitions between hosts (the same directed model as SimNetwork's,
// see PartitionTable) drop a message when it is sent and when it would arrive, so a cut also
// loses what was in flight. A message to an address nobody bound is dropped. Sending never
// reports loss: like UDP, only the receiver's silence tells.
//
// Determinism: every draw comes from the Random given at construction, in a fixed order per
// send (drop, duplicate, then latency and delay per copy); bindings live in a std::map.
// Handlers run from simulator events, never inside send(). A handler may send, bind, or
// unbind any address, its own included.
//
// Ownership: the Simulator must outlive the network; handlers must not outlive what they
// capture (unbind first).
//
// Example:
//   DatagramNetwork net(sim, sim.random_for("datagrams"),
//                       DatagramConfig{.drop_per_million = 10'000});  // 1% loss
//   (void)net.bind("hub:1", [](const std::string& from, hub::ByteView msg) { ... });
//   (void)net.send("dev-7:1", "hub:1", payload);
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hub/env/env.hpp"
#include "simnet/latency.hpp"
#include "simnet/partition_table.hpp"
#include "simnet/simulator.hpp"

namespace simnet {

constexpr uint32_t kPerMillion = 1'000'000;

struct DatagramConfig {
    LatencyModel latency = LatencyModel::uniform(Duration::micros(50), Duration::micros(500));
    uint32_t drop_per_million = 0;
    uint32_t duplicate_per_million = 0;
    // A delayed copy waits an extra `delay` draw on top of its latency (a congested path).
    uint32_t delay_per_million = 0;
    LatencyModel delay = LatencyModel::exponential(Duration::millis(100), Duration::seconds(2));
    // Larger sends are refused: the scale tier's messages are small (an MQTT-sized publish),
    // and the bound keeps a runaway sender from filling memory with in-flight copies.
    size_t message_bytes_max = 64 * 1024;
};

struct DatagramStats {
    uint64_t sent = 0;  // accepted by send()
    uint64_t delivered = 0;
    uint64_t dropped_random = 0;
    uint64_t dropped_partition = 0;
    uint64_t dropped_unbound = 0;
    uint64_t duplicated = 0;
    uint64_t delayed = 0;
    // Delivered after a message to the same address that was sent later.
    uint64_t reordered = 0;
    uint64_t refused_too_large = 0;
};

class DatagramNetwork {
  public:
    using Handler = std::function<void(const std::string& from, hub::ByteView message)>;

    DatagramNetwork(Simulator& sim, hub::Random random, DatagramConfig config = {});
    DatagramNetwork(const DatagramNetwork&) = delete;
    DatagramNetwork& operator=(const DatagramNetwork&) = delete;

    // Messages to `address` go to `handler`. Errors: already_exists if it is bound.
    hub::Status bind(const std::string& address, Handler handler);
    // Later arrivals to `address` are dropped. Unbinding an unbound address is a no-op.
    void unbind(const std::string& address);
    bool is_bound(const std::string& address) const { return bindings_.contains(address); }

    // Sends a copy of `message`. Errors: invalid_argument if it exceeds message_bytes_max.
    // Loss is silent (ok is returned).
    hub::Status send(const std::string& from, const std::string& to, hub::ByteView message);

    // Partitions between hosts, as in SimNetwork. REQUIRES: a != b.
    void partition(const std::string& a, const std::string& b, Direction dir = Direction::both);
    void heal(const std::string& a, const std::string& b);
    void heal_all();
    bool is_partitioned(const std::string& from_host, const std::string& to_host) const {
        return partitions_.is_partitioned(from_host, to_host);
    }
    const PartitionTable& partitions() const { return partitions_; }

    const DatagramStats& stats() const { return stats_; }
    const DatagramConfig& config() const { return config_; }
    // Messages scheduled but not yet arrived.
    uint64_t in_flight() const { return in_flight_; }

  private:
    struct Binding {
        std::unique_ptr<Handler> handler;  // stable address: a running handler may unbind
        uint64_t last_sequence = 0;        // of the latest-sent message delivered here
    };

    void arrive(uint64_t sequence, const std::string& from, const std::string& to,
                const hub::Bytes& message);

    Simulator& sim_;
    hub::Random random_;
    DatagramConfig config_;
    PartitionTable partitions_;
    std::map<std::string, Binding> bindings_;
    const Handler* dispatching_ = nullptr;        // the handler running now, if any
    std::vector<std::unique_ptr<Handler>> retired_;  // unbound while running; freed after
    uint64_t next_sequence_ = 1;
    uint64_t in_flight_ = 0;
    DatagramStats stats_;
};

}  // namespace simnet
