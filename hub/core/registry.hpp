// Registry: the hub's device identities (id, keys, status).
//
// In the walking skeleton the registry is built from configuration at every start; durable
// CRUD with etags comes with the full registry. Single-threaded.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "hub/env/env.hpp"

namespace hub {

// Device ids are at most 128 characters (reference §2.2).
constexpr size_t kDeviceIdBytesMax = 128;

struct Device {
    std::string id;
    std::string primary_key;    // base64
    std::string secondary_key;  // base64, may be empty
    bool enabled = true;
};

// True if `id` is a legal device id: 1..128 chars of ASCII alnum and - . + % _ # * ? ! ( ) , = @ $ '
bool is_valid_device_id(std::string_view id);

// 32 random bytes, base64: what the hub generates when a device comes without keys.
std::string generate_device_key(Random& random);

class Registry {
  public:
    // Errors: invalid_argument (bad id or key), already_exists.
    Status add(Device device);
    const Device* find(std::string_view id) const;
    size_t size() const { return devices_.size(); }
    const std::map<std::string, Device, std::less<>>& devices() const { return devices_; }

  private:
    std::map<std::string, Device, std::less<>> devices_;
};

}  // namespace hub
