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

// A group member's key, or "" (no key to try) when the group has none in that slot.
std::string derived_key(const std::string& group_key, std::string_view registration_id) {
    if (group_key.empty()) return "";
    Result<std::string> key = provisioning::derive_device_key(group_key, registration_id);
    HUB_ASSERT(key.ok());  // group keys are validated when the group is written
    return *key;
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
    Result<auth::SasToken> token = parse_live_token(token_text, now_s);
    if (!token.ok()) return token.status();
    const std::string audience =
        std::string(id_scope) + "/registrations/" + std::string(registration_id);
    Result<std::string> sr = auth::url_decode(token->sr);
    if (!sr.ok() || *sr != audience) {
        return Status(Code::unauthorized,
                      "token audience '" + token->sr + "' is not '" + audience + "'");
    }
    if (token->skn != kRegistrationKeyName) {
        return Status(Code::unauthorized, "token key name must be 'registration'");
    }
    // Same order as register: an individual enrollment decides alone; else the groups.
    if (const provisioning::IndividualEnrollment* e = dps.find_enrollment(registration_id)) {
        if (signed_by_either(*token, e->attestation.primary_key, e->attestation.secondary_key,
                             now_s)) {
            return Status();
        }
        return Status(Code::unauthorized,
                      "signature mismatch for '" + std::string(registration_id) + "'");
    }
    for (const provisioning::EnrollmentGroup* g :
         dps.list_groups("", provisioning::kEnrollmentGroupsMax)) {
        if (signed_by_either(*token, derived_key(g->attestation.primary_key, registration_id),
                             derived_key(g->attestation.secondary_key, registration_id), now_s)) {
            return Status();
        }
    }
    return Status(Code::unauthorized, "no enrollment or enrollment group key signs the token of '" +
                                          std::string(registration_id) + "'");
}

std::string provisioning_connection_string(const ProvisioningEndpoint& endpoint) {
    return "HostName=" + endpoint.host_name + ";SharedAccessKeyName=" + endpoint.policy.name +
           ";SharedAccessKey=" + endpoint.policy.primary_key;
}

}  // namespace hub::http
