// POST /devices/{id}/messages/events: device-to-cloud over HTTPS, single or batch.
#include <memory>

#include <nlohmann/json.hpp>

#include "hub/auth/sas.hpp"
#include "hub/core/json_text.hpp"
#include "hub/http/routes.hpp"

namespace hub::http {

namespace {

constexpr std::string_view kBatchContentType = "application/vnd.microsoft.iothub.json";
constexpr std::string_view kAppPropertyPrefix = "iothub-app-";

// Application properties and the message id from a single message's headers.
D2cMessage message_from_headers(const Request& request, const std::string& device_id) {
    D2cMessage m;
    m.device_id = device_id;
    for (const auto& field : request) {
        const std::string name(field.name_string());
        if (name.size() > kAppPropertyPrefix.size() &&
            iequals(std::string_view(name).substr(0, kAppPropertyPrefix.size()),
                    kAppPropertyPrefix)) {
            m.properties.emplace_back(name.substr(kAppPropertyPrefix.size()),
                                      std::string(field.value()));
        } else if (iequals(name, "iothub-messageid")) {
            m.message_id = std::string(field.value());
        }
    }
    m.body.assign(request.body().begin(), request.body().end());
    return m;
}

// [{"body":"<base64>","properties":{"iothub-app-k":"v"}}, ...]
Result<std::vector<D2cMessage>> messages_from_batch(const std::string& body,
                                                     const std::string& device_id) {
    const nlohmann::json batch = nlohmann::json::parse(body, nullptr, false);
    if (batch.is_discarded() || !batch.is_array()) {
        return Status(Code::invalid_argument, "a batch must be a JSON array");
    }
    std::vector<D2cMessage> out;
    size_t total = 0;
    for (const nlohmann::json& item : batch) {
        if (!item.is_object() || !item.contains("body") || !item["body"].is_string()) {
            return Status(Code::invalid_argument, "each batch item needs a base64 'body'");
        }
        Result<Bytes> bytes = auth::base64_decode(item["body"].get<std::string>());
        if (!bytes.ok()) return bytes.status();
        D2cMessage m{device_id, {}, std::move(*bytes), {}};
        const nlohmann::json properties = item.value("properties", nlohmann::json::object());
        for (const auto& [key, value] : properties.items()) {
            const std::string name = key.rfind(kAppPropertyPrefix, 0) == 0
                                         ? key.substr(kAppPropertyPrefix.size()) : key;
            m.properties.emplace_back(name, value.is_string() ? value.get<std::string>() : json_text(value));
        }
        total += m.body.size();
        out.push_back(std::move(m));
    }
    if (total > kD2cMessageBytesMax) {
        return Status(Code::invalid_argument, "a batch may hold at most 256 KB");
    }
    return out;
}

}  // namespace

void handle_d2c(Hub& hub, const Request& request, const std::string& device_id, Respond respond) {
    if (request.method() != boost::beast::http::verb::post) {
        return respond(error_response(Status(Code::invalid_argument, "use POST"), "NotSupported"));
    }
    const auto type = request.find(boost::beast::http::field::content_type);
    const bool batch = type != request.end() &&
                       std::string_view(type->value().data(), type->value().size())
                           .starts_with(kBatchContentType);
    Result<std::vector<D2cMessage>> messages =
        batch ? messages_from_batch(request.body(), device_id)
              : Result<std::vector<D2cMessage>>(std::vector{message_from_headers(request, device_id)});
    if (!messages.ok()) return respond(error_response(messages.status()));
    if (!batch && messages->front().body.size() > kD2cMessageBytesMax) {
        return respond(error_response(Status(Code::invalid_argument, "message exceeds 256 KB"),
                                      "MessageTooLarge"));
    }
    hub.registry().touch(device_id, hub.env().utc_now_ms());
    if (const Device* device = hub.registry().find(device_id)) {
        for (D2cMessage& m : *messages) m.generation_id = device->generation_id;
    }
    // Answer once every message of the request is durable (or the first one failed).
    struct Pending {
        size_t left;
        Status first_error;
        Respond respond;
    };
    auto pending = std::make_shared<Pending>(Pending{messages->size(), Status(), std::move(respond)});
    for (D2cMessage& m : *messages) {
        hub.d2c().append(std::move(m), [pending](Result<EventPosition> r) {
            if (!r.ok() && pending->first_error.ok()) pending->first_error = r.status();
            if (--pending->left == 0) {
                pending->respond(pending->first_error.ok() ? Response{204, {}, {}}
                                                           : error_response(pending->first_error));
            }
        });
    }
}

}  // namespace hub::http
