#include "simnet/sim_network.hpp"

namespace simnet {

using hub::Code;
using hub::Status;

class SimStream : public hub::Stream {
  public:
    SimStream(SimNetwork& net, uint64_t conn, int side, std::string peer)
        : net_(net), conn_(conn), side_(side), peer_(std::move(peer)) {}
    ~SimStream() override { net_.detach(conn_, side_); }

    void set_handlers(ReadHandler on_read, ClosedHandler on_closed) override {
        on_read_ = std::move(on_read);
        on_closed_ = std::move(on_closed);
        auto it = net_.connections_.find(conn_);
        if (it != net_.connections_.end() && !it->second.side[side_].inbox.empty()) {
            hub::Bytes early = std::move(it->second.side[side_].inbox);
            it->second.side[side_].inbox.clear();
            net_.sim_.schedule(net_.sim_.now(), [n = &net_, c = conn_, s = side_, early] {
                n->deliver(c, s, early);
            });
        }
    }
    void write(hub::ByteView bytes) override { net_.send(conn_, side_, bytes); }
    void close() override { net_.end(conn_, side_); }
    std::string peer() const override { return peer_; }

    void on_read(hub::ByteView bytes) {
        if (on_read_) on_read_(bytes);
    }
    bool has_handlers() const { return static_cast<bool>(on_read_); }
    void on_closed(const Status& s) {
        if (on_closed_) {
            ClosedHandler handler = std::move(on_closed_);
            on_closed_ = nullptr;
            handler(s);
        }
    }

  private:
    SimNetwork& net_;
    uint64_t conn_;
    int side_;
    std::string peer_;
    ReadHandler on_read_;
    ClosedHandler on_closed_;
};

class SimListener : public hub::Listener {
  public:
    SimListener(SimNetwork& net, std::string address) : net_(net), address_(std::move(address)) {}
    ~SimListener() override { net_.listeners_.erase(address_); }
    std::string address() const override { return address_; }

  private:
    SimNetwork& net_;
    std::string address_;
};

class HostNetwork : public hub::Network {
  public:
    HostNetwork(SimNetwork& net, std::string host, const uint64_t* epoch)
        : net_(net), host_(std::move(host)), epoch_(epoch) {}

    hub::Result<std::unique_ptr<hub::Listener>> listen(const std::string& address,
                                                       AcceptHandler on_accept) override {
        if (address.substr(0, address.find(':')) != host_) {
            return Status(Code::invalid_argument, host_ + " cannot listen on " + address);
        }
        if (net_.listeners_.contains(address)) {
            return Status(Code::already_exists, "address " + address + " is already in use");
        }
        net_.listeners_[address] = std::move(on_accept);
        return std::unique_ptr<hub::Listener>(new SimListener(net_, address));
    }
    void connect(const std::string& address, ConnectHandler on_connected) override {
        if (epoch_ == nullptr) {
            net_.connect(host_, address, std::move(on_connected));
            return;
        }
        // A process that crashed since it asked must not hear back.
        net_.connect(host_, address,
                     [epoch = epoch_, asked = *epoch_, on_connected = std::move(on_connected)](
                         hub::Result<std::unique_ptr<hub::Stream>> result) mutable {
                         if (*epoch == asked) {
                             on_connected(std::move(result));
                         }
                     });
    }

  private:
    SimNetwork& net_;
    std::string host_;
    const uint64_t* epoch_;
};

SimNetwork::SimNetwork(Simulator& sim, hub::Random random, NetworkConfig config)
    : sim_(sim), random_(random), config_(config) {}

std::unique_ptr<hub::Network> SimNetwork::network_for(std::string host, const uint64_t* epoch) {
    return std::make_unique<HostNetwork>(*this, std::move(host), epoch);
}

Duration SimNetwork::draw_latency() {
    return Duration{random_.uniform_between(config_.latency_min.ns, config_.latency_max.ns)};
}

void SimNetwork::connect(const std::string& from, const std::string& address,
                         hub::Network::ConnectHandler on_connected) {
    const Instant at = sim_.now() + draw_latency();
    sim_.schedule(at, [this, from, address, on_connected = std::move(on_connected)] {
        auto listener = listeners_.find(address);
        if (listener == listeners_.end()) {
            sim_.trace(from, "net.refused", address);
            on_connected(Status(Code::unavailable, "connection refused by " + address));
            return;
        }
        const uint64_t id = next_connection_++;
        Connection& conn = connections_[id];
        conn.name = from + "->" + address + "#" + std::to_string(id);
        auto client = std::make_unique<SimStream>(*this, id, 0, address);
        auto server = std::make_unique<SimStream>(*this, id, 1, from);
        conn.side[0].endpoint = client.get();
        conn.side[1].endpoint = server.get();
        sim_.trace(from, "net.connect", conn.name);
        listener->second(std::move(server));
        on_connected(std::unique_ptr<hub::Stream>(std::move(client)));
    });
}

void SimNetwork::send(uint64_t id, int from_side, hub::ByteView bytes) {
    auto it = connections_.find(id);
    if (it == connections_.end() || it->second.broken || bytes.empty() ||
        it->second.side[from_side].closed_by_owner) {
        return;
    }
    if (tap_) {
        tap_(id, from_side, bytes);
    }
    const int to = 1 - from_side;
    size_t pos = 0;
    const bool split = bytes.size() > 1 && random_.chance(config_.split_percent, 100);
    while (pos < bytes.size()) {
        size_t n = bytes.size() - pos;
        if (split && n > 1) {
            n = 1 + static_cast<size_t>(random_.uniform(n));
        }
        hub::Bytes chunk(bytes.begin() + pos, bytes.begin() + pos + n);
        pos += n;
        Side& dst = it->second.side[to];
        const int64_t at = std::max(sim_.now().ns + draw_latency().ns, dst.last_arrival_ns);
        dst.last_arrival_ns = at;
        sim_.schedule(Instant{at}, [this, id, to, chunk = std::move(chunk)] {
            deliver(id, to, chunk);
        });
    }
}

void SimNetwork::deliver(uint64_t id, int to_side, hub::Bytes chunk) {
    auto it = connections_.find(id);
    if (it == connections_.end() || it->second.broken) {
        return;
    }
    Side& side = it->second.side[to_side];
    if (side.endpoint == nullptr || side.closed_by_owner) {
        return;
    }
    if (!side.endpoint->has_handlers()) {
        side.inbox.insert(side.inbox.end(), chunk.begin(), chunk.end());
        return;
    }
    side.endpoint->on_read(chunk);
}

void SimNetwork::end(uint64_t id, int from_side) {
    auto it = connections_.find(id);
    if (it == connections_.end() || it->second.broken || it->second.side[from_side].closed_by_owner) {
        return;
    }
    Connection& conn = it->second;
    conn.side[from_side].closed_by_owner = true;
    // The FIN travels behind the data already in flight.
    const int to = 1 - from_side;
    Side& dst = conn.side[to];
    const int64_t at = std::max(sim_.now().ns + draw_latency().ns, dst.last_arrival_ns);
    dst.last_arrival_ns = at;
    sim_.schedule(Instant{at}, [this, id, to] { notify_closed(id, to, Status()); });
}

void SimNetwork::break_connection(uint64_t id) {
    auto it = connections_.find(id);
    if (it == connections_.end() || it->second.broken) {
        return;
    }
    Connection& conn = it->second;
    conn.broken = true;
    sim_.trace("net", "net.reset", conn.name);
    const Instant at = sim_.now() + draw_latency();
    for (int s = 0; s < 2; ++s) {
        sim_.schedule(at, [this, id, s] {
            notify_closed(id, s, Status(Code::unavailable, "connection reset"));
        });
    }
}

void SimNetwork::notify_closed(uint64_t id, int to_side, Status status) {
    auto it = connections_.find(id);
    if (it == connections_.end()) {
        return;
    }
    Side& side = it->second.side[to_side];
    if (side.endpoint != nullptr && !side.closed_by_owner) {
        side.endpoint->on_closed(status);
    }
}

void SimNetwork::detach(uint64_t id, int side) {
    auto it = connections_.find(id);
    if (it == connections_.end()) {
        return;
    }
    Connection& conn = it->second;
    if (!conn.side[side].closed_by_owner) {
        conn.side[side].closed_by_owner = true;
        break_connection(id);  // dropped without close (a crashed process): the peer sees a reset
    }
    conn.side[side].endpoint = nullptr;
    if (conn.side[0].endpoint == nullptr && conn.side[1].endpoint == nullptr) {
        connections_.erase(it);
    }
}

bool SimNetwork::reset_random_connection() {
    std::vector<uint64_t> open;
    for (const auto& [id, conn] : connections_) {
        if (!conn.broken) {
            open.push_back(id);
        }
    }
    if (open.empty()) {
        return false;
    }
    break_connection(open[random_.uniform(open.size())]);
    return true;
}

size_t SimNetwork::open_connections() const {
    size_t n = 0;
    for (const auto& [id, conn] : connections_) {
        n += conn.broken ? 0 : 1;
    }
    return n;
}

}  // namespace simnet
