// Azure IoT connection strings. Device: "HostName=h;DeviceId=d;SharedAccessKey=k[;GatewayHostName=g]";
// service (a shared access policy): "HostName=h;SharedAccessKeyName=p;SharedAccessKey=k".
//
// Pure parsing, no I/O. HostName is the hub's name (the SAS audience); GatewayHostName, when
// present, is where AMQP connections go (it may carry a port, as the Node SDK allows).
#pragma once

#include <string>
#include <string_view>

#include "hub/env/status.hpp"

namespace conformance {

struct DeviceConnectionString {
    std::string host_name;
    std::string device_id;
    std::string shared_access_key;
    std::string gateway_host_name;  // may be empty

    // "host:port" to dial for AMQPS: the gateway (or host), with port 5671 unless it has one.
    std::string amqp_address() const;
};

// Errors: invalid_argument naming the missing or malformed part.
hub::Result<DeviceConnectionString> parse_device_connection_string(std::string_view text);

struct ServiceConnectionString {
    std::string host_name;
    std::string key_name;  // the policy, e.g. iothubowner or service
    std::string shared_access_key;
};

// Errors: invalid_argument naming the missing or malformed part.
hub::Result<ServiceConnectionString> parse_service_connection_string(std::string_view text);

}  // namespace conformance
