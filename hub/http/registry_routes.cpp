// The identity registry over HTTPS: PUT/GET/DELETE /devices/{id}, GET /devices.
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "hub/core/device_json.hpp"
#include "hub/core/json_text.hpp"
#include "hub/http/routes.hpp"

namespace hub::http {

namespace {

using boost::beast::http::field;
using boost::beast::http::verb;

std::string header(const Request& request, field name) {
    const auto it = request.find(name);
    return it == request.end() ? "" : std::string(it->value());
}

Response device_response(Hub& hub, const Device& device) {
    Device shown = device;
    shown.cloud_to_device_message_count = static_cast<uint32_t>(hub.c2d().pending_count(device.id));
    Response r = json_response(200, json_text(device_to_json(shown)));
    r.headers.emplace_back("ETag", "\"" + device.etag() + "\"");
    return r;
}

Response put_device(Hub& hub, const Request& request, const std::string& id) {
    Registry& registry = hub.registry();
    const nlohmann::json body = nlohmann::json::parse(request.body(), nullptr, false);
    if (body.is_discarded()) {
        return error_response(Status(Code::invalid_argument, "the body is not JSON"));
    }
    Result<Device> device = device_from_json(body);
    if (!device.ok()) return error_response(device.status());
    if (device->id != id) {
        return error_response(Status(Code::invalid_argument,
                                     "deviceId '" + device->id + "' differs from the URL's '" + id + "'"));
    }
    const std::string if_match = header(request, field::if_match);
    // No If-Match creates (the Node SDK's create sends none); If-Match updates.
    Result<Device> result = if_match.empty() ? registry.create(std::move(*device))
                                             : registry.update(std::move(*device), if_match);
    return result.ok() ? device_response(hub, *result) : error_response(result.status());
}

Response list_devices(const Registry& registry, const Target& target) {
    size_t top = kListPageMax;
    if (const std::string t = target.query_value("top"); !t.empty()) {
        top = std::clamp<size_t>(std::strtoul(t.c_str(), nullptr, 10), 1, kListPageMax);
    }
    nlohmann::json out = nlohmann::json::array();
    for (const Device* d : registry.list("", top)) out.push_back(device_to_json(*d));
    return json_response(200, json_text(out));
}

}  // namespace

void handle_registry(Hub& hub, const Request& request, const Principal& principal,
                     const Target& target, Respond respond) {
    const bool writes = request.method() == verb::put || request.method() == verb::delete_;
    if (principal.kind != Principal::Kind::service ||
        !principal.may(writes ? kRegistryWrite : kRegistryRead)) {
        return respond(error_response(Status(
            Code::unauthorized, "policy '" + principal.name + "' lacks registry " +
                                    (writes ? "write" : "read") + " rights")));
    }
    Registry& registry = hub.registry();
    const std::string id = target.segments.size() == 2 ? target.segments[1] : "";
    if (id.empty()) {
        if (request.method() != verb::get) {
            return respond(error_response(Status(Code::invalid_argument, "use GET /devices")));
        }
        return respond(list_devices(registry, target));
    }
    switch (request.method()) {
        case verb::get: {
            const Device* d = registry.find(id);
            return respond(d ? device_response(hub, *d)
                             : error_response(Status(Code::not_found, "DeviceNotFound: " + id)));
        }
        case verb::put:
            return respond(put_device(hub, request, id));
        case verb::delete_: {
            Status s = hub.remove_device(id, header(request, field::if_match));
            return respond(s.ok() ? Response{204, {}, {}} : error_response(s));
        }
        default:
            return respond(error_response(Status(Code::invalid_argument, "unsupported method")));
    }
}

}  // namespace hub::http
