// SASL PLAIN logins the hub understands (reference §1.2, §5): pure parsing, no I/O.
//
// A PLAIN initial response is `authzid NUL authcid NUL password` (RFC 4616). The hub reads the
// authentication id (the "username") in three forms, each with a SAS token as the password:
//   {deviceId}@sas.{hubName}                 a device (Azure docs, iot-hub-amqp-support)
//   {policyName}@sas.root.{hubName}          a shared access policy (the Event Hubs sample)
//   {idScope}/registrations/{registrationId} a DPS registration (the Node provisioning client)
// {hubName} is the first label of the hub's host name, compared case-insensitively. Device ids
// may contain '@', so the suffix is found from the right.
//
// Example:
//   Result<PlainResponse> r = parse_plain_response(bytes);       // from the sasl-init frame
//   Result<PlainUser> u = parse_plain_user(r->authcid, "myhub");  // device, service or DPS
#pragma once

#include <string>
#include <string_view>

#include "hub/env/status.hpp"

namespace hub::amqp {

// A SAS token is ~250 bytes; a PLAIN response far beyond that is not a login.
constexpr size_t kPlainResponseBytesMax = 4096;

struct PlainResponse {
    std::string authzid;  // usually empty (rhea and Proton clients send none)
    std::string authcid;
    std::string password;
};

// Errors: invalid_argument (not two NULs, empty authcid, longer than kPlainResponseBytesMax).
Result<PlainResponse> parse_plain_response(std::string_view response);

struct PlainUser {
    enum class Kind { device, service, dps_registration };
    Kind kind = Kind::device;
    std::string name;      // device id, policy name or registration id
    std::string id_scope;  // DPS only
};

// Errors: unauthorized (another hub's name, an invalid id, or none of the three forms).
Result<PlainUser> parse_plain_user(std::string_view authcid, std::string_view hub_name);

}  // namespace hub::amqp
