#include "hub/amqp/hub_connection.hpp"

#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/duration.hpp>
#include <proton/receiver.hpp>
#include <proton/sender.hpp>
#include <proton/source.hpp>
#include <proton/target.hpp>
#include <proton/error_condition.hpp>
#include <proton/receiver.hpp>
#include <proton/receiver_options.hpp>
#include <proton/scalar.hpp>
#include <proton/session.hpp>
#include <proton/source.hpp>
#include <proton/target.hpp>
#include <proton/tracker.hpp>
#include <proton/types.hpp>

#include "hub/core/access.hpp"

namespace hub::amqp {


void HubConnection::ReplyLink::send(proton::message reply) {
    if (queue.size() < kRepliesQueuedMax) {
        queue.push_back(std::move(reply));
    }
    flush();
}

void HubConnection::ReplyLink::flush() {
    while (!queue.empty() && link && link.active() && link.credit() > 0) {
        link.send(queue.front());
        queue.pop_front();
    }
}

HubConnection::HubConnection(Env& env, Hub& hub, std::unique_ptr<Stream> stream, uint64_t id,
                             std::function<void()> on_finished,
                             std::function<void(const std::string&)> on_device_proven)
    : env_(env), hub_(hub), id_(id), name_("amqp#" + std::to_string(id)),
      on_device_proven_(std::move(on_device_proven)),
      self_(std::make_shared<HubConnection*>(this)) {
    pump_ = std::make_unique<DriverPump>(
        env, std::move(stream), "iothub",
        [this, on_finished = std::move(on_finished)](const Status& status) {
            trace("amqp.closed", status.to_string());
            report_disconnects(status);
            on_finished();
        });
}

HubConnection::~HubConnection() {
    report_disconnects(Status(Code::unavailable, "the hub closed the connection"));
    for (const auto& [log, listener] : log_listeners_) {
        log->remove_commit_listener(listener);
    }
    *self_ = nullptr;
    // Proton handles go while the driver still exists.
    awaiting_durable_.clear();
    readers_.clear();
    devicebound_.clear();
    feedback_links_.clear();
    cbs_ = ReplyLink();
    management_ = ReplyLink();
    pump_.reset();
}

void HubConnection::start() {
    proton::connection_options options;
    options.handler(*this);
    // Proton detects whether the client starts with a SASL header; the Azure device SDKs
    // send none and authenticate through CBS. ANONYMOUS and PLAIN are offered for the rest.
    options.sasl_enabled(true);
    options.sasl_allow_insecure_mechs(true);
    options.sasl_allowed_mechs("ANONYMOUS PLAIN");
    options.container_id("iothub");
    options.max_frame_size(kFrameBytesMax);
    options.max_sessions(kSessionsMax);
    options.idle_timeout(proton::duration(kIdleTimeoutMs));
    pump_->accept(options);
}

void HubConnection::trace(std::string_view kind, const std::string& detail) {
    env_.trace(kind, name_ + " " + detail);
}

std::string HubConnection::entity() const {
    const std::string& host = hub_.config().host_name;
    return host.substr(0, host.find('.'));  // Azure names the Event Hub after the hub
}

void HubConnection::mark_connected(const std::string& device_id) {
    if (connected_devices_.insert(device_id).second) {
        hub_.monitor().device_connected(device_id);
        hub_.registry().set_connected(device_id, true, env_.utc_now_ms());
    }
}

void HubConnection::report_disconnects(const Status& reason) {
    const std::string text = reason.ok() ? "closed by the device" : reason.message();
    for (const std::string& device_id : connected_devices_) {
        hub_.monitor().device_disconnected(device_id, text);
        hub_.registry().set_connected(device_id, false, env_.utc_now_ms());
    }
    connected_devices_.clear();
}

void HubConnection::on_connection_open(proton::connection& c) {
    trace("amqp.open", "container=" + c.container_id());
    c.open();
}

void HubConnection::on_session_open(proton::session& s) { s.open(); }

void HubConnection::on_error(const proton::error_condition& error) {
    trace("amqp.error", error.name() + ": " + error.description());
}

bool HubConnection::authorized(const std::string& device_id) const {
    auto it = token_expiry_s_.find(device_id);
    return it != token_expiry_s_.end() && env_.utc_now_ms() / 1000 < it->second;
}

void HubConnection::evict(const std::string& device_id) {
    if (token_expiry_s_.erase(device_id) == 0) return;
    trace("amqp.evict", device_id + " ConnectionForcefullyClosedOnNewConnection");
    const proton::error_condition why("amqp:link:detach-forced",
                                      "ConnectionForcefullyClosedOnNewConnection (400027): "
                                      "a new connection for device " + device_id);
    if (token_expiry_s_.empty() && service_expiry_s_ == 0) {
        pump_->connection().close(why);  // a device's own connection: it goes entirely
    } else {
        for (proton::sender s : pump_->connection().senders()) {
            if (s.source().address().starts_with("/devices/" + device_id + "/")) s.close(why);
        }
        for (proton::receiver r : pump_->connection().receivers()) {
            if (r.target().address().starts_with("/devices/" + device_id + "/")) r.close(why);
        }
    }
    devicebound_.erase(device_id);
    if (connected_devices_.erase(device_id) > 0) {
        hub_.monitor().device_disconnected(device_id, "ConnectionForcefullyClosedOnNewConnection");
    }
    pump_->process();
}

bool HubConnection::link_limit_reached(proton::link& l) {
    size_t open = 0;
    for (proton::sender s : pump_->connection().senders()) open += s.active() ? 1 : 0;
    for (proton::receiver r : pump_->connection().receivers()) open += r.active() ? 1 : 0;
    if (open < kLinksPerConnectionMax) return false;
    trace("amqp.attach.refused", "link limit");
    l.close(proton::error_condition("amqp:resource-limit-exceeded",
                                    "at most " + std::to_string(kLinksPerConnectionMax) +
                                        " links per connection"));
    return true;
}

bool HubConnection::service_authorized() const {
    return env_.utc_now_ms() / 1000 < service_expiry_s_;
}

}  // namespace hub::amqp
