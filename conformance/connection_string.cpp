#include "conformance/connection_string.hpp"

namespace conformance {

std::string DeviceConnectionString::amqp_address() const {
    const std::string& host = gateway_host_name.empty() ? host_name : gateway_host_name;
    return host.find(':') == std::string::npos ? host + ":5671" : host;
}

namespace {

// Splits "k=v;k=v" and calls `take(key, value)` for each part. Values keep every '=' after
// the first (base64 keys end in '=' padding).
template <typename Take>
hub::Status for_each_part(std::string_view text, Take take) {
    while (!text.empty()) {
        const size_t semi = text.find(';');
        const std::string_view part = text.substr(0, semi);
        text = semi == std::string_view::npos ? std::string_view() : text.substr(semi + 1);
        if (part.empty()) {
            continue;
        }
        const size_t eq = part.find('=');
        if (eq == std::string_view::npos || eq == 0) {
            return hub::Status(hub::Code::invalid_argument,
                               "connection string part '" + std::string(part) + "' is not key=value");
        }
        take(part.substr(0, eq), std::string(part.substr(eq + 1)));
    }
    return hub::Status();
}

}  // namespace

hub::Result<DeviceConnectionString> parse_device_connection_string(std::string_view text) {
    DeviceConnectionString out;
    hub::Status parsed = for_each_part(text, [&](std::string_view key, std::string value) {
        if (key == "HostName") out.host_name = std::move(value);
        else if (key == "DeviceId") out.device_id = std::move(value);
        else if (key == "SharedAccessKey") out.shared_access_key = std::move(value);
        else if (key == "GatewayHostName") out.gateway_host_name = std::move(value);
    });
    if (!parsed.ok()) {
        return parsed;
    }
    if (out.host_name.empty() || out.device_id.empty() || out.shared_access_key.empty()) {
        return hub::Status(hub::Code::invalid_argument,
                           "connection string needs HostName, DeviceId and SharedAccessKey");
    }
    return out;
}

hub::Result<ServiceConnectionString> parse_service_connection_string(std::string_view text) {
    ServiceConnectionString out;
    hub::Status parsed = for_each_part(text, [&](std::string_view key, std::string value) {
        if (key == "HostName") out.host_name = std::move(value);
        else if (key == "SharedAccessKeyName") out.key_name = std::move(value);
        else if (key == "SharedAccessKey") out.shared_access_key = std::move(value);
    });
    if (!parsed.ok()) {
        return parsed;
    }
    if (out.host_name.empty() || out.key_name.empty() || out.shared_access_key.empty()) {
        return hub::Status(hub::Code::invalid_argument, "service connection string needs "
                                                        "HostName, SharedAccessKeyName and "
                                                        "SharedAccessKey");
    }
    return out;
}

}  // namespace conformance
