#include "hub/core/access.hpp"

#include <algorithm>
#include <cctype>

#include "hub/auth/sas.hpp"

namespace hub {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// Valid with either key: the SDKs rotate between them.
Status verify_with_keys(const auth::SasToken& token, const std::string& primary,
                        const std::string& secondary, int64_t now_s) {
    Status s = auth::verify_sas_token(token, primary, now_s);
    if (s.ok() || secondary.empty() || s.message() == "token expired") {
        return s;
    }
    return auth::verify_sas_token(token, secondary, now_s);
}

// Policy tokens come signed either way: IoT SDKs use the decoded key, Event Hubs clients the
// key text (reference §9).
Status verify_policy_token(const auth::SasToken& token, const SharedAccessPolicy& policy,
                           int64_t now_s) {
    Status s = verify_with_keys(token, policy.primary_key, policy.secondary_key, now_s);
    if (s.ok() || s.message() == "token expired") return s;
    for (const std::string* key : {&policy.primary_key, &policy.secondary_key}) {
        if (!key->empty() && auth::verify_sas_token_text_key(token, *key, now_s).ok()) {
            return Status();
        }
    }
    return s;
}

// "sb://host:5671/path" or "host/path" -> "host".
std::string_view audience_host(std::string_view audience) {
    if (const size_t scheme = audience.find("://"); scheme != std::string_view::npos) {
        audience.remove_prefix(scheme + 3);
    }
    audience = audience.substr(0, audience.find('/'));
    return audience.substr(0, audience.find(':'));
}

Result<Principal> authenticate_service(const Registry& registry, std::string_view host_name,
                                       const auth::SasToken& token, int64_t now_s) {
    Result<std::string> audience = auth::url_decode(token.sr);
    if (!audience.ok() || !iequals(audience_host(*audience), host_name)) {
        return Status(Code::unauthorized,
                      "token audience is not this hub (" + std::string(host_name) + ")");
    }
    const SharedAccessPolicy* policy = registry.policy(token.skn);
    if (policy == nullptr) {
        return Status(Code::unauthorized, "unknown shared access policy '" + token.skn + "'");
    }
    Status s = verify_policy_token(token, *policy, now_s);
    if (!s.ok()) return s;
    return Principal{Principal::Kind::service, policy->name, policy->rights, token.se};
}

}  // namespace

Result<Principal> authenticate(const Registry& registry, std::string_view host_name,
                               std::string_view token_text, int64_t now_s) {
    Result<auth::SasToken> token = auth::parse_sas_token(token_text);
    if (!token.ok()) {
        return Status(Code::unauthorized, token.status().message());
    }
    if (!token->skn.empty()) {
        return authenticate_service(registry, host_name, *token, now_s);
    }
    Result<std::string> device_id = auth::device_of_audience(token->sr, host_name);
    if (!device_id.ok()) return device_id.status();
    const Device* device = registry.find(*device_id);
    if (device == nullptr) {
        return Status(Code::unauthorized, "unknown device " + *device_id);
    }
    if (!device->enabled()) {
        return Status(Code::unauthorized, "DeviceDisabled: " + *device_id);
    }
    Status s = verify_with_keys(*token, device->primary_key, device->secondary_key, now_s);
    if (!s.ok()) return s;
    return Principal{Principal::Kind::device, *device_id, kDeviceConnect, token->se};
}

}  // namespace hub
