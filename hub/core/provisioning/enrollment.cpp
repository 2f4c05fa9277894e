#include "hub/core/provisioning/enrollment.hpp"


#include <cctype>

#include "hub/auth/sas.hpp"
#include "hub/core/provisioning/json_fields.hpp"
#include "hub/core/registry.hpp"
#include "hub/core/time_format.hpp"

namespace hub::provisioning {

namespace {

using nlohmann::json;

Status validate_policy(EnrollmentPolicy& p, Random& random) {
    SymmetricKeyAttestation& keys = p.attestation;
    if (keys.primary_key.empty() && keys.secondary_key.empty()) {
        keys.primary_key = generate_device_key(random);
        keys.secondary_key = generate_device_key(random);
    }
    Status s = check_symmetric_key(keys.primary_key, "attestation.symmetricKey.primaryKey");
    if (s.ok() && !keys.secondary_key.empty()) {
        s = check_symmetric_key(keys.secondary_key, "attestation.symmetricKey.secondaryKey");
    }
    if (!s.ok()) return s;
    if (p.iot_hubs.size() > kLinkedHubsMax) {
        return Status(Code::invalid_argument, "iotHubs names more than 50 hubs");
    }
    for (const std::string& hub : p.iot_hubs) {
        if (hub.empty() || hub.size() > kHubNameBytesMax) {
            return Status(Code::invalid_argument, "iotHubs holds an invalid hub name");
        }
    }
    if (p.allocation_policy == AllocationPolicy::static_hub && p.iot_hubs.size() != 1) {
        return Status(Code::invalid_argument, "static allocation needs exactly one hub in iotHubs");
    }
    return Status();
}

json policy_to_json(const EnrollmentPolicy& p) {
    json j = {
        {"attestation",
         {{"type", "symmetricKey"},
          {"symmetricKey",
           {{"primaryKey", p.attestation.primary_key},
            {"secondaryKey", p.attestation.secondary_key}}}}},
        {"provisioningStatus", p.enabled() ? "enabled" : "disabled"},
        {"iotHubs", p.iot_hubs},
        {"reprovisionPolicy",
         {{"updateHubAssignment", p.reprovision_policy.update_hub_assignment},
          {"migrateDeviceData", p.reprovision_policy.migrate_device_data}}},
        {"etag", p.etag()},
        {"createdDateTimeUtc", format_utc_ms(p.created_ms)},
        {"lastUpdatedDateTimeUtc", format_utc_ms(p.updated_ms)},
    };
    if (p.allocation_policy) j["allocationPolicy"] = allocation_policy_name(*p.allocation_policy);
    return j;
}

Status read_attestation(const json& j, SymmetricKeyAttestation& out) {
    if (!j.contains("attestation")) return Status();
    const json& a = j["attestation"];
    std::string type = "symmetricKey";
    if (!a.is_object() || !json_fields::read(a, "type", type).ok() || type != "symmetricKey") {
        return Status(Code::invalid_argument, "attestation.type must be symmetricKey");
    }
    if (!a.contains("symmetricKey")) return Status();
    const json& k = a["symmetricKey"];
    if (!k.is_object()) {
        return Status(Code::invalid_argument, "attestation.symmetricKey is not an object");
    }
    Status s = json_fields::read(k, "primaryKey", out.primary_key);
    return s.ok() ? json_fields::read(k, "secondaryKey", out.secondary_key) : s;
}

Status read_status_and_policy(const json& j, EnrollmentPolicy& p) {
    std::string status = "enabled";
    Status s = json_fields::read(j, "provisioningStatus", status);
    if (!s.ok()) return s;
    if (status != "enabled" && status != "disabled") {
        return Status(Code::invalid_argument, "provisioningStatus must be enabled or disabled");
    }
    p.provisioning_status =
        status == "enabled" ? ProvisioningStatus::enabled : ProvisioningStatus::disabled;
    std::string policy;
    s = json_fields::read(j, "allocationPolicy", policy);
    if (!s.ok()) return s;
    if (!policy.empty()) {
        p.allocation_policy = allocation_policy_from_name(policy);
        if (!p.allocation_policy) {
            return Status(Code::invalid_argument,
                          "allocationPolicy must be static, hashed or geoLatency");
        }
    }
    return Status();
}

Status read_hubs_and_reprovision(const json& j, EnrollmentPolicy& p) {
    if (j.contains("iotHubs") && !j["iotHubs"].is_null()) {
        const json& hubs = j["iotHubs"];
        if (!hubs.is_array() || hubs.size() > kLinkedHubsMax) {
            return Status(Code::invalid_argument, "iotHubs must be an array of at most 50 names");
        }
        for (const json& h : hubs) {
            if (!h.is_string()) return Status(Code::invalid_argument, "iotHubs holds a non-string");
            p.iot_hubs.push_back(h.get<std::string>());
        }
    }
    if (!j.contains("reprovisionPolicy") || j["reprovisionPolicy"].is_null()) return Status();
    const json& r = j["reprovisionPolicy"];
    if (!r.is_object()) return Status(Code::invalid_argument, "reprovisionPolicy is not an object");
    Status s =
        json_fields::read(r, "updateHubAssignment", p.reprovision_policy.update_hub_assignment);
    return s.ok()
               ? json_fields::read(r, "migrateDeviceData", p.reprovision_policy.migrate_device_data)
               : s;
}

Status read_record_fields(const json& j, EnrollmentPolicy& p) {
    Status s = json_fields::read(j, "version", p.version);
    if (!s.ok()) return s;
    for (auto [name, out] : {std::pair("createdDateTimeUtc", &p.created_ms),
                             std::pair("lastUpdatedDateTimeUtc", &p.updated_ms)}) {
        std::string text;
        s = json_fields::read(j, name, text);
        if (!s.ok()) return s;
        if (text.empty()) continue;
        Result<int64_t> ms = parse_utc_ms(text);
        if (!ms.ok()) {
            return Status(Code::invalid_argument, std::string(name) + ": " + ms.status().message());
        }
        *out = *ms;
    }
    return Status();
}

Status read_policy(const json& j, EnrollmentPolicy& p) {
    Status s = read_attestation(j, p.attestation);
    if (s.ok()) s = read_status_and_policy(j, p);
    if (s.ok()) s = read_hubs_and_reprovision(j, p);
    if (s.ok()) s = read_record_fields(j, p);
    return s;
}

}  // namespace

std::string EnrollmentPolicy::etag() const { return version_etag(version); }

bool is_valid_registration_id(std::string_view id) {
    if (id.empty() || id.size() > kRegistrationIdBytesMax) return false;
    for (char c : id) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_' &&
            c != ':') {
            return false;
        }
    }
    return true;
}

std::string version_etag(uint64_t version) {
    Bytes be(8);
    for (int i = 0; i < 8; ++i) be[7 - i] = static_cast<uint8_t>(version >> (8 * i));
    return auth::base64_encode(be);
}

Result<std::string> derive_device_key(std::string_view group_key_base64,
                                      std::string_view registration_id) {
    Result<Bytes> key = auth::base64_decode(group_key_base64);
    if (!key.ok() || key->empty()) {
        return Status(Code::invalid_argument, "the group key is not base64");
    }
    return auth::base64_encode(auth::hmac_sha256(*key, registration_id));
}

Status validate_enrollment(IndividualEnrollment& e, Random& random) {
    if (!is_valid_registration_id(e.registration_id)) {
        return Status(Code::invalid_argument, "invalid registrationId '" + e.registration_id +
                                                  "' (1-128 chars: letters, digits, -._:)");
    }
    if (e.device_id.empty()) e.device_id = e.registration_id;
    if (!is_valid_device_id(e.device_id)) {
        return Status(Code::invalid_argument, "invalid deviceId '" + e.device_id + "'");
    }
    return validate_policy(e, random);
}

Status validate_group(EnrollmentGroup& g, Random& random) {
    if (g.group_id.empty() || g.group_id.size() > kEnrollmentGroupIdBytesMax ||
        !is_valid_registration_id(g.group_id)) {
        return Status(Code::invalid_argument, "invalid enrollmentGroupId '" + g.group_id + "'");
    }
    return validate_policy(g, random);
}

json enrollment_to_json(const IndividualEnrollment& e) {
    json j = policy_to_json(e);
    j["registrationId"] = e.registration_id;
    j["deviceId"] = e.device_id;
    return j;
}

json group_to_json(const EnrollmentGroup& g) {
    json j = policy_to_json(g);
    j["enrollmentGroupId"] = g.group_id;
    return j;
}

Result<IndividualEnrollment> enrollment_from_json(const json& j) {
    if (!j.is_object()) return Status(Code::invalid_argument, "an enrollment is a JSON object");
    IndividualEnrollment e;
    Status s = json_fields::read(j, "registrationId", e.registration_id);
    if (s.ok()) s = json_fields::read(j, "deviceId", e.device_id);
    if (s.ok()) s = read_policy(j, e);
    if (!s.ok()) return s;
    return e;
}

Result<EnrollmentGroup> group_from_json(const json& j) {
    if (!j.is_object()) {
        return Status(Code::invalid_argument, "an enrollment group is a JSON object");
    }
    EnrollmentGroup g;
    Status s = json_fields::read(j, "enrollmentGroupId", g.group_id);
    if (s.ok()) s = read_policy(j, g);
    if (!s.ok()) return s;
    return g;
}

}  // namespace hub::provisioning
