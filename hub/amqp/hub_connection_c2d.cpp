// HubConnection's cloud-to-device links: device receive, service send, feedback receive.
#include <cstring>

#include <proton/annotation_key.hpp>
#include <proton/binary.hpp>
#include <proton/connection.hpp>
#include <proton/error_condition.hpp>
#include <proton/message_id.hpp>
#include <proton/scalar.hpp>
#include <proton/source.hpp>
#include <proton/target.hpp>
#include <proton/timestamp.hpp>
#include <proton/tracker.hpp>
#include <proton/types.hpp>

#include "hub/amqp/amqp_errors.hpp"
#include "hub/amqp/hub_connection.hpp"
#include "hub/auth/sas.hpp"

namespace hub::amqp {

namespace {

// The device's messages go out to it as AMQP (reference §1.6): a data-section body, the ids,
// `to`, the expiry, and the application properties.
proton::message c2d_to_amqp(const QueuedMessage& q, const std::string& device_id) {
    const C2dMessage& c = q.message;
    proton::message m;
    if (!c.message_id.empty()) m.id(c.message_id);
    if (!c.correlation_id.empty()) m.correlation_id(c.correlation_id);
    if (!c.user_id.empty()) m.user(c.user_id);
    if (!c.content_type.empty()) m.content_type(c.content_type);
    if (!c.content_encoding.empty()) m.content_encoding(c.content_encoding);
    m.to("/devices/" + device_id + "/messages/devicebound");
    m.expiry_time(proton::timestamp(q.expiry_time_utc_ms));
    m.creation_time(proton::timestamp(q.enqueued_time_utc_ms));
    proton::binary body;
    body.assign(c.body.begin(), c.body.end());
    m.body(body);
    m.inferred(true);
    for (const auto& [key, value] : c.properties) m.properties().put(key, value);
    m.message_annotations().put(proton::symbol("iothub-deliverycount"),
                                static_cast<int32_t>(q.delivery_count));
    m.message_annotations().put(proton::symbol("iothub-sequencenumber"),
                                static_cast<int64_t>(q.sequence_number));
    return m;
}

std::string id_text(const proton::message_id& id) {
    return id.empty() ? std::string() : proton::to_string(id);
}

// A message a service sends: `to` names the device (URL-encoded), `iothub-ack` the feedback.
Result<std::pair<std::string, C2dMessage>> c2d_from_amqp(const proton::message& m) {
    static constexpr std::string_view kPrefix = "/devices/";
    static constexpr std::string_view kSuffix = "/messages/devicebound";
    const std::string to = m.to();
    if (!to.starts_with(kPrefix) || !to.ends_with(kSuffix) ||
        to.size() <= kPrefix.size() + kSuffix.size()) {
        return Status(Code::invalid_argument, "'to' must be /devices/{id}/messages/devicebound");
    }
    Result<std::string> device = auth::url_decode(
        std::string_view(to).substr(kPrefix.size(), to.size() - kPrefix.size() - kSuffix.size()));
    if (!device.ok()) return device.status();
    C2dMessage c;
    c.message_id = id_text(m.id());
    c.correlation_id = id_text(m.correlation_id());
    c.user_id = m.user();
    c.content_type = m.content_type();
    c.content_encoding = m.content_encoding();
    if (m.body().type() == proton::BINARY) {
        const proton::binary b = proton::get<proton::binary>(m.body());
        c.body.assign(b.begin(), b.end());
    } else if (m.body().type() == proton::STRING) {
        const std::string text = proton::get<std::string>(m.body());
        c.body.assign(text.begin(), text.end());
    }
    if (m.expiry_time().milliseconds() != 0) c.expiry_time_utc_ms = m.expiry_time().milliseconds();
    std::map<std::string, proton::scalar> properties;
    if (!m.properties().empty()) proton::get(m.properties().value(), properties);
    for (const auto& [key, value] : properties) {
        const std::string text = value.type() == proton::STRING ? proton::get<std::string>(value)
                                                                 : proton::to_string(value);
        if (key == "iothub-ack") {
            Result<AckMode> ack = parse_ack_mode(text);
            if (!ack.ok()) return ack.status();
            c.ack = *ack;
        } else {
            c.properties.emplace_back(key, text);
        }
    }
    return std::make_pair(*device, std::move(c));
}

}  // namespace

void HubConnection::open_devicebound(proton::sender& s, const std::string& device_id) {
    if (!authorized(device_id)) {
        trace("amqp.attach.unauthorized", "devicebound " + device_id);
        s.close(proton::error_condition("amqp:unauthorized-access",
                                        "no valid token for device " + device_id));
        return;
    }
    mark_connected(device_id);
    s.open();
    devicebound_[device_id] = s;
    trace("amqp.attach", "devicebound " + device_id);
    pump_devicebound(s, device_id);
}

void HubConnection::open_feedback(proton::sender& s) {
    if (!service_authorized()) {
        s.close(proton::error_condition("amqp:unauthorized-access", "no service token"));
        return;
    }
    s.open();
    feedback_links_[s.name()] = s;
    trace("amqp.attach", "feedback");
    pump_feedback(s);
}

void HubConnection::send_locked(proton::sender& link, proton::message m, Outstanding lock) {
    const uint64_t n = next_tag_++;
    std::string tag(8, '\0');
    std::memcpy(tag.data(), &n, 8);
    proton::binary binary_tag;
    binary_tag.assign(tag.begin(), tag.end());
    lock.tracker = link.send(m, binary_tag);
    outstanding_[tag] = std::move(lock);
}

void HubConnection::pump_devicebound(proton::sender& link, const std::string& device_id) {
    while (link.active() && link.credit() > 0) {
        std::optional<LockedMessage> next = hub_.c2d().receive(device_id);
        if (!next) return;
        trace("c2d.deliver", device_id + " " + next->queued.message.message_id);
        send_locked(link, c2d_to_amqp(next->queued, device_id), {device_id, next->lock_token});
    }
}

void HubConnection::pump_feedback(proton::sender& link) {
    while (link.active() && link.credit() > 0) {
        std::optional<LockedMessage> next = hub_.c2d().feedback().receive();
        if (!next) return;
        proton::message m = c2d_to_amqp(next->queued, "");
        m.to("/messages/serviceBound/feedback");
        send_locked(link, std::move(m), {"", next->lock_token});
    }
}

void HubConnection::on_c2d_available(const std::string& device_id) {
    auto it = devicebound_.find(device_id);
    if (it != devicebound_.end()) {
        pump_devicebound(it->second, device_id);
        pump_->process();
    }
}

void HubConnection::on_feedback_available() {
    for (auto& [name, link] : feedback_links_) pump_feedback(link);
    if (!feedback_links_.empty()) pump_->process();
}

void HubConnection::on_tracker_accept(proton::tracker& t) { settle(t, Settle::complete); }
void HubConnection::on_tracker_reject(proton::tracker& t) { settle(t, Settle::reject); }
void HubConnection::on_tracker_release(proton::tracker& t) { settle(t, Settle::abandon); }

void HubConnection::settle(proton::tracker& t, Settle how) {
    const proton::binary tag = t.tag();
    auto it = outstanding_.find(std::string(tag.begin(), tag.end()));
    // A CBS, management or event delivery, maybe with the same tag as one of ours.
    if (it == outstanding_.end() || it->second.tracker != t) return;
    const Outstanding lock = std::move(it->second);
    outstanding_.erase(it);
    // A receiver in rcv-settle-mode second leaves its outcome unsettled and waits for ours: it
    // then learns whether the settlement held (or com.microsoft:message-lock-lost).
    const uint64_t ticket = next_ticket_++;
    if (!t.settled()) awaiting_settlement_.emplace(ticket, t);
    const char* names[] = {"complete", "reject", "abandon"};
    std::weak_ptr<HubConnection*> weak = self_;
    auto done = [weak, ticket, what = std::string(names[static_cast<int>(how)]),
                 device_id = lock.device_id](Status s) {
        std::shared_ptr<HubConnection*> self = weak.lock();
        if (self && *self) (*self)->on_settled(ticket, "c2d." + what, device_id, s);
    };
    if (lock.device_id.empty()) {
        FeedbackQueue& q = hub_.c2d().feedback();
        how == Settle::complete ? q.complete(lock.lock_token, done)
        : how == Settle::reject ? q.reject(lock.lock_token, done)
                                : q.abandon(lock.lock_token, done);
        return;
    }
    C2dQueues& q = hub_.c2d();
    how == Settle::complete ? q.complete(lock.device_id, lock.lock_token, done)
    : how == Settle::reject ? q.reject(lock.device_id, lock.lock_token, done)
                            : q.abandon(lock.device_id, lock.lock_token, done);
}

void HubConnection::on_settled(uint64_t ticket, const std::string& kind,
                               const std::string& device_id, const Status& status) {
    env_.trace(kind, device_id + " " + status.to_string());
    auto it = awaiting_settlement_.find(ticket);
    if (it == awaiting_settlement_.end()) return;  // the receiver settled first: nothing to tell
    proton::tracker t = it->second;
    awaiting_settlement_.erase(it);
    if (!t.sender().active()) return;  // the link went: its deliveries went with it
    // The queues report a lapsed or unknown lock as not_found "message-lock-lost: ...".
    const proton::error_condition why =
        status.ok() ? proton::error_condition()
        : status.code() == Code::not_found ? proton::error_condition(kMessageLockLost, status.message())
                                           : error_for(status);
    settle_tracker(t, why);
    pump_->process();
}

void HubConnection::handle_c2d_send(proton::delivery& d, proton::message& m) {
    if (!service_authorized()) {
        return reject_delivery(d, proton::error_condition(kUnauthorizedAccess, "no service token"));
    }
    Result<std::pair<std::string, C2dMessage>> parsed = c2d_from_amqp(m);
    if (!parsed.ok()) return reject_delivery(d, error_for(parsed.status()));
    const Device* device = hub_.registry().find(parsed->first);
    if (device == nullptr || !device->enabled()) {
        trace("c2d.refused", "DeviceNotFound " + parsed->first);
        return reject_delivery(d, proton::error_condition(
                                      kNotFound, "DeviceNotFound: " + parsed->first +
                                                     (device ? " is disabled" : " is not registered")));
    }
    if (c2d_message_size_bytes(parsed->second) > kC2dMessageBytesMax) {
        return reject_delivery(d, proton::error_condition(
                                      kMessageSizeExceeded,
                                      "C2D messages are at most " +
                                          std::to_string(kC2dMessageBytesMax) + " bytes"));
    }
    const uint64_t ticket = next_ticket_++;
    awaiting_durable_.emplace(ticket, d);
    std::weak_ptr<HubConnection*> weak = self_;
    hub_.c2d().enqueue(parsed->first, device->generation_id, std::move(parsed->second),
                       [weak, ticket](Result<uint64_t> result) {
                           std::shared_ptr<HubConnection*> self = weak.lock();
                           if (self && *self) (*self)->on_durable(ticket, result.status());
                       });
}

}  // namespace hub::amqp
