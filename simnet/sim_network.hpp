// SimNetwork: simulated byte streams between named hosts, with latency, splits and resets.
//
// Addresses are "host:port". A connect reaches the listener registered at that address after
// one latency draw, or fails with unavailable ("connection refused") if there is none. Each
// write is cut at random points into chunks that arrive in order after a latency draw, so
// every parser meets partial frames. reset() breaks a connection: both sides see an error and
// bytes in flight are lost. Destroying an endpoint without close() resets its connection (a
// crashed process).
//
// Deterministic: all draws come from the Random given at construction. Callbacks run from
// simulator events, never inside the call that caused them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "hub/env/env.hpp"
#include "simnet/simulator.hpp"

namespace simnet {

struct NetworkConfig {
    Duration latency_min = Duration::micros(50);
    Duration latency_max = Duration::micros(500);
    // Chance (out of 100) that a write is split into several chunks.
    uint32_t split_percent = 50;
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
    size_t open_connections() const;

    // Sees every write before the network cuts it up (connection id, writing side 0 = the
    // connecting one, bytes): for recording sessions, e.g. fuzz corpora.
    using Tap = std::function<void(uint64_t connection, int from_side, hub::ByteView bytes)>;
    void set_tap(Tap tap) { tap_ = std::move(tap); }

  private:
    friend class SimStream;
    friend class SimListener;
    friend class HostNetwork;
    struct Side {
        class SimStream* endpoint = nullptr;  // null once the owner destroyed it
        int64_t last_arrival_ns = 0;          // keeps chunks in order
        hub::Bytes inbox;                     // arrived before handlers were set
        bool closed_by_owner = false;
    };
    struct Connection {
        Side side[2];
        bool broken = false;
        std::string name;
    };

    Duration draw_latency();
    void connect(const std::string& from, const std::string& address,
                 hub::Network::ConnectHandler on_connected);
    void send(uint64_t conn, int from_side, hub::ByteView bytes);
    void deliver(uint64_t conn, int to_side, hub::Bytes chunk);
    void end(uint64_t conn, int from_side);  // orderly close by one side's owner
    void break_connection(uint64_t conn);    // reset: both sides see an error
    void notify_closed(uint64_t conn, int to_side, hub::Status status);
    void detach(uint64_t conn, int side);

    Simulator& sim_;
    hub::Random random_;
    NetworkConfig config_;
    std::map<std::string, hub::Network::AcceptHandler> listeners_;
    std::map<uint64_t, Connection> connections_;
    uint64_t next_connection_ = 1;
    Tap tap_;
};

}  // namespace simnet
