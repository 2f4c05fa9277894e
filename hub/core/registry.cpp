#include "hub/core/registry.hpp"

#include <cctype>

#include "hub/auth/sas.hpp"

namespace hub {

bool is_valid_device_id(std::string_view id) {
    if (id.empty() || id.size() > kDeviceIdBytesMax) {
        return false;
    }
    static constexpr std::string_view kExtra = "-.+%_#*?!(),=@$'";
    for (char c : id) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && kExtra.find(c) == kExtra.npos) {
            return false;
        }
    }
    return true;
}

std::string generate_device_key(Random& random) {
    Bytes key(32);
    for (size_t i = 0; i < key.size(); i += 8) {
        const uint64_t word = random.next_u64();
        for (size_t k = 0; k < 8; ++k) {
            key[i + k] = static_cast<uint8_t>(word >> (8 * k));
        }
    }
    return auth::base64_encode(key);
}

Status Registry::add(Device device) {
    if (!is_valid_device_id(device.id)) {
        return Status(Code::invalid_argument, "invalid device id '" + device.id + "'");
    }
    Result<Bytes> key = auth::base64_decode(device.primary_key);
    if (!key.ok() || key->empty()) {
        return Status(Code::invalid_argument, "device " + device.id + ": key is not base64");
    }
    if (devices_.contains(device.id)) {
        return Status(Code::already_exists, "device " + device.id + " already exists");
    }
    std::string id = device.id;
    devices_.emplace(std::move(id), std::move(device));
    return Status::ok_status();
}

const Device* Registry::find(std::string_view id) const {
    auto it = devices_.find(id);
    return it == devices_.end() ? nullptr : &it->second;
}

}  // namespace hub
