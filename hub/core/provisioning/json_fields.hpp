// Typed reads of optional JSON fields that never throw (private to hub/core/provisioning).
//
// nlohmann::json's value() and get() throw on a type mismatch; the core never throws, so every
// field read from a client body or a durable record goes through these. A missing or null
// field leaves `out` unchanged and is ok; a field of the wrong type is invalid_argument.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "hub/env/status.hpp"

namespace hub::provisioning::json_fields {

inline bool absent(const nlohmann::json& j, const char* name) {
    return !j.is_object() || !j.contains(name) || j[name].is_null();
}

inline Status wrong_type(const char* name, const char* type) {
    return Status(Code::invalid_argument, std::string(name) + " is not " + type);
}

inline Status read(const nlohmann::json& j, const char* name, std::string& out) {
    if (absent(j, name)) return Status();
    if (!j[name].is_string()) return wrong_type(name, "a string");
    out = j[name].get<std::string>();
    return Status();
}

inline Status read(const nlohmann::json& j, const char* name, bool& out) {
    if (absent(j, name)) return Status();
    if (!j[name].is_boolean()) return wrong_type(name, "a boolean");
    out = j[name].get<bool>();
    return Status();
}

inline Status read(const nlohmann::json& j, const char* name, int64_t& out) {
    if (absent(j, name)) return Status();
    if (!j[name].is_number_integer()) return wrong_type(name, "an integer");
    out = j[name].get<int64_t>();
    return Status();
}

inline Status read(const nlohmann::json& j, const char* name, uint64_t& out) {
    if (absent(j, name)) return Status();
    if (!j[name].is_number_unsigned()) return wrong_type(name, "a count");
    out = j[name].get<uint64_t>();
    return Status();
}

inline Status read(const nlohmann::json& j, const char* name, int32_t& out) {
    int64_t wide = out;
    Status s = read(j, name, wide);
    if (!s.ok()) return s;
    if (wide < INT32_MIN || wide > INT32_MAX) return wrong_type(name, "a 32-bit integer");
    out = static_cast<int32_t>(wide);
    return Status();
}

}  // namespace hub::provisioning::json_fields
