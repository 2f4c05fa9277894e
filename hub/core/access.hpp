// Access: who a SAS token proves to be, and what it may do.
//
// Device tokens: sr = "{host}/devices/{id}" (URL-encoded as the SDKs send it), signed with the
// device's primary or secondary key. Service tokens: sr = "{host}" (raw, possibly followed by a
// path), skn = a shared access policy name, signed with that policy's primary or secondary key;
// they carry the policy's rights. Expired tokens, unknown devices or policies, disabled devices
// and bad signatures are refused with Code::unauthorized and a reason for the logs.
//
// Pure: the caller passes the current time. Reads the registry, never changes it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "hub/core/registry.hpp"

namespace hub {

struct Principal {
    enum class Kind { device, service };
    Kind kind = Kind::device;
    std::string name;     // device id, or policy name
    uint32_t rights = 0;  // kDeviceConnect for devices; the policy's rights for services
    int64_t expiry_s = 0;

    bool may(uint32_t needed) const { return (rights & needed) == needed; }
};

Result<Principal> authenticate(const Registry& registry, std::string_view host_name,
                               std::string_view token_text, int64_t now_s);

}  // namespace hub
