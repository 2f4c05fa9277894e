// The device identity in Azure IoT Hub's JSON shape (reference §2.2), for the registry's
// durable records and for the HTTPS registry API.
//
// {"deviceId","generationId","etag","connectionState","status","statusReason",
//  "connectionStateUpdatedTime","statusUpdatedTime","lastActivityTime",
//  "cloudToDeviceMessageCount","authentication":{"symmetricKey":{"primaryKey","secondaryKey"},
//  "x509Thumbprint":{"primaryThumbprint","secondaryThumbprint"},"type"},"capabilities":{"iotEdge"}}
#pragma once

#include <nlohmann/json.hpp>

#include "hub/core/registry.hpp"

namespace hub {

nlohmann::json device_to_json(const Device& device);
// Reads what a client sends (only deviceId is required; a missing status reads as enabled,
// a missing authentication as SAS with keys to generate, a missing type as selfSigned when a
// thumbprint is present, as the Node SDK does). Errors: invalid_argument naming the field.
Result<Device> device_from_json(const nlohmann::json& json);

const char* auth_type_name(AuthType type);

}  // namespace hub
