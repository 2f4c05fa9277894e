#include "hub/http/dps_access.hpp"

#include <algorithm>
#include <cctype>

#include "hub/auth/sas.hpp"
#include "hub/core/provisioning/provisioning_service.hpp"
#include "hub/http/routes.hpp"

namespace hub::http {

namespace {

constexpr std::string_view kRegistrationKeyName = "registration";

// Tokens are checked with either key: clients rotate between them.
bool signed_by_either(const auth::SasToken& token, const std::string& primary,
                      const std::string& secondary, int64_t now_s) {
    for (const std::string* key : {&primary, &secondary}) {
        if (!key->empty() && auth::verify_sas_token(token, *key, now_s).ok()) return true;
    }
    return false;
}


// The token, parsed, with its expiry checked first so that an old token says so.
Result<auth::SasToken> parse_live_token(std::string_view token_text, int64_t now_s) {
    if (token_text.empty()) return Status(Code::unauthorized, "no Authorization header");
    Result<auth::SasToken> token = auth::parse_sas_token(token_text);
    if (!token.ok()) return Status(Code::unauthorized, token.status().message());
    if (token->se <= now_s) return Status(Code::unauthorized, "token expired");
    return token;
}

}  // namespace

bool is_valid_id_scope(std::string_view id_scope) {
    return !id_scope.empty() && id_scope.size() <= kIdScopeBytesMax &&
           std::all_of(id_scope.begin(), id_scope.end(),
                       [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; });
}

Status authorize_provisioning_service(const ProvisioningEndpoint& endpoint,
                                      std::string_view token_text, int64_t now_s) {
    HUB_ASSERT(!endpoint.policy.primary_key.empty());
    Result<auth::SasToken> token = parse_live_token(token_text, now_s);
    if (!token.ok()) return token.status();
    // The service SDK signs the raw host name; a path after it is tolerated as the hub does.
    Result<std::string> audience = auth::url_decode(token->sr);
    const std::string host = audience.ok() ? audience->substr(0, audience->find('/')) : "";
    if (!iequals(host, endpoint.host_name)) {
        return Status(Code::unauthorized, "token audience '" + token->sr +
                                              "' is not this provisioning service (" +
                                              endpoint.host_name + ")");
    }
    if (token->skn != endpoint.policy.name) {
        return Status(Code::unauthorized, "unknown shared access policy '" + token->skn + "'");
    }
    if (!signed_by_either(*token, endpoint.policy.primary_key, endpoint.policy.secondary_key,
                          now_s)) {
        return Status(Code::unauthorized, "signature mismatch for policy '" + token->skn + "'");
    }
    return Status();
}

Status authorize_registration(const provisioning::ProvisioningService& dps,
                              std::string_view id_scope, std::string_view registration_id,
                              std::string_view token_text, int64_t now_s) {
    if (id_scope != dps.id_scope()) {
        return Status(Code::unauthorized, "id scope '" + std::string(id_scope) + "' is not served");
    }
    return dps.check_registration_token(registration_id, token_text, now_s * 1000);
}

std::string provisioning_connection_string(const ProvisioningEndpoint& endpoint) {
    return "HostName=" + endpoint.host_name + ";SharedAccessKeyName=" + endpoint.policy.name +
           ";SharedAccessKey=" + endpoint.policy.primary_key;
}

}  // namespace hub::http
