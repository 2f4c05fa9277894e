// Registration records: what the provisioning service knows about one device (its lifecycle
// state, assigned hub, history) and about one registration operation (DPS's asynchronous
// register call), with their JSON shapes.
//
// Concept (reference §5): a device's register call starts an operation whose status is one of
// unassigned | assigning | assigned | failed | disabled. The device polls the operation; when
// it is no longer assigning, the result carries registrationState {registrationId,
// createdDateTimeUtc, assignedHub, deviceId, status, substatus, lastUpdatedDateTimeUtc, etag}
// (plus errorCode/errorMessage when failed or disabled). substatus is initialAssignment,
// deviceDataMigrated, deviceDataReset or reprovisionedToInitialAssignment.
//
// Plain values; JSON in two forms: the DPS wire shape (to_json) and our durable record form
// (*_record_json / *_from_record), which keeps integer milliseconds so replay is exact.
//
// Example:
//   nlohmann::json wire = operation.to_json();  // {"operationId", "status", ...}
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "hub/core/provisioning/lifecycle_state.hpp"
#include "hub/env/status.hpp"

namespace hub::provisioning {

// A device's history keeps its newest transitions; a lifetime has a handful, but every
// re-registration adds one, so an endlessly re-registering device must not grow memory.
constexpr size_t kHistoryPerDeviceMax = 1024;
// Lifecycle reasons end up in the hub registry's statusReason (128 bytes there).
constexpr size_t kReasonBytesMax = 128;
// A device's register payload is small custom JSON (DPS passes it to custom allocation);
// bounding it bounds each durable record.
constexpr size_t kPayloadBytesMax = 4096;

enum class RegistrationStatus : uint8_t { unassigned, assigning, assigned, failed, disabled };
enum class Substatus : uint8_t {
    initial_assignment,
    device_data_migrated,
    device_data_reset,
    reprovisioned_to_initial_assignment,
};

const char* registration_status_name(RegistrationStatus status);
std::optional<RegistrationStatus> registration_status_from_name(std::string_view name);
const char* substatus_name(Substatus substatus);
std::optional<Substatus> substatus_from_name(std::string_view name);

// Our error codes in DPS's six-digit form (HTTP status * 1000 + n). [inference: DPS documents
// the form, not these numbers.]
constexpr int32_t kErrorEnrollmentNotFound = 404001;
constexpr int32_t kErrorNoHubAllocated = 400001;
constexpr int32_t kErrorHubUnavailable = 503001;
constexpr int32_t kErrorHubRefused = 500001;

// One recorded lifecycle transition. `from` is empty for the record's creation.
struct LifecycleTransition {
    int64_t at_ms = 0;  // UTC
    std::optional<LifecycleState> from;
    LifecycleState to = LifecycleState::provisioned;
    LifecycleEvent event = LifecycleEvent::enroll;
    std::string reason;

    friend bool operator==(const LifecycleTransition&, const LifecycleTransition&) = default;
};

// One device as the provisioning service knows it (keyed by registration id).
struct DeviceLifecycle {
    std::string registration_id;
    std::string device_id;  // its id in the hub
    std::string group_id;   // the enrollment group it came through; empty: individual
    LifecycleState state = LifecycleState::provisioned;
    std::string assigned_hub;  // empty until the first assignment
    std::string initial_hub;   // the first hub it was ever assigned to
    Substatus substatus = Substatus::initial_assignment;
    std::string reason;  // the reason of the last transition
    int64_t created_ms = 0;
    int64_t updated_ms = 0;
    uint64_t version = 0;
    std::vector<LifecycleTransition> history;  // oldest first; not part of the record form

    std::string etag() const;
};

// One register call.
struct RegistrationOperation {
    std::string operation_id;
    uint64_t sequence = 0;  // creation order (eviction and replay order)
    std::string registration_id;
    RegistrationStatus status = RegistrationStatus::assigning;
    std::string payload;  // the device's payload, compact JSON; "" when none
    int64_t created_ms = 0;
    int64_t updated_ms = 0;
    // Set when the operation finishes (a snapshot: later changes do not alter it).
    std::string assigned_hub;
    std::string device_id;
    Substatus substatus = Substatus::initial_assignment;
    std::string etag;
    int64_t registration_created_ms = 0;
    int32_t error_code = 0;
    std::string error_message;

    bool finished() const { return status != RegistrationStatus::assigning; }
    // DPS RegistrationOperationStatus: {operationId, status, registrationState?}.
    nlohmann::json to_json() const;
};

nlohmann::json transition_record_json(const LifecycleTransition& t);
Result<LifecycleTransition> transition_from_record(const nlohmann::json& j);
nlohmann::json lifecycle_record_json(const DeviceLifecycle& d);  // without history
Result<DeviceLifecycle> lifecycle_from_record(const nlohmann::json& j);
nlohmann::json operation_record_json(const RegistrationOperation& op);
Result<RegistrationOperation> operation_from_record(const nlohmann::json& j);

}  // namespace hub::provisioning
