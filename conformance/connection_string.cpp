#include "conformance/connection_string.hpp"

namespace conformance {

std::string DeviceConnectionString::amqp_address() const {
    const std::string& host = gateway_host_name.empty() ? host_name : gateway_host_name;
    return host.find(':') == std::string::npos ? host + ":5671" : host;
}

hub::Result<DeviceConnectionString> parse_device_connection_string(std::string_view text) {
    DeviceConnectionString out;
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
        const std::string_view key = part.substr(0, eq);
        const std::string value(part.substr(eq + 1));  // keys end in '=' padding: keep all
        if (key == "HostName") {
            out.host_name = value;
        } else if (key == "DeviceId") {
            out.device_id = value;
        } else if (key == "SharedAccessKey") {
            out.shared_access_key = value;
        } else if (key == "GatewayHostName") {
            out.gateway_host_name = value;
        }
    }
    if (out.host_name.empty() || out.device_id.empty() || out.shared_access_key.empty()) {
        return hub::Status(hub::Code::invalid_argument,
                           "connection string needs HostName, DeviceId and SharedAccessKey");
    }
    return out;
}

}  // namespace conformance
