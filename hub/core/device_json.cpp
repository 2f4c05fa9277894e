#include "hub/core/device_json.hpp"

#include "hub/core/time_format.hpp"

namespace hub {

namespace {

using nlohmann::json;

std::string time_or_never(int64_t ms) { return ms == 0 ? kNeverUtc : format_utc_ms(ms); }

// A string member, or "" when absent or null. Errors when present with another type.
Result<std::string> string_field(const json& object, const char* key) {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return std::string();
    if (!it->is_string()) {
        return Status(Code::invalid_argument, std::string("'") + key + "' must be a string");
    }
    return it->get<std::string>();
}

const json& member_or_empty(const json& object, const char* key) {
    static const json kEmpty = json::object();
    auto it = object.find(key);
    return it != object.end() && it->is_object() ? *it : kEmpty;
}

Result<AuthType> auth_type_of(const std::string& name, bool has_thumbprint) {
    if (name.empty()) return has_thumbprint ? AuthType::self_signed : AuthType::sas;
    if (name == "sas") return AuthType::sas;
    if (name == "selfSigned") return AuthType::self_signed;
    if (name == "certificateAuthority") return AuthType::certificate_authority;
    if (name == "none") return AuthType::none;
    return Status(Code::invalid_argument, "unknown authentication type '" + name + "'");
}

Status read_authentication(const json& in, Device* d) {
    const json& auth = member_or_empty(in, "authentication");
    const json& sym = member_or_empty(auth, "symmetricKey");
    const json& x509 = member_or_empty(auth, "x509Thumbprint");
    Result<std::string> pk = string_field(sym, "primaryKey");
    Result<std::string> sk = string_field(sym, "secondaryKey");
    Result<std::string> pt = string_field(x509, "primaryThumbprint");
    Result<std::string> st = string_field(x509, "secondaryThumbprint");
    Result<std::string> type = string_field(auth, "type");
    for (const Result<std::string>* r : {&pk, &sk, &pt, &st, &type}) {
        if (!r->ok()) return r->status();
    }
    Result<AuthType> auth_type = auth_type_of(*type, !pt->empty() || !st->empty());
    if (!auth_type.ok()) return auth_type.status();
    d->auth_type = *auth_type;
    d->primary_key = *pk;
    d->secondary_key = *sk;
    d->primary_thumbprint = *pt;
    d->secondary_thumbprint = *st;
    return Status();
}

}  // namespace

const char* auth_type_name(AuthType type) {
    switch (type) {
        case AuthType::sas: return "sas";
        case AuthType::self_signed: return "selfSigned";
        case AuthType::certificate_authority: return "certificateAuthority";
        case AuthType::none: return "none";
    }
    return "sas";
}

json device_to_json(const Device& d) {
    return json{
        {"deviceId", d.id},
        {"generationId", d.generation_id},
        {"etag", d.etag()},
        {"connectionState", d.connected ? "Connected" : "Disconnected"},
        {"status", d.enabled() ? "enabled" : "disabled"},
        {"statusReason", d.status_reason.empty() ? json(nullptr) : json(d.status_reason)},
        {"connectionStateUpdatedTime", time_or_never(d.connection_state_updated_ms)},
        {"statusUpdatedTime", time_or_never(d.status_updated_ms)},
        {"lastActivityTime", time_or_never(d.last_activity_ms)},
        {"cloudToDeviceMessageCount", d.cloud_to_device_message_count},
        {"authentication",
         {{"symmetricKey", {{"primaryKey", d.primary_key}, {"secondaryKey", d.secondary_key}}},
          {"x509Thumbprint",
           {{"primaryThumbprint", d.primary_thumbprint.empty() ? json(nullptr)
                                                               : json(d.primary_thumbprint)},
            {"secondaryThumbprint", d.secondary_thumbprint.empty()
                                        ? json(nullptr)
                                        : json(d.secondary_thumbprint)}}},
          {"type", auth_type_name(d.auth_type)}}},
        {"capabilities", {{"iotEdge", d.iot_edge}}},
    };
}

Result<Device> device_from_json(const json& in) {
    if (!in.is_object()) return Status(Code::invalid_argument, "a device must be a JSON object");
    Device d;
    Result<std::string> id = string_field(in, "deviceId");
    Result<std::string> status = string_field(in, "status");
    Result<std::string> reason = string_field(in, "statusReason");
    Result<std::string> generation = string_field(in, "generationId");
    for (const Result<std::string>* r : {&id, &status, &reason, &generation}) {
        if (!r->ok()) return r->status();
    }
    d.id = *id;
    d.generation_id = *generation;
    d.status_reason = *reason;
    if (*status == "disabled" || *status == "Disabled") {
        d.status = DeviceStatus::disabled;
    } else if (!status->empty() && *status != "enabled" && *status != "Enabled") {
        return Status(Code::invalid_argument, "status must be 'enabled' or 'disabled'");
    }
    Status auth = read_authentication(in, &d);
    if (!auth.ok()) return auth;
    const json& caps = member_or_empty(in, "capabilities");
    auto edge = caps.find("iotEdge");
    d.iot_edge = edge != caps.end() && edge->is_boolean() && edge->get<bool>();
    return d;
}

}  // namespace hub
