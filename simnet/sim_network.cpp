#include "simnet/sim_network.hpp"

#include <algorithm>

namespace simnet {

using hub::Code;
using hub::Status;

namespace {

__extension__ typedef unsigned __int128 U128;

}  // namespace

class SimStream : public hub::Stream {
  public:
    SimStream(SimNetwork& net, uint64_t conn, int side, std::string peer)
        : net_(net), conn_(conn), side_(side), peer_(std::move(peer)) {}
    ~SimStream() override { net_.detach(conn_, side_); }

    void set_handlers(ReadHandler on_read, ClosedHandler on_closed) override {
        on_read_ = std::move(on_read);
        on_closed_ = std::move(on_closed);
        net_.schedule_inbox_flush(conn_, side_);
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
        if (host_of(address) != host_) {
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
    : sim_(sim), random_(random), config_(config) {
    HUB_ASSERT(config_.split_percent <= 100);
    HUB_ASSERT(config_.connect_timeout.ns >= 0 && config_.stall_reset_after.ns >= 0);
}

std::unique_ptr<hub::Network> SimNetwork::network_for(std::string host, const uint64_t* epoch) {
    HUB_ASSERT(!host.empty() && host.find(':') == std::string::npos);
    hosts_.insert(host);
    return std::make_unique<HostNetwork>(*this, std::move(host), epoch);
}

// --------------------------------------------------------------------------------------------
// Connecting

void SimNetwork::connect(const std::string& from, const std::string& address,
                         hub::Network::ConnectHandler on_connected) {
    const std::string to = host_of(address);
    if (partitions_.is_split(from, to)) {
        // The SYN or its answer is lost; TCP retries until the caller's patience runs out.
        sim_.schedule(sim_.now() + config_.connect_timeout,
                      [this, from, address, on_connected = std::move(on_connected)] {
                          ++stats_.connects_timed_out;
                          sim_.trace(from, "net.connect_timeout", address);
                          on_connected(
                              Status(Code::unavailable, "connection timed out: " + address));
                      });
        return;
    }
    const int64_t at = std::max(sim_.now().ns + draw_latency().ns, clog_end_ns(from, to));
    sim_.schedule(Instant{at}, [this, from, address, on_connected = std::move(on_connected)] {
        establish(from, address, on_connected);
    });
}

void SimNetwork::establish(const std::string& from, const std::string& address,
                           hub::Network::ConnectHandler on_connected) {
    auto listener = listeners_.find(address);
    if (listener == listeners_.end()) {
        ++stats_.connects_refused;
        sim_.trace(from, "net.refused", address);
        on_connected(Status(Code::unavailable, "connection refused by " + address));
        return;
    }
    const uint64_t id = next_connection_++;
    Connection& conn = connections_[id];
    conn.name = from + "->" + address + "#" + std::to_string(id);
    conn.side[0].host = from;
    conn.side[1].host = host_of(address);
    auto client = std::make_unique<SimStream>(*this, id, 0, address);
    auto server = std::make_unique<SimStream>(*this, id, 1, from);
    conn.side[0].endpoint = client.get();
    conn.side[1].endpoint = server.get();
    ++stats_.connects_opened;
    sim_.trace(from, "net.connect", conn.name);
    listener->second(std::move(server));
    on_connected(std::unique_ptr<hub::Stream>(std::move(client)));
}

// --------------------------------------------------------------------------------------------
// Moving bytes

void SimNetwork::send(uint64_t id, int from_side, hub::ByteView bytes) {
    auto it = connections_.find(id);
    if (it == connections_.end() || it->second.broken || bytes.empty() ||
        it->second.side[from_side].closed_by_owner) {
        return;
    }
    if (tap_) {
        tap_(id, from_side, bytes);
    }
    stats_.bytes_sent += bytes.size();
    size_t pos = 0;
    const bool split = bytes.size() > 1 && random_.chance(config_.split_percent, 100);
    while (pos < bytes.size()) {
        size_t n = bytes.size() - pos;
        if (split && n > 1) {
            n = 1 + static_cast<size_t>(random_.uniform(n));
        }
        hub::Bytes chunk(bytes.begin() + pos, bytes.begin() + pos + n);
        pos += n;
        enqueue(id, from_side, std::move(chunk), /*fin=*/false);
    }
    HUB_ASSERT(pos == bytes.size());
}

void SimNetwork::enqueue(uint64_t id, int from_side, hub::Bytes bytes, bool fin) {
    Lane& lane = connections_.at(id).lane[from_side];
    int64_t depart_ns = sim_.now().ns;
    if (config_.bandwidth_bytes_per_second > 0 && !bytes.empty()) {
        // Serialisation: this chunk leaves the wire after the previous one, at the link's rate.
        const uint64_t rate = config_.bandwidth_bytes_per_second;
        const U128 byte_ns = U128{bytes.size()} * 1000000000u;
        const auto serialise_ns = static_cast<int64_t>((byte_ns + rate - 1) / rate);
        depart_ns = std::max(depart_ns, lane.link_free_ns) + serialise_ns;
        lane.link_free_ns = depart_ns;
    }
    const int64_t at = std::max(depart_ns + draw_latency().ns, lane.last_arrival_ns);
    HUB_ASSERT(at >= lane.last_arrival_ns);
    lane.last_arrival_ns = at;
    lane.queue.push_back(Chunk{std::move(bytes), at, fin, false});
    schedule_pump(id, from_side, at);
}

void SimNetwork::schedule_pump(uint64_t id, int from_side, int64_t at_ns) {
    Lane& lane = connections_.at(id).lane[from_side];
    if (lane.pump_at_ns >= 0 && lane.pump_at_ns <= at_ns) {
        return;  // an earlier pump will reschedule itself for the rest
    }
    if (lane.pump_at_ns >= 0) {
        sim_.cancel(lane.pump_timer);
    }
    lane.pump_at_ns = at_ns;
    lane.pump_timer = sim_.schedule(Instant{at_ns}, [this, id, from_side] {
        auto it = connections_.find(id);
        if (it != connections_.end()) {
            it->second.lane[from_side].pump_at_ns = -1;
            pump(id, from_side);
        }
    });
}

// Delivers every chunk of the lane that is due, unless a partition or clog stops it.
void SimNetwork::pump(uint64_t id, int from_side) {
    const int to_side = 1 - from_side;
    for (;;) {
        auto it = connections_.find(id);  // again after each delivery: callbacks may close
        if (it == connections_.end() || it->second.broken) {
            return;
        }
        Connection& conn = it->second;
        Lane& lane = conn.lane[from_side];
        if (lane.queue.empty()) {
            return;
        }
        const int64_t now = sim_.now().ns;
        if (lane.queue.front().arrival_ns > now) {
            schedule_pump(id, from_side, lane.queue.front().arrival_ns);
            return;
        }
        const std::string& src = conn.side[from_side].host;
        const std::string& dst = conn.side[to_side].host;
        if (partitions_.is_partitioned(src, dst)) {
            hold(id, from_side);  // a heal re-times the lane and pumps it again
            return;
        }
        if (const int64_t unclog = clog_end_ns(src, dst); unclog > now) {
            schedule_pump(id, from_side, unclog);
            return;
        }
        if (partitions_.is_partitioned(dst, src)) {
            start_stall(id);  // the bytes arrive, but their acknowledgements cannot return
        }
        Chunk chunk = std::move(lane.queue.front());
        lane.queue.pop_front();
        deliver(id, to_side, std::move(chunk));
    }
}

void SimNetwork::hold(uint64_t id, int from_side) {
    Lane& lane = connections_.at(id).lane[from_side];
    for (Chunk& chunk : lane.queue) {
        if (!chunk.held) {
            chunk.held = true;
            stats_.bytes_held += chunk.bytes.size();
        }
    }
    start_stall(id);
}

void SimNetwork::deliver(uint64_t id, int to_side, Chunk chunk) {
    Side& side = connections_.at(id).side[to_side];
    if (side.endpoint == nullptr || side.closed_by_owner) {
        stats_.bytes_dropped += chunk.bytes.size();  // the reader is gone (or half-open)
        return;
    }
    stats_.bytes_delivered += chunk.bytes.size();
    if (!side.endpoint->has_handlers() || side.inbox_flush_scheduled) {
        // Early bytes wait in the inbox; later ones queue behind them to stay in order.
        side.inbox.insert(side.inbox.end(), chunk.bytes.begin(), chunk.bytes.end());
        side.inbox_fin = side.inbox_fin || chunk.fin;
        return;
    }
    if (chunk.fin) {
        notify_closed(id, to_side, Status());
        return;
    }
    side.endpoint->on_read(chunk.bytes);
}

void SimNetwork::schedule_inbox_flush(uint64_t id, int to_side) {
    auto it = connections_.find(id);
    if (it == connections_.end()) {
        return;
    }
    Side& side = it->second.side[to_side];
    if (side.inbox_flush_scheduled || (side.inbox.empty() && !side.inbox_fin)) {
        return;
    }
    side.inbox_flush_scheduled = true;
    sim_.schedule(sim_.now(), [this, id, to_side] { flush_inbox(id, to_side); });
}

void SimNetwork::flush_inbox(uint64_t id, int to_side) {
    auto it = connections_.find(id);
    if (it == connections_.end()) {
        return;
    }
    Side& side = it->second.side[to_side];
    side.inbox_flush_scheduled = false;
    const hub::Bytes early = std::move(side.inbox);
    const bool fin = side.inbox_fin;
    side.inbox.clear();
    side.inbox_fin = false;
    if (it->second.broken || side.endpoint == nullptr || side.closed_by_owner) {
        return;
    }
    if (!early.empty()) {
        side.endpoint->on_read(early);  // may destroy the stream
    }
    if (fin) {
        notify_closed(id, to_side, Status());
    }
}

// --------------------------------------------------------------------------------------------
// Closing and resets

void SimNetwork::end(uint64_t id, int from_side) {
    auto it = connections_.find(id);
    if (it == connections_.end() || it->second.broken ||
        it->second.side[from_side].closed_by_owner) {
        return;
    }
    it->second.side[from_side].closed_by_owner = true;
    enqueue(id, from_side, hub::Bytes{}, /*fin=*/true);  // the FIN travels behind the data
}

void SimNetwork::cancel_timers(Connection& conn) {
    for (Lane& lane : conn.lane) {
        if (lane.pump_at_ns >= 0) {
            sim_.cancel(lane.pump_timer);
            lane.pump_at_ns = -1;
        }
    }
    if (conn.stall_timer != 0) {
        sim_.cancel(conn.stall_timer);
        conn.stall_timer = 0;
    }
}

void SimNetwork::break_connection(uint64_t id) {
    auto it = connections_.find(id);
    if (it == connections_.end() || it->second.broken) {
        return;
    }
    Connection& conn = it->second;
    conn.broken = true;
    ++stats_.resets;
    for (Lane& lane : conn.lane) {
        for (const Chunk& chunk : lane.queue) {
            stats_.bytes_dropped += chunk.bytes.size();
        }
        lane.queue.clear();
    }
    cancel_timers(conn);
    conn.stalled_since_ns = -1;
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
        if (config_.crash_notifies_peer) {
            break_connection(id);  // dropped without close (a crashed process): the peer resets
        } else if (!conn.broken && conn.side[1 - side].endpoint != nullptr) {
            ++stats_.half_open;  // the peer is not told; its writes will vanish
            sim_.trace("net", "net.half_open", conn.name);
        }
    }
    conn.side[side].endpoint = nullptr;
    if (conn.side[0].endpoint == nullptr && conn.side[1].endpoint == nullptr) {
        cancel_timers(conn);
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

size_t SimNetwork::reset_connections_of(const std::string& host) {
    std::vector<uint64_t> victims;
    for (const auto& [id, conn] : connections_) {
        if (!conn.broken && (conn.side[0].host == host || conn.side[1].host == host)) {
            victims.push_back(id);
        }
    }
    for (uint64_t id : victims) {
        break_connection(id);
    }
    return victims.size();
}

size_t SimNetwork::open_connections() const {
    size_t n = 0;
    for (const auto& [id, conn] : connections_) {
        n += conn.broken ? 0 : 1;
    }
    return n;
}

std::vector<std::string> SimNetwork::hosts_with_connections() const {
    std::set<std::string> hosts;
    for (const auto& [id, conn] : connections_) {
        if (!conn.broken) {
            hosts.insert(conn.side[0].host);
            hosts.insert(conn.side[1].host);
        }
    }
    return {hosts.begin(), hosts.end()};
}

// --------------------------------------------------------------------------------------------
// Partitions and stalls

void SimNetwork::partition(const std::string& a, const std::string& b, Direction dir) {
    if (partitions_.partition(a, b, dir)) {
        ++stats_.partitions_started;
        const char* how = dir == Direction::both ? "<->" : dir == Direction::a_to_b ? "->" : "<-";
        sim_.trace("net", "net.partition", a + how + b);
    }
}

void SimNetwork::heal(const std::string& a, const std::string& b) {
    if (partitions_.heal(a, b)) {
        ++stats_.partitions_healed;
        sim_.trace("net", "net.heal", a + "<->" + b);
        unstall_healed();
    }
}

void SimNetwork::heal_all() {
    if (partitions_.heal_all() > 0) {
        ++stats_.partitions_healed;
        sim_.trace("net", "net.heal", "all");
        unstall_healed();
    }
}

void SimNetwork::start_stall(uint64_t id) {
    Connection& conn = connections_.at(id);
    if (conn.stalled_since_ns >= 0) {
        return;
    }
    conn.stalled_since_ns = sim_.now().ns;
    ++stats_.stalls;
    sim_.trace("net", "net.stall", conn.name);
    conn.stall_timer = sim_.schedule(sim_.now() + config_.stall_reset_after, [this, id] {
        auto it = connections_.find(id);
        if (it != connections_.end()) {
            it->second.stall_timer = 0;
            stall_timeout(id);
        }
    });
}

void SimNetwork::stall_timeout(uint64_t id) {
    Connection& conn = connections_.at(id);
    HUB_ASSERT(conn.stalled_since_ns >= 0);  // a heal cancels the timer
    ++stats_.stall_resets;
    sim_.trace("net", "net.stall_reset", conn.name);
    break_connection(id);
}

// After a heal: every stalled connection whose hosts can talk again retransmits what it held.
void SimNetwork::unstall_healed() {
    for (auto& [id, conn] : connections_) {
        if (conn.broken || conn.stalled_since_ns < 0 ||
            partitions_.is_split(conn.side[0].host, conn.side[1].host)) {
            continue;
        }
        conn.stalled_since_ns = -1;
        if (conn.stall_timer != 0) {
            sim_.cancel(conn.stall_timer);
            conn.stall_timer = 0;
        }
        sim_.trace("net", "net.unstall", conn.name);
        retime(id, 0);
        retime(id, 1);
    }
}

// Held chunks leave again now (a retransmission): new arrival times, same order.
void SimNetwork::retime(uint64_t id, int from_side) {
    Lane& lane = connections_.at(id).lane[from_side];
    if (lane.queue.empty()) {
        return;
    }
    const int64_t resend_ns = sim_.now().ns + draw_latency().ns;
    int64_t previous_ns = 0;
    for (Chunk& chunk : lane.queue) {
        chunk.arrival_ns = std::max({chunk.arrival_ns, resend_ns, previous_ns});
        previous_ns = chunk.arrival_ns;
    }
    lane.last_arrival_ns = std::max(lane.last_arrival_ns, previous_ns);
    schedule_pump(id, from_side, lane.queue.front().arrival_ns);
}

// --------------------------------------------------------------------------------------------
// Clogging

void SimNetwork::clog(const std::string& host, Duration d) {
    HUB_ASSERT(d.ns >= 0);
    int64_t& until = clogged_until_ns_[host];
    until = std::max(until, sim_.now().ns + d.ns);
    ++stats_.clogs;
    sim_.trace("net", "net.clog", host + " until " + std::to_string(until));
}

void SimNetwork::unclog_all() {
    const int64_t now = sim_.now().ns;
    for (auto& [host, until] : clogged_until_ns_) {
        until = std::min(until, now);
    }
    // Lanes waiting for a clog to end are pumped now instead.
    for (auto& [id, conn] : connections_) {
        for (int s = 0; s < 2; ++s) {
            if (!conn.broken && !conn.lane[s].queue.empty()) {
                schedule_pump(id, s, std::max(now, conn.lane[s].queue.front().arrival_ns));
            }
        }
    }
}

bool SimNetwork::is_clogged(const std::string& host) const {
    auto it = clogged_until_ns_.find(host);
    return it != clogged_until_ns_.end() && it->second > sim_.now().ns;
}

int64_t SimNetwork::clog_end_ns(const std::string& a, const std::string& b) const {
    int64_t end = 0;
    for (const std::string* host : {&a, &b}) {
        auto it = clogged_until_ns_.find(*host);
        if (it != clogged_until_ns_.end()) {
            end = std::max(end, it->second);
        }
    }
    return end;
}

}  // namespace simnet
