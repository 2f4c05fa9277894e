// Provisioning access: who may call the Device Provisioning Service (DPS) routes of the HTTPS
// front door, and how the DPS endpoint is described to clients.
//
// Concept (reference §5; azure-iot-provisioning-service and azure-iot-security-symmetric-key):
// - Service calls (enrollments, enrollment groups, registration states) carry a service SAS
//   token: sr = the DPS host name (raw, as ProvisioningServiceClient.fromConnectionString
//   signs it), skn = the policy name ("provisioningserviceowner"), signed with the policy's
//   primary or secondary key (base64-decoded, as IoT Hub service tokens).
// - Device calls carry sr = "{idScope}/registrations/{registrationId}", skn = "registration",
//   signed with the individual enrollment's key or the key derived from an enrollment
//   group's key. ProvisioningService::register_device checks that for register;
//   authorize_registration() makes the same check for an operation poll, which the service
//   itself does not authenticate.
//
// Pure functions: the caller passes the time; nothing is changed.
//
// Example:
//   ProvisioningEndpoint endpoint{"0ne00000000", "localhost", policy};
//   Status s = authorize_provisioning_service(endpoint, request_token, now_s);
//   std::string text = provisioning_connection_string(endpoint);
//   // "HostName=localhost;SharedAccessKeyName=provisioningserviceowner;SharedAccessKey=..."
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "hub/env/status.hpp"

namespace hub::provisioning {
class ProvisioningService;
}

namespace hub::http {

// The policy name in a DPS instance's default connection string.
constexpr std::string_view kProvisioningPolicyName = "provisioningserviceowner";
// DPS id scopes look like "0ne00012345" (11 characters); they appear in URL paths and token
// audiences, so they are kept short and made of letters and digits only. [inference: DPS
// documents the form, not a maximum.]
constexpr size_t kIdScopeBytesMax = 64;

bool is_valid_id_scope(std::string_view id_scope);

struct ProvisioningPolicy {
    std::string name = std::string(kProvisioningPolicyName);
    std::string primary_key;  // base64 of 32 bytes
    std::string secondary_key;
};

// What the HTTPS front door needs to serve DPS next to the hub.
struct ProvisioningEndpoint {
    std::string id_scope = "0ne00000000";
    std::string host_name = "localhost";  // the DPS host: service tokens' sr
    ProvisioningPolicy policy;
};

// Checks a service call's Authorization header. Errors: unauthorized with the reason (no or
// malformed token, wrong audience or policy, bad signature, expired).
Status authorize_provisioning_service(const ProvisioningEndpoint& endpoint,
                                      std::string_view token_text, int64_t now_s);

// Checks a device's token for `registration_id` as register does: the individual
// enrollment's keys, else any enrollment group's derived keys.
// Errors: unauthorized.
Status authorize_registration(const provisioning::ProvisioningService& dps,
                              std::string_view id_scope, std::string_view registration_id,
                              std::string_view token_text, int64_t now_s);

// "HostName={host};SharedAccessKeyName={policy};SharedAccessKey={primary key}".
std::string provisioning_connection_string(const ProvisioningEndpoint& endpoint);

}  // namespace hub::http
