// HubConnection's links and messages: CBS, D2C, and the Event Hubs-compatible endpoint.
#include <map>
#include <vector>

#include <proton/connection.hpp>
#include <proton/error_condition.hpp>
#include <proton/receiver.hpp>
#include <proton/receiver_options.hpp>
#include <proton/scalar.hpp>
#include <proton/source.hpp>
#include <proton/target.hpp>
#include <proton/types.hpp>

#include "hub/amqp/amqp_errors.hpp"
#include "hub/amqp/hub_connection.hpp"
#include "hub/auth/sas.hpp"
#include "hub/core/access.hpp"

namespace hub::amqp {

namespace {

constexpr std::string_view kServiceC2dAddress = "/messages/devicebound";
constexpr std::string_view kFeedbackAddress = "/messages/serviceBound/feedback";

// "/devices/{id}{suffix}" -> id; empty if the address is something else.
std::string device_in(const std::string& address, std::string_view suffix) {
    static constexpr std::string_view kPrefix = "/devices/";
    if (address.size() <= kPrefix.size() + suffix.size() || !address.starts_with(kPrefix) ||
        !address.ends_with(suffix)) {
        return {};
    }
    std::string id = address.substr(kPrefix.size(),
                                     address.size() - kPrefix.size() - suffix.size());
    return is_valid_device_id(id) ? id : std::string();
}

std::string devicebound_device_of(const std::string& address) {
    return device_in(address, "/messages/devicebound");
}

std::string d2c_device_of(const std::string& address) {
    return device_in(address, "/messages/events");
}

// "/devices/{d}/modules/{m}/..." (module identities' links, reference §1.6).
bool is_module_address(const std::string& address) {
    static constexpr std::string_view kPrefix = "/devices/";
    if (!address.starts_with(kPrefix)) return false;
    const size_t slash = address.find('/', kPrefix.size());
    return slash != std::string::npos && address.compare(slash, 9, "/modules/") == 0;
}

// The registry has no module identities (only devices), so no module token can be proven and
// no module link can exist: refuse it as an unknown node, saying why.
proton::error_condition no_modules(const std::string& address) {
    return proton::error_condition(kNotFound, "no such node: " + address +
                                                  " (this hub has no module identities)");
}

bool is_management(const std::string& address) {
    return address == "$management" || address.ends_with("/$management");
}

proton::message status_reply(const proton::message& request, const Status& status) {
    proton::message reply;
    reply.to(request.reply_to());
    reply.correlation_id(request.id());
    reply.properties().put("status-code", static_cast<int32_t>(status.ok() ? 200 : 401));
    reply.properties().put("status-description",
                           status.ok() ? std::string("OK") : status.message());
    return reply;
}


// The device a (possibly invalid) device token names, for the monitor; "" if none.
std::string device_named_by(const std::string& token_text, const std::string& host) {
    Result<auth::SasToken> token = auth::parse_sas_token(token_text);
    if (!token.ok()) return {};
    Result<std::string> device = auth::device_of_audience(token->sr, host);
    return device.ok() ? *device : std::string();
}

// Application properties as strings (the log keeps strings; JSON-ish text for the rest).
std::vector<std::pair<std::string, std::string>> application_properties(const proton::message& m) {
    std::vector<std::pair<std::string, std::string>> out;
    if (m.properties().empty()) return out;
    std::map<std::string, proton::scalar> properties;
    proton::get(m.properties().value(), properties);
    for (const auto& [key, value] : properties) {
        out.emplace_back(key, value.type() == proton::STRING ? proton::get<std::string>(value)
                                                             : proton::to_string(value));
    }
    return out;
}

}  // namespace

void HubConnection::on_receiver_open(proton::receiver& r) {
    if (link_limit_reached(r)) return;
    const std::string address = r.target().address();
    if (address == kServiceC2dAddress && !service_authorized()) {
        trace("amqp.attach.unauthorized", address);
        r.close(proton::error_condition("amqp:unauthorized-access", "no service token"));
        return;
    }
    if (const std::string registration = dps_registration_of(address); !registration.empty()) {
        if (!dps_link_allowed(r, registration)) return;
    } else if (address != "$cbs" && !is_management(address) && address != kServiceC2dAddress) {
        if (!open_d2c_receiver(r, address)) return;
    }
    trace("amqp.attach", "receiver " + address);
    r.open(proton::receiver_options().auto_accept(false).credit_window(kD2cCreditWindow));
}

// A D2C link: the device's token must be proven here and the device still registered.
bool HubConnection::open_d2c_receiver(proton::receiver& r, const std::string& address) {
    const auto refuse = [&](const proton::error_condition& why) {
        trace("amqp.attach.refused", address + " " + why.name());
        r.close(why);
        return false;
    };
    if (is_module_address(address)) return refuse(no_modules(address));
    const std::string device = d2c_device_of(address);
    if (device.empty()) return refuse(proton::error_condition(kNotFound, "no such node: " + address));
    if (!authorized(device)) {
        return refuse(proton::error_condition(kUnauthorizedAccess,
                                              "no valid token for device " + device));
    }
    if (hub_.registry().find(device) == nullptr) {
        return refuse(proton::error_condition(kNotFound, "device " + device + " is not registered"));
    }
    mark_connected(device);
    return true;
}

void HubConnection::on_sender_open(proton::sender& s) {
    if (link_limit_reached(s)) return;
    const std::string address = s.source().address();
    if (address == "$cbs" || is_management(address)) {
        trace("amqp.attach", "sender " + address);
        s.open();
        (address == "$cbs" ? cbs_ : management_).link = s;
        return;
    }
    if (std::optional<PartitionAddress> partition = parse_partition_address(address)) {
        open_partition_reader(s, *partition);
        return;
    }
    if (const std::string registration = dps_registration_of(address); !registration.empty()) {
        if (dps_link_allowed(s, registration)) {
            trace("amqp.attach", "sender " + address);
            s.open();
            dps_reply_.link = s;
        }
        return;
    }
    if (const std::string device = devicebound_device_of(address); !device.empty()) {
        open_devicebound(s, device);
        return;
    }
    if (address == kFeedbackAddress) {
        open_feedback(s);
        return;
    }
    s.close(is_module_address(address)
                ? no_modules(address)
                : proton::error_condition(kNotFound, "no such node: " + address));
}

void HubConnection::open_partition_reader(proton::sender& s, const PartitionAddress& address) {
    const auto refuse = [&](const char* condition, const std::string& why) {
        trace("amqp.attach.refused", why);
        s.close(proton::error_condition(condition, why));
    };
    if (!service_authorized()) {
        return refuse("amqp:unauthorized-access", "no valid service token with ServiceConnect");
    }
    D2cLog* log = stream_for(address.entity);
    if (log == nullptr || address.partition >= log->partition_count()) {
        return refuse("amqp:not-found", "no such event hub partition: " + address.entity + "/" +
                                            std::to_string(address.partition));
    }
    if (readers_.size() >= kPartitionReadersMax) {
        return refuse("amqp:resource-limit-exceeded", "too many receivers on this connection");
    }
    Result<std::string> filter = selector_expression(s.source().filters());
    Result<StartPosition> start = filter.ok() ? parse_selector(*filter)
                                              : Result<StartPosition>(filter.status());
    if (!start.ok()) return refuse("amqp:invalid-field", start.status().message());
    s.open();
    readers_.erase(s.name());
    readers_.emplace(s.name(), Reader{s, PartitionReader(*log, address.partition, *start)});
    trace("amqp.attach", "event hub reader " + std::to_string(address.partition) + " from " +
                             std::to_string(readers_.at(s.name()).reader.next_sequence_number()));
    if (!log_listeners_.contains(log)) {
        log_listeners_[log] = log->add_commit_listener([this] {
            pump_readers();
            pump_->process();
        });
    }
}

D2cLog* HubConnection::stream_for(const std::string& name) {
    if (name == entity()) return &hub_.d2c();
    if (name == entity() + kMonitorEntitySuffix) return &hub_.monitor_stream();
    return nullptr;
}

void HubConnection::pump_readers() {
    for (auto& [name, reader] : readers_) {
        reader.reader.pump(reader.link);
    }
}

void HubConnection::on_receiver_close(proton::receiver& r) { (void)r; }

void HubConnection::on_sender_close(proton::sender& s) {
    // Deliveries the peer can no longer settle: their locks lapse in the core and the messages
    // go back to their queues (feedback likewise).
    std::erase_if(outstanding_,
                  [&](const auto& entry) { return entry.second.tracker.sender() == s; });
    readers_.erase(s.name());
    feedback_links_.erase(s.name());
    for (auto it = devicebound_.begin(); it != devicebound_.end(); ++it) {
        if (it->second == s) {
            devicebound_.erase(it);
            break;
        }
    }
}

void HubConnection::on_sendable(proton::sender& s) {
    if (s == cbs_.link) {
        cbs_.flush();
    } else if (s == management_.link) {
        management_.flush();
    } else if (s == dps_reply_.link) {
        dps_reply_.flush();
    } else if (auto it = readers_.find(s.name()); it != readers_.end()) {
        it->second.reader.pump(it->second.link);
    } else if (feedback_links_.contains(s.name())) {
        pump_feedback(s);
    } else if (const std::string device = devicebound_device_of(s.source().address());
               !device.empty() && devicebound_.contains(device)) {
        pump_devicebound(s, device);
    }
}

void HubConnection::on_message(proton::delivery& d, proton::message& m) {
    // Proton's C++ accessors throw on values of an unexpected type: that is bad input from
    // the peer, so it ends this connection, never the hub.
    try {
        const std::string address = d.receiver().target().address();
        if (address == "$cbs") {
            handle_put_token(d, m);
        } else if (address == kServiceC2dAddress) {
            handle_c2d_send(d, m);
        } else if (const std::string registration = dps_registration_of(address);
                   !registration.empty()) {
            handle_dps_request(d, m, registration);
        } else if (is_management(address)) {
            d.accept();
            const std::string name = string_property(m, "name");
            D2cLog* log = stream_for(name.empty() ? entity() : name);
            management_.send(!service_authorized()
                                 ? status_reply(m, Status(Code::unauthorized, "no service token"))
                             : log == nullptr
                                 ? status_reply(m, Status(Code::not_found, "no entity " + name))
                                 : management_reply(m, *log, name.empty() ? entity() : name,
                                                    hub_.opened_ms()));
        } else {
            handle_d2c(d, m, d2c_device_of(address));
        }
    } catch (const std::exception& e) {
        trace("amqp.decode-error", e.what());
        d.reject();
        d.connection().close(proton::error_condition("amqp:decode-error", e.what()));
    }
}

}  // namespace hub::amqp

namespace hub::amqp {

void HubConnection::handle_d2c(proton::delivery& d, proton::message& m,
                               const std::string& device_id) {
    if (!authorized(device_id)) {
        trace("d2c.unauthorized", device_id);
        return reject_delivery(d, proton::error_condition(
                                      kUnauthorizedAccess, "no valid token for device " + device_id));
    }
    const Device* device = hub_.registry().find(device_id);
    if (device == nullptr) {
        return reject_delivery(
            d, proton::error_condition(kNotFound, "device " + device_id + " is not registered"));
    }
    D2cMessage message;
    message.device_id = device_id;
    message.message_id = m.id().empty() ? std::string() : proton::to_string(m.id());
    const proton::value& body = m.body();
    if (body.type() == proton::BINARY) {
        const proton::binary bin = proton::get<proton::binary>(body);
        message.body.assign(bin.begin(), bin.end());
    } else if (body.type() == proton::STRING) {
        const std::string text = proton::get<std::string>(body);
        message.body.assign(text.begin(), text.end());
    }
    if (message.body.size() > kD2cMessageBytesMax) {
        trace("d2c.too-large", device_id + " " + std::to_string(message.body.size()));
        return reject_delivery(d, proton::error_condition(
                                      kMessageSizeExceeded,
                                      "D2C messages are at most " +
                                          std::to_string(kD2cMessageBytesMax) + " bytes"));
    }
    message.properties = application_properties(m);
    message.generation_id = device->generation_id;
    hub_.registry().touch(device_id, env_.utc_now_ms());
    const uint64_t ticket = next_ticket_++;
    awaiting_durable_.emplace(ticket, d);
    std::weak_ptr<HubConnection*> weak = self_;
    hub_.d2c().append(std::move(message), [weak, ticket](Result<EventPosition> result) {
        std::shared_ptr<HubConnection*> self = weak.lock();
        if (self && *self) {
            (*self)->on_durable(ticket, result.status());
        }
    });
}

void HubConnection::on_durable(uint64_t ticket, const Status& status) {
    auto it = awaiting_durable_.find(ticket);
    HUB_ASSERT(it != awaiting_durable_.end());
    proton::delivery d = it->second;
    awaiting_durable_.erase(it);
    if (status.ok()) {
        d.accept();
    } else {
        trace("amqp.rejected", status.to_string());
        reject_delivery(d, error_for(status));
    }
    pump_->process();
}

void HubConnection::handle_put_token(proton::delivery& d, const proton::message& m) {
    Status status(Code::invalid_argument, "not a put-token request");
    if (string_property(m, "operation") == "put-token" && m.body().type() == proton::STRING) {
        const std::string token = proton::get<std::string>(m.body());
        Result<Principal> who = authenticate(hub_.registry(), hub_.config().host_name, token,
                                             env_.utc_now_ms() / 1000);
        status = who.ok() ? prove(*who) : who.status();  // a renewal re-arms the expiry
        trace("cbs.put-token", (who.ok() ? who->name : std::string("?")) + " " + status.to_string());
        if (!status.ok()) {
            hub_.monitor().connection_error(device_named_by(token, hub_.config().host_name),
                                            status.to_string());
        }
    }
    d.accept();
    cbs_.send(status_reply(m, status));
}

}  // namespace hub::amqp
