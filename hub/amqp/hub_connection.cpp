#include "hub/amqp/hub_connection.hpp"

#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/error_condition.hpp>
#include <proton/receiver.hpp>
#include <proton/receiver_options.hpp>
#include <proton/scalar.hpp>
#include <proton/session.hpp>
#include <proton/source.hpp>
#include <proton/target.hpp>
#include <proton/tracker.hpp>
#include <proton/types.hpp>

#include "hub/auth/sas.hpp"

namespace hub::amqp {

namespace {

constexpr std::string_view kCbsAddress = "$cbs";

// "/devices/{id}/messages/events" -> id; empty if the address is something else.
std::string d2c_device_of(const std::string& address) {
    static constexpr std::string_view kPrefix = "/devices/";
    static constexpr std::string_view kSuffix = "/messages/events";
    if (address.size() <= kPrefix.size() + kSuffix.size() || !address.starts_with(kPrefix) ||
        !address.ends_with(kSuffix)) {
        return {};
    }
    std::string id = address.substr(kPrefix.size(),
                                     address.size() - kPrefix.size() - kSuffix.size());
    return is_valid_device_id(id) ? id : std::string();
}

std::string string_property(const proton::message& m, const std::string& key) {
    if (!m.properties().exists(key)) {
        return {};
    }
    const proton::scalar value = m.properties().get(key);
    return value.type() == proton::STRING ? proton::get<std::string>(value) : std::string();
}

}  // namespace

HubConnection::HubConnection(Env& env, Hub& hub, std::unique_ptr<Stream> stream, uint64_t id,
                             std::function<void()> on_finished)
    : env_(env), hub_(hub), id_(id), name_("amqp#" + std::to_string(id)),
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
    *self_ = nullptr;
    awaiting_durable_.clear();
    cbs_replies_.clear();
    cbs_sender_ = proton::sender();
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
    pump_->accept(options);
}

void HubConnection::trace(std::string_view kind, const std::string& detail) {
    env_.trace(kind, name_ + " " + detail);
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

void HubConnection::on_receiver_open(proton::receiver& r) {
    const std::string address = r.target().address();
    if (address != kCbsAddress) {
        const std::string device = d2c_device_of(address);
        if (device.empty()) {
            trace("amqp.attach.refused", address);
            r.close(proton::error_condition("amqp:not-found", "no such node: " + address));
            return;
        }
        if (!authorized(device)) {
            trace("amqp.attach.unauthorized", address);
            r.close(proton::error_condition("amqp:unauthorized-access",
                                            "no valid token for device " + device));
            return;
        }
    }
    trace("amqp.attach", "receiver " + address);
    if (address != kCbsAddress) {
        mark_connected(d2c_device_of(address));
    }
    r.open(proton::receiver_options().auto_accept(false).credit_window(kD2cCreditWindow));
}

void HubConnection::on_sender_open(proton::sender& s) {
    const std::string address = s.source().address();
    if (address != kCbsAddress) {
        s.close(proton::error_condition("amqp:not-found", "no such node: " + address));
        return;
    }
    trace("amqp.attach", "sender $cbs");
    s.open();
    cbs_sender_ = s;
}

void HubConnection::on_sendable(proton::sender& s) {
    if (s == cbs_sender_) {
        send_cbs_replies();
    }
}

void HubConnection::on_message(proton::delivery& d, proton::message& m) {
    // Proton's C++ accessors throw on values of an unexpected type: that is bad input from
    // the peer, so it ends this connection, never the hub.
    try {
        const std::string address = d.receiver().target().address();
        if (address == kCbsAddress) {
            handle_put_token(d, m);
            return;
        }
        handle_d2c(d, m, d2c_device_of(address));
    } catch (const std::exception& e) {
        trace("amqp.decode-error", e.what());
        d.reject();
        d.connection().close(proton::error_condition("amqp:decode-error", e.what()));
    }
}

void HubConnection::on_error(const proton::error_condition& error) {
    trace("amqp.error", error.name() + ": " + error.description());
}

void HubConnection::handle_put_token(proton::delivery& d, const proton::message& m) {
    proton::message reply;
    reply.to(m.reply_to());
    reply.correlation_id(m.id());
    Status status(Code::invalid_argument, "not a put-token request");
    if (string_property(m, "operation") == "put-token" && m.body().type() == proton::STRING) {
        const std::string text = proton::get<std::string>(m.body());
        Result<auth::SasToken> token = auth::parse_sas_token(text);
        Result<std::string> device = token.ok() ? auth::device_of_audience(
                                                      token->sr, hub_.config().host_name)
                                                : Result<std::string>(token.status());
        const Device* found = device.ok() ? hub_.registry().find(*device) : nullptr;
        if (!device.ok()) {
            status = device.status();
        } else if (found == nullptr || !found->enabled()) {
            status = Status(Code::unauthorized, "unknown or disabled device " + *device);
        } else {
            status = auth::verify_sas_token(*token, found->primary_key, env_.utc_now_ms() / 1000);
            if (status.ok()) {
                token_expiry_s_[*device] = token->se;
            }
        }
        trace("cbs.put-token", (device.ok() ? *device : std::string("?")) + " " +
                                   status.to_string());
        if (!status.ok()) {
            hub_.monitor().connection_error(device.ok() ? *device : std::string(),
                                            status.to_string());
        }
    }
    reply.properties().put("status-code", static_cast<int32_t>(status.ok() ? 200 : 401));
    reply.properties().put("status-description",
                           status.ok() ? std::string("OK") : status.message());
    d.accept();
    if (cbs_replies_.size() < kCbsRepliesQueuedMax) {
        cbs_replies_.push_back(std::move(reply));
    }
    send_cbs_replies();
}

void HubConnection::send_cbs_replies() {
    while (!cbs_replies_.empty() && cbs_sender_ && cbs_sender_.active() &&
           cbs_sender_.credit() > 0) {
        cbs_sender_.send(cbs_replies_.front());
        cbs_replies_.pop_front();
    }
}

bool HubConnection::authorized(const std::string& device_id) const {
    auto it = token_expiry_s_.find(device_id);
    return it != token_expiry_s_.end() && env_.utc_now_ms() / 1000 < it->second;
}

void HubConnection::handle_d2c(proton::delivery& d, proton::message& m,
                               const std::string& device_id) {
    if (!authorized(device_id)) {
        trace("d2c.unauthorized", device_id);
        d.reject();
        return;
    }
    D2cMessage message;
    message.device_id = device_id;
    message.message_id = proton::to_string(m.id());
    const proton::value& body = m.body();
    if (body.type() == proton::BINARY) {
        const proton::binary bin = proton::get<proton::binary>(body);
        message.body.assign(bin.begin(), bin.end());
    } else if (body.type() == proton::STRING) {
        const std::string text = proton::get<std::string>(body);
        message.body.assign(text.begin(), text.end());
    }
    hub_.registry().touch(device_id, env_.utc_now_ms());
    const uint64_t ticket = next_ticket_++;
    awaiting_durable_.emplace(ticket, d);
    std::weak_ptr<HubConnection*> weak = self_;
    hub_.d2c().append(std::move(message), [weak, ticket](Result<EventPosition> result) {
        std::shared_ptr<HubConnection*> self = weak.lock();
        if (self && *self) {
            (*self)->on_d2c_durable(ticket, result.ok());
        }
    });
}

void HubConnection::on_d2c_durable(uint64_t ticket, bool ok) {
    auto it = awaiting_durable_.find(ticket);
    HUB_ASSERT(it != awaiting_durable_.end());
    proton::delivery d = it->second;
    awaiting_durable_.erase(it);
    if (ok) {
        d.accept();
    } else {
        d.reject();
    }
    pump_->process();
}

}  // namespace hub::amqp
