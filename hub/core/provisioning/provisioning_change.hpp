// Change: one atomic change to the provisioning service's state, and its durable JSON record
// (private to hub/core/provisioning).
//
// Every mutating call of ProvisioningService builds one Change, appends it as one record to
// "provisioning.log", syncs, and only then applies it to memory; open() decodes the records
// and applies them with the same function. One record per call keeps multi-part changes
// atomic (an assignment's operation result, device record and transition; a deprovision's
// device record and enrollment): a crash keeps all of a record or none of it.
//
// Record: a JSON object with any of the keys "hub", "hubRemoved", "enrollment",
// "enrollmentRemoved", "group", "groupRemoved", "device", "transition", "operation".
#pragma once

#include <optional>
#include <string>

#include "hub/core/provisioning/allocation.hpp"
#include "hub/core/provisioning/enrollment.hpp"
#include "hub/core/provisioning/registration.hpp"
#include "hub/env/env.hpp"

namespace hub::provisioning {

struct Change {
    std::optional<LinkedHub> hub;
    std::optional<std::string> hub_removed;
    std::optional<IndividualEnrollment> enrollment;
    std::optional<std::string> enrollment_removed;
    std::optional<EnrollmentGroup> group;
    std::optional<std::string> group_removed;
    std::optional<DeviceLifecycle> device;          // the whole record after the change
    std::optional<LifecycleTransition> transition;  // REQUIRES device: appended to its history
    std::optional<RegistrationOperation> operation;
};

std::string encode_change(const Change& change);
// Errors: corruption naming what is wrong.
Result<Change> decode_change(const Bytes& record);

}  // namespace hub::provisioning
