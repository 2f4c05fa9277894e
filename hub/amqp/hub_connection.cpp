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
      self_(std::make_shared<HubConnection*>(this)),
      sasl_([this](const SaslInit& init) { return on_sasl_init(init); }) {
    pump_ = std::make_unique<DriverPump>(
        env, std::move(stream), "iothub",
        [this, on_finished = std::move(on_finished)](const Status& status) {
            trace("amqp.closed", status.to_string());
            report_disconnects(status);
            on_finished();
        });
}

HubConnection::~HubConnection() {
    env_.cancel(expiry_timer_);
    report_disconnects(Status(Code::unavailable, "the hub closed the connection"));
    for (const auto& [log, listener] : log_listeners_) {
        log->remove_commit_listener(listener);
    }
    *self_ = nullptr;
    // Proton handles go while the driver still exists.
    awaiting_durable_.clear();
    awaiting_settlement_.clear();
    outstanding_.clear();  // they hold trackers
    readers_.clear();
    devicebound_.clear();
    feedback_links_.clear();
    cbs_ = ReplyLink();
    dps_reply_ = ReplyLink();
    management_ = ReplyLink();
    pump_.reset();
}

void HubConnection::start() {
    proton::connection_options options;
    options.handler(*this);
    // Proton detects whether the client starts with a SASL header; the Azure device SDKs
    // send none and authenticate through CBS. The rest get our mechanisms (SaslServer).
    // PLAIN is not "insecure" here: iothubd speaks only TLS (and the simulator has no wire).
    options.sasl_enabled(true);
    options.sasl_allow_insecure_mechs(true);
    options.sasl_allowed_mechs(SaslServer::kMechanisms);
    options.container_id("iothub");
    options.max_frame_size(kFrameBytesMax);
    options.max_sessions(kSessionsMax);
    options.idle_timeout(proton::duration(kIdleTimeoutMs));
    pump_->set_input_guard([this](ByteView bytes) { return frame_guard_.scan(bytes); });
    pump_->accept(options, [this](proton::transport t) { sasl_.install(t); });
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

// Proton 0.37's connection::senders()/receivers() stop after the first link: their iterator
// compares each link's session with a null session. Going session by session works.
std::vector<proton::sender> HubConnection::all_senders() {
    std::vector<proton::sender> out;
    for (proton::session s : pump_->connection().sessions()) {
        for (proton::sender l : s.senders()) out.push_back(l);
    }
    return out;
}

std::vector<proton::receiver> HubConnection::all_receivers() {
    std::vector<proton::receiver> out;
    for (proton::session s : pump_->connection().sessions()) {
        for (proton::receiver l : s.receivers()) out.push_back(l);
    }
    return out;
}

bool HubConnection::link_limit_reached(proton::link& l) {
    size_t open = 0;
    for (proton::sender s : all_senders()) open += s.active() ? 1 : 0;
    for (proton::receiver r : all_receivers()) open += r.active() ? 1 : 0;
    if (open < kLinksPerConnectionMax) return false;
    trace("amqp.attach.refused", "link limit");
    l.close(proton::error_condition("amqp:resource-limit-exceeded",
                                    "at most " + std::to_string(kLinksPerConnectionMax) +
                                        " links per connection"));
    return true;
}

}  // namespace hub::amqp
