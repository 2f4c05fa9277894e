// Cloud-to-device over HTTPS for devices that poll (reference §2.1).
#include "hub/core/time_format.hpp"
#include "hub/http/routes.hpp"

namespace hub::http {

namespace {

using boost::beast::http::verb;

// 200 with the message: the lock token in a quoted ETag (the Node SDK strips the first and
// last character), ids and expiry in iothub-* headers, application properties as iothub-app-*.
Response message_response(const LockedMessage& locked, const std::string& device_id) {
    const QueuedMessage& q = locked.queued;
    Response r{200, {}, std::string(q.message.body.begin(), q.message.body.end())};
    r.headers = {
        {"ETag", "\"" + locked.lock_token + "\""},
        {"iothub-messageid", q.message.message_id},
        {"iothub-to", "/devices/" + device_id + "/messages/devicebound"},
        {"iothub-expiry", format_utc_ms(q.expiry_time_utc_ms)},
        {"iothub-enqueuedtime", format_utc_ms(q.enqueued_time_utc_ms)},
        {"iothub-deliverycount", std::to_string(q.delivery_count)},
        {"iothub-sequencenumber", std::to_string(q.sequence_number)},
    };
    if (!q.message.correlation_id.empty()) {
        r.headers.emplace_back("iothub-correlationid", q.message.correlation_id);
    }
    if (!q.message.user_id.empty()) r.headers.emplace_back("iothub-userid", q.message.user_id);
    if (!q.message.content_type.empty()) {
        r.headers.emplace_back("iothub-contenttype", q.message.content_type);
    }
    for (const auto& [key, value] : q.message.properties) {
        r.headers.emplace_back("iothub-app-" + key, value);
    }
    return r;
}

}  // namespace

void handle_c2d(Hub& hub, const Request& request, const std::string& device_id,
                const Target& target, Respond respond) {
    const std::vector<std::string>& s = target.segments;
    if (s.size() == 4 && request.method() == verb::get) {
        std::optional<LockedMessage> locked = hub.c2d().receive(device_id);
        return respond(locked ? message_response(*locked, device_id) : Response{204, {}, {}});
    }
    const bool settle = (s.size() == 5 && request.method() == verb::delete_) ||
                        (s.size() == 6 && iequals(s[5], "abandon") && request.method() == verb::post);
    if (!settle) {
        return respond(error_response(Status(Code::not_found, "no such C2D operation"), "NotFound"));
    }
    auto done = [respond = std::move(respond)](Status status) {
        // A lapsed or unknown lock: 412, as the service answers a stale ETag.
        respond(status.ok() ? Response{204, {}, {}}
                : status.code() == Code::not_found
                    ? error_response(Status(Code::failed_precondition, status.message()),
                                     "DeviceMessageLockLost")
                    : error_response(status));
    };
    const std::string& lock = s[4];
    if (s.size() == 6) {
        hub.c2d().abandon(device_id, lock, std::move(done));
    } else if (target.has_query("reject")) {
        hub.c2d().reject(device_id, lock, std::move(done));
    } else {
        hub.c2d().complete(device_id, lock, std::move(done));
    }
}

}  // namespace hub::http
