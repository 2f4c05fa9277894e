// SimNetwork: simulated byte streams between named hosts, with the faults TCP lets through.
//
// Addresses are "host:port". A connect reaches the listener registered at that address after
// one latency draw, or fails with unavailable ("connection refused") if there is none. Each
// write is cut at random points into chunks; every chunk gets its own latency draw (from
// NetworkConfig::latency) plus, with a bandwidth limit, its serialisation time behind the
// previous chunk, and chunks arrive in order, so every parser meets partial frames. Faults:
//
// - reset: both sides see unavailable "connection reset"; bytes in flight are lost. Destroying
//   an endpoint without close() resets its connection (a crashed process), unless
//   crash_notifies_peer is false: then the peer is not told (a half-open connection): its
//   stream stays open, its writes vanish, and only its own timeouts can notice.
// - partition(a, b, dir): cuts one or both directions between two hosts. A connect across a
//   cut waits connect_timeout and fails with unavailable "connection timed out". Bytes of an
//   open connection that meet a cut are held, not lost: TCP keeps retransmitting, so the
//   connection stalls. A heal within stall_reset_after delivers them late and in order; a
//   stall that lasts longer resets the connection. A connection whose bytes arrive but whose
//   acknowledgements cannot return (the reverse direction is cut) stalls the same way.
// - clog(host, d): every byte to or from the host waits until the clog ends (FoundationDB's
//   clogging); nothing is lost or reordered.
//
// Determinism: all draws come from the Random given at construction; hosts, connections and
// cuts live in ordered maps. Callbacks run from simulator events, never inside the call that
// caused them. NetworkStats counts what fired, for tests and fault-coverage reports.
//
// Ownership: the Simulator must outlive the network; the network must outlive every Stream,
// Listener and Network view it hands out.
//
// Example:
//   SimNetwork net(sim, sim.random_for("network"), NetworkConfig{.crash_notifies_peer = false});
//   net.partition("hub", "dev-3", Direction::a_to_b);  // the hub's bytes to dev-3 are held
//   sim.schedule(sim.now() + Duration::seconds(2), [&] { net.heal_all(); });
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "hub/env/env.hpp"
#include "simnet/latency.hpp"
#include "simnet/partition_table.hpp"
#include "simnet/simulator.hpp"

namespace simnet {

struct NetworkConfig {
    // One-way delay of each chunk, FIN and connect handshake.
    LatencyModel latency = LatencyModel::uniform(Duration::micros(50), Duration::micros(500));
    // Chance (out of 100) that a write is split into several chunks.
    uint32_t split_percent = 50;
    // Serialisation rate of each connection direction; 0 means unlimited.
    uint64_t bandwidth_bytes_per_second = 0;
    // How long a connect across a partition hangs before it fails (TCP's SYN retries, shortened).
    Duration connect_timeout = Duration::seconds(1);
    // How long a connection may stall behind a partition before TCP gives up and resets it.
    Duration stall_reset_after = Duration::seconds(5);
    // False: a destroyed endpoint leaves its peer half-open instead of resetting it.
    bool crash_notifies_peer = true;
};

// What the network did, for tests and fault-coverage reports.
struct NetworkStats {
    uint64_t connects_opened = 0;
    uint64_t connects_refused = 0;
    uint64_t connects_timed_out = 0;
    uint64_t resets = 0;        // connections broken (nemesis, crashed owner, long stall)
    uint64_t stall_resets = 0;  // of those: a stall outlasted stall_reset_after
    uint64_t stalls = 0;        // connections that stalled behind a partition
    uint64_t half_open = 0;     // endpoints destroyed without telling the peer
    uint64_t partitions_started = 0;
    uint64_t partitions_healed = 0;
    uint64_t clogs = 0;
    uint64_t bytes_sent = 0;
    uint64_t bytes_delivered = 0;
    uint64_t bytes_dropped = 0;  // lost at a reset, or sent to a closed or vanished endpoint
    uint64_t bytes_held = 0;     // waited behind a partition (later delivered or dropped)
};

class SimNetwork {
  public:
    SimNetwork(Simulator& sim, hub::Random random, NetworkConfig config = {});
    SimNetwork(const SimNetwork&) = delete;
    SimNetwork& operator=(const SimNetwork&) = delete;

    // A Network view for one host: what that host's Env returns from network(). When `epoch`
    // is given, connect results are dropped if *epoch changed meanwhile (the host crashed).
    std::unique_ptr<hub::Network> network_for(std::string host, const uint64_t* epoch = nullptr);

    // Resets one open connection chosen at random; returns false if none is open.
    bool reset_random_connection();
    // Resets every open connection with `host` on either end; returns how many.
    size_t reset_connections_of(const std::string& host);
    size_t open_connections() const;

    // Cuts traffic between hosts a and b (see the header comment). REQUIRES: a != b.
    void partition(const std::string& a, const std::string& b, Direction dir = Direction::both);
    void heal(const std::string& a, const std::string& b);
    void heal_all();
    // True if bytes from host `from` to host `to` are cut.
    bool is_partitioned(const std::string& from, const std::string& to) const {
        return partitions_.is_partitioned(from, to);
    }
    const PartitionTable& partitions() const { return partitions_; }

    // Delays every byte to or from `host` until now + d (extends a running clog).
    void clog(const std::string& host, Duration d);
    void unclog_all();
    bool is_clogged(const std::string& host) const;

    // Every host that has a Network view, sorted.
    std::vector<std::string> hosts() const { return {hosts_.begin(), hosts_.end()}; }
    // Hosts at either end of an open connection, sorted and unique.
    std::vector<std::string> hosts_with_connections() const;

    const NetworkStats& stats() const { return stats_; }
    const NetworkConfig& config() const { return config_; }

    // Sees every write before the network cuts it up (connection id, writing side 0 = the
    // connecting one, bytes): for recording sessions, e.g. fuzz corpora.
    using Tap = std::function<void(uint64_t connection, int from_side, hub::ByteView bytes)>;
    void set_tap(Tap tap) { tap_ = std::move(tap); }

  private:
    friend class SimStream;
    friend class SimListener;
    friend class HostNetwork;
    struct Chunk {
        hub::Bytes bytes;
        int64_t arrival_ns = 0;
        bool fin = false;   // the orderly close, travelling behind the data
        bool held = false;  // met a partition (counted once in bytes_held)
    };
    // The bytes one side wrote, on their way to the other side, in order.
    struct Lane {
        std::deque<Chunk> queue;
        int64_t last_arrival_ns = 0;  // keeps chunks in order
        int64_t link_free_ns = 0;     // when the sender's link finishes serialising (bandwidth)
        TimerId pump_timer = 0;       // the one pending pump event, if pump_at_ns >= 0
        int64_t pump_at_ns = -1;
    };
    struct Side {
        class SimStream* endpoint = nullptr;  // null once the owner destroyed it
        std::string host;
        hub::Bytes inbox;  // arrived before handlers were set, or before the flush ran
        bool inbox_fin = false;
        bool inbox_flush_scheduled = false;
        bool closed_by_owner = false;
    };
    struct Connection {
        Side side[2];
        Lane lane[2];  // lane[s] carries what side s wrote
        bool broken = false;
        std::string name;
        int64_t stalled_since_ns = -1;  // >= 0 while held behind a partition
        TimerId stall_timer = 0;
    };

    Duration draw_latency() { return config_.latency.draw(random_); }
    void connect(const std::string& from, const std::string& address,
                 hub::Network::ConnectHandler on_connected);
    void establish(const std::string& from, const std::string& address,
                   hub::Network::ConnectHandler on_connected);
    void send(uint64_t conn, int from_side, hub::ByteView bytes);
    void enqueue(uint64_t conn, int from_side, hub::Bytes bytes, bool fin);
    void schedule_pump(uint64_t conn, int from_side, int64_t at_ns);
    void pump(uint64_t conn, int from_side);
    void hold(uint64_t conn, int from_side);
    void deliver(uint64_t conn, int to_side, Chunk chunk);
    void schedule_inbox_flush(uint64_t conn, int to_side);
    void flush_inbox(uint64_t conn, int to_side);
    void end(uint64_t conn, int from_side);  // orderly close by one side's owner
    void break_connection(uint64_t conn);    // reset: both sides see an error
    void start_stall(uint64_t conn);
    void stall_timeout(uint64_t conn);
    void unstall_healed();
    void retime(uint64_t conn, int from_side);
    void cancel_timers(Connection& conn);
    int64_t clog_end_ns(const std::string& a, const std::string& b) const;
    void notify_closed(uint64_t conn, int to_side, hub::Status status);
    void detach(uint64_t conn, int side);

    Simulator& sim_;
    hub::Random random_;
    NetworkConfig config_;
    std::map<std::string, hub::Network::AcceptHandler> listeners_;
    std::map<uint64_t, Connection> connections_;
    std::set<std::string> hosts_;
    PartitionTable partitions_;
    std::map<std::string, int64_t> clogged_until_ns_;
    uint64_t next_connection_ = 1;
    NetworkStats stats_;
    Tap tap_;
};

}  // namespace simnet
