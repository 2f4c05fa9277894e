// Enrollments: who may register with the provisioning service, and how it is allocated.
//
// Concept (Azure DPS, symmetric-key attestation):
// - An individual enrollment is one device: a registration id, its own symmetric keys
//   (primary/secondary, generated when empty), the device id it gets in its hub (defaults to
//   the registration id), a provisioning status (enabled/disabled), an optional allocation
//   policy overriding the service's default, the hubs it may be assigned to, and a
//   reprovision policy for re-registrations.
// - An enrollment group admits every device that proves knowledge of a key derived from the
//   group key: device key = base64(HMAC-SHA256(key = base64decode(group key),
//   message = registration id)) (reference §5, [recollection]; pinned by a test against
//   openssl). The device id is the registration id.
// Both carry an etag derived from a version that changes on every update (If-Match works as
// in the registry: "", "*" or the current etag, quotes allowed).
//
// JSON follows the DPS REST shapes (IndividualEnrollment / EnrollmentGroup): registrationId
// or enrollmentGroupId, deviceId, attestation{type:"symmetricKey", symmetricKey{primaryKey,
// secondaryKey}}, provisioningStatus, allocationPolicy, iotHubs, reprovisionPolicy
// {updateHubAssignment, migrateDeviceData}, etag, createdDateTimeUtc, lastUpdatedDateTimeUtc.
//
// Plain values and pure functions; key generation draws from the Random passed in.
//
// Example:
//   IndividualEnrollment e;
//   e.registration_id = "sensor-1";
//   Status s = validate_enrollment(e, env.random());  // fills keys and device id
//   Result<std::string> key = derive_device_key(group.attestation.primary_key, "sensor-2");
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "hub/core/provisioning/allocation.hpp"
#include "hub/env/random.hpp"
#include "hub/env/status.hpp"

namespace hub::provisioning {

// DPS: registration ids are at most 128 characters, letters, digits and "-._:".
constexpr size_t kRegistrationIdBytesMax = 128;
constexpr size_t kEnrollmentGroupIdBytesMax = 128;
// DPS service quotas: 1,000,000 individual enrollments, 100 enrollment groups per instance.
constexpr size_t kEnrollmentsMax = 1'000'000;
constexpr size_t kEnrollmentGroupsMax = 100;

enum class ProvisioningStatus : uint8_t { enabled, disabled };

struct SymmetricKeyAttestation {
    std::string primary_key;  // base64 of 16..64 bytes
    std::string secondary_key;
};

// What a re-registration of an assigned device does (DPS reprovisionPolicy). With
// update_hub_assignment false the device keeps its hub; otherwise the allocation policy runs
// again, and a move is reported as deviceDataMigrated or deviceDataReset.
struct ReprovisionPolicy {
    bool update_hub_assignment = true;
    bool migrate_device_data = true;
};

// The fields both kinds share.
struct EnrollmentPolicy {
    SymmetricKeyAttestation attestation;
    ProvisioningStatus provisioning_status = ProvisioningStatus::enabled;
    std::optional<AllocationPolicy> allocation_policy;  // nullopt: the service's default
    std::vector<std::string> iot_hubs;                  // allowed hubs; empty = all linked
    ReprovisionPolicy reprovision_policy;
    uint64_t version = 0;  // the etag is derived from it
    int64_t created_ms = 0;
    int64_t updated_ms = 0;

    bool enabled() const { return provisioning_status == ProvisioningStatus::enabled; }
    std::string etag() const;
};

struct IndividualEnrollment : EnrollmentPolicy {
    std::string registration_id;
    std::string device_id;  // empty on input: the registration id
};

struct EnrollmentGroup : EnrollmentPolicy {
    std::string group_id;
};

bool is_valid_registration_id(std::string_view id);
// The etag form shared by enrollments and registration records: base64 of the 8-byte
// big-endian version, as the registry does.
std::string version_etag(uint64_t version);

// base64(HMAC-SHA256(base64decode(group_key_base64), registration_id)).
// Errors: invalid_argument when the group key is not base64.
Result<std::string> derive_device_key(std::string_view group_key_base64,
                                      std::string_view registration_id);

// Check the client's fields; generate both keys when both are empty; default the device id.
// Errors: invalid_argument naming the field.
Status validate_enrollment(IndividualEnrollment& enrollment, Random& random);
Status validate_group(EnrollmentGroup& group, Random& random);

nlohmann::json enrollment_to_json(const IndividualEnrollment& enrollment);
nlohmann::json group_to_json(const EnrollmentGroup& group);
// Read what a client sends (or a durable record). A missing provisioningStatus reads as
// enabled, missing keys as "generate". Errors: invalid_argument naming the field.
Result<IndividualEnrollment> enrollment_from_json(const nlohmann::json& json);
Result<EnrollmentGroup> group_from_json(const nlohmann::json& json);

}  // namespace hub::provisioning
