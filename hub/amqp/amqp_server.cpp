#include "hub/amqp/amqp_server.hpp"

#include "hub/amqp/hub_connection.hpp"

namespace hub::amqp {

AmqpServer::AmqpServer(Env& env, Hub& hub) : env_(env), hub_(hub) {
    // The queues tell one listener when messages may be receivable; fan out to connections.
    hub_.c2d().set_available_listener([this](const std::string& device_id) {
        for (auto& [id, connection] : connections_) connection->on_c2d_available(device_id);
    });
    hub_.c2d().feedback().set_available_listener([this] {
        for (auto& [id, connection] : connections_) connection->on_feedback_available();
    });
}

AmqpServer::~AmqpServer() {
    hub_.c2d().set_available_listener(nullptr);
    hub_.c2d().feedback().set_available_listener(nullptr);
    for (const auto& [id, timer] : reap_timers_) {
        env_.cancel(timer);
    }
    for (const auto& [ticket, timer] : claim_timers_) {
        env_.cancel(timer);
    }
    connections_.clear();
    listener_.reset();
}

Status AmqpServer::listen(const std::string& address) {
    Result<std::unique_ptr<Listener>> listener =
        env_.network().listen(address, [this](std::unique_ptr<Stream> stream) {
            serve(std::move(stream));
        });
    if (!listener.ok()) {
        return listener.status();
    }
    listener_ = std::move(*listener);
    env_.trace("amqp.listen", listener_->address());
    return Status::ok_status();
}

std::string AmqpServer::address() const { return listener_ ? listener_->address() : ""; }

void AmqpServer::serve(std::unique_ptr<Stream> stream) {
    const uint64_t id = next_connection_id_++;
    env_.trace("amqp.accept", "amqp#" + std::to_string(id) + " from " + stream->peer());
    auto connection = std::make_unique<HubConnection>(
        env_, hub_, std::move(stream), id, [this, id] { reap(id); },
        [this, id](const std::string& device_id) { claim(device_id, id); });
    HubConnection* raw = connection.get();
    raw->serve_provisioning(dps_);
    connections_.emplace(id, std::move(connection));
    raw->start();
}

void AmqpServer::claim(const std::string& device_id, uint64_t connection_id) {
    // One connection per device identity, as Azure does: the newest wins (400027). The old
    // one is told from a fresh event, not from inside the new connection's handler.
    const uint64_t ticket = next_claim_++;
    claim_timers_[ticket] = env_.schedule(env_.now(), [this, ticket, device_id, connection_id] {
        claim_timers_.erase(ticket);
        for (auto& [id, connection] : connections_) {
            if (id != connection_id && connection->has_device(device_id)) {
                connection->evict(device_id);
            }
        }
    });
}

void AmqpServer::reap(uint64_t connection_id) {
    // Called from inside the connection: destroy it from a fresh event instead.
    reap_timers_[connection_id] = env_.schedule(env_.now(), [this, connection_id] {
        reap_timers_.erase(connection_id);
        connections_.erase(connection_id);
    });
}

}  // namespace hub::amqp
