// ProvisioningService, the device side: authenticate a register call, start an operation,
// and complete the assignment on a timer (allocate a hub, create the identity there, record
// the `assign` transition).
#include <nlohmann/json.hpp>

#include "hub/core/provisioning/provisioning_change.hpp"
#include "hub/core/json_text.hpp"
#include "hub/core/provisioning/provisioning_service.hpp"

namespace hub::provisioning {

// Who a register call proved to be: exactly one of enrollment / group is set.
struct ProvisioningService::Authenticated {
    const IndividualEnrollment* enrollment = nullptr;
    const EnrollmentGroup* group = nullptr;
};

// What an assignment decided: an outcome, and when assigned the new record and transition.
struct ProvisioningService::Assignment {
    RegistrationStatus status = RegistrationStatus::failed;
    int32_t error_code = 0;
    std::string message;
    DeviceLifecycle device;
    LifecycleTransition transition;
    SymmetricKeyAttestation keys;
};

namespace {

constexpr std::string_view kRegistrationKeyName = "registration";

std::string region_hint(const std::string& payload) {
    if (payload.empty()) return "";
    const nlohmann::json j = nlohmann::json::parse(payload, nullptr, false);
    if (!j.is_object() || !j.contains("region") || !j["region"].is_string()) return "";
    return j["region"].get<std::string>();
}

Substatus next_substatus(const DeviceLifecycle& d, const std::string& hub, bool migrate) {
    if (d.assigned_hub.empty()) return Substatus::initial_assignment;
    if (hub == d.assigned_hub) return d.substatus;
    if (hub == d.initial_hub) return Substatus::reprovisioned_to_initial_assignment;
    return migrate ? Substatus::device_data_migrated : Substatus::device_data_reset;
}

}  // namespace

Result<RegistrationOperation> ProvisioningService::register_device(std::string_view registration_id,
                                                                   std::string_view sas_token,
                                                                   std::string_view payload_json,
                                                                   int64_t now_utc_ms) {
    if (!is_valid_registration_id(registration_id)) {
        return Status(Code::invalid_argument,
                      "invalid registrationId '" + std::string(registration_id) + "'");
    }
    if (payload_json.size() > kPayloadBytesMax) {
        return Status(Code::invalid_argument, "payload is longer than 4096 bytes");
    }
    std::string payload;
    if (!payload_json.empty()) {
        const nlohmann::json j = nlohmann::json::parse(payload_json, nullptr, false);
        if (j.is_discarded()) return Status(Code::invalid_argument, "payload is not JSON");
        payload = json_text(j);
    }
    if (payload.size() > kPayloadBytesMax) {
        return Status(Code::invalid_argument, "payload is longer than 4096 bytes");
    }
    Result<Authenticated> who = authenticate(registration_id, sas_token, now_utc_ms);
    if (!who.ok()) return who.status();
    if (pending_.size() >= kOperationsMax) {
        return Status(Code::resource_exhausted, "too many registrations in progress; retry later");
    }
    return start_registration(*who, new_operation(registration_id, payload, now_utc_ms));
}

Status ProvisioningService::check_registration_token(std::string_view registration_id,
                                                    std::string_view sas_token,
                                                    int64_t now_utc_ms) const {
    return authenticate(registration_id, sas_token, now_utc_ms).status();
}

Result<ProvisioningService::Authenticated> ProvisioningService::authenticate(
    std::string_view registration_id, std::string_view sas_token, int64_t now_utc_ms) const {
    Result<auth::SasToken> token = auth::parse_sas_token(sas_token);
    if (!token.ok()) return Status(Code::unauthorized, token.status().message());
    const std::string audience =
        config_.id_scope + "/registrations/" + std::string(registration_id);
    Result<std::string> sr = auth::url_decode(token->sr);
    if (!sr.ok() || *sr != audience) {
        return Status(Code::unauthorized,
                      "token audience '" + token->sr + "' is not '" + audience + "'");
    }
    if (token->skn != kRegistrationKeyName) {
        return Status(Code::unauthorized, "token key name must be 'registration'");
    }
    const int64_t now_s = now_utc_ms / 1000;
    if (token->se <= now_s) return Status(Code::unauthorized, "token expired");
    const IndividualEnrollment* e = find_enrollment(registration_id);
    if (e == nullptr) return authenticate_group(registration_id, *token, now_s);
    for (const std::string* key : {&e->attestation.primary_key, &e->attestation.secondary_key}) {
        if (!key->empty() && auth::verify_sas_token(*token, *key, now_s).ok()) {
            return Authenticated{e, nullptr};
        }
    }
    return Status(Code::unauthorized,
                  "signature mismatch for '" + std::string(registration_id) + "'");
}

Result<ProvisioningService::Authenticated> ProvisioningService::authenticate_group(
    std::string_view registration_id, const auth::SasToken& token, int64_t now_s) const {
    if (groups_.empty()) {
        return Status(Code::not_found,
                      "no enrollment for registration '" + std::string(registration_id) + "'");
    }
    // Groups in id order: the first whose derived key signs the token admits the device.
    for (const auto& [id, group] : groups_) {
        for (const std::string* key :
             {&group.attestation.primary_key, &group.attestation.secondary_key}) {
            if (key->empty()) continue;
            Result<std::string> derived = derive_device_key(*key, registration_id);
            HUB_ASSERT(derived.ok());  // group keys were validated on create/update
            if (auth::verify_sas_token(token, *derived, now_s).ok()) {
                return Authenticated{nullptr, &group};
            }
        }
    }
    return Status(Code::unauthorized, "no enrollment or enrollment group key signs the token of '" +
                                          std::string(registration_id) + "'");
}

RegistrationOperation ProvisioningService::new_operation(std::string_view registration_id,
                                                         std::string_view payload,
                                                         int64_t now_utc_ms) {
    RegistrationOperation op;
    // 128 random bits: a collision is a bug in the generator, not bad luck.
    op.operation_id = env_.random().guid_text();
    HUB_ASSERT(!operations_.contains(op.operation_id));
    op.sequence = next_operation_sequence_++;
    op.registration_id = std::string(registration_id);
    op.status = RegistrationStatus::assigning;
    op.payload = std::string(payload);
    op.created_ms = op.updated_ms = now_utc_ms;
    return op;
}

Result<RegistrationOperation> ProvisioningService::start_registration(const Authenticated& who,
                                                                      RegistrationOperation op) {
    const EnrollmentPolicy& policy = who.enrollment != nullptr
                                         ? static_cast<const EnrollmentPolicy&>(*who.enrollment)
                                         : *who.group;
    const std::string group_id = who.group != nullptr ? who.group->group_id : "";
    const DeviceLifecycle* d = lifecycle(op.registration_id);
    Change c;
    // The lifecycle's refusal says more than "disabled" (a deprovisioned device's enrollment is
    // disabled too), so it goes first.
    if (d != nullptr && !lifecycle_target(d->state, LifecycleEvent::assign)) {
        Result<LifecycleState> refused =
            lifecycle_next(d->state, LifecycleEvent::assign, op.registration_id);
        finish_operation(op, RegistrationStatus::disabled, 0, refused.status().message());
    } else if (!policy.enabled()) {
        finish_operation(op, RegistrationStatus::disabled, 0, "the enrollment is disabled");
    } else if (d == nullptr) {
        if (devices_.size() >= kDeviceRecordsMax) {
            return Status(Code::resource_exhausted, "the device record quota is used up");
        }
        // A group member's first registration: its record starts here, in provisioned.
        DeviceLifecycle created;
        created.registration_id = op.registration_id;
        created.device_id = op.registration_id;
        created.group_id = group_id;
        created.reason = group_id.empty()
                             ? "registered"
                             : "registered through enrollment group '" + group_id + "'";
        created.created_ms = created.updated_ms = env_.utc_now_ms();
        created.version = 1;
        c.transition = LifecycleTransition{created.created_ms, std::nullopt, created.state,
                                           LifecycleEvent::enroll, created.reason};
        c.device = std::move(created);
    } else if (d->group_id != group_id) {
        DeviceLifecycle moved = *d;  // now admitted by another enrollment
        moved.history.clear();
        moved.group_id = group_id;
        moved.version += 1;
        c.device = std::move(moved);
    }
    c.operation = op;
    Status s = commit(std::move(c));
    if (!s.ok()) return s;
    if (!op.finished()) schedule_assignment(op.operation_id, config_.assignment_delay);
    env_.trace("provisioning.register", op.registration_id + " op=" + op.operation_id +
                                            " status=" + registration_status_name(op.status));
    return op;
}

void ProvisioningService::finish_operation(RegistrationOperation& op, RegistrationStatus status,
                                           int32_t error_code, std::string message) {
    HUB_ASSERT(!op.finished());
    HUB_ASSERT(status != RegistrationStatus::assigning);
    op.status = status;
    op.error_code = error_code;
    op.error_message = std::move(message);
    op.updated_ms = env_.utc_now_ms();
}

const EnrollmentPolicy* ProvisioningService::policy_for(const DeviceLifecycle& d) const {
    if (const IndividualEnrollment* e = find_enrollment(d.registration_id)) return e;
    if (d.group_id.empty()) return nullptr;
    return find_group(d.group_id);
}

Result<SymmetricKeyAttestation> ProvisioningService::device_keys(const DeviceLifecycle& d) const {
    if (const IndividualEnrollment* e = find_enrollment(d.registration_id)) return e->attestation;
    const EnrollmentGroup* g = d.group_id.empty() ? nullptr : find_group(d.group_id);
    if (g == nullptr) {
        return Status(Code::not_found, "the enrollment of '" + d.registration_id + "' is gone");
    }
    SymmetricKeyAttestation keys;
    Result<std::string> primary = derive_device_key(g->attestation.primary_key, d.registration_id);
    HUB_ASSERT(primary.ok());
    keys.primary_key = *primary;
    if (!g->attestation.secondary_key.empty()) {
        Result<std::string> secondary =
            derive_device_key(g->attestation.secondary_key, d.registration_id);
        HUB_ASSERT(secondary.ok());
        keys.secondary_key = *secondary;
    }
    return keys;
}

ProvisioningService::Assignment ProvisioningService::plan_assignment(
    const RegistrationOperation& op) {
    const DeviceLifecycle* d = lifecycle(op.registration_id);
    HUB_ASSERT(d != nullptr);  // register_device() made it; records are never dropped
    Assignment a;
    const EnrollmentPolicy* policy = policy_for(*d);
    if (policy == nullptr) {
        a.error_code = kErrorEnrollmentNotFound;
        a.message = "the enrollment of '" + d->registration_id + "' was removed";
        return a;
    }
    Result<LifecycleState> next =
        lifecycle_next(d->state, LifecycleEvent::assign, d->registration_id);
    if (!next.ok() || !policy->enabled()) {
        a.status = RegistrationStatus::disabled;
        a.message = next.ok() ? "the enrollment is disabled" : next.status().message();
        return a;
    }
    std::string hub = d->assigned_hub;
    if (hub.empty() || policy->reprovision_policy.update_hub_assignment) {
        AllocationRequest request{
            d->registration_id,
            policy->allocation_policy.value_or(config_.default_allocation_policy), policy->iot_hubs,
            region_hint(op.payload)};
        Result<std::string> allocated = allocate(hubs_, request, config_.region_distances);
        if (!allocated.ok()) {
            a.error_code = kErrorNoHubAllocated;
            a.message = allocated.status().message();
            return a;
        }
        hub = *allocated;
    }
    Result<SymmetricKeyAttestation> keys = device_keys(*d);
    HUB_ASSERT(keys.ok());  // policy_for() found the enrollment
    a.keys = *keys;
    a.status = RegistrationStatus::assigned;
    a.device = *d;
    a.device.history.clear();
    a.device.state = *next;
    const IndividualEnrollment* e = find_enrollment(d->registration_id);
    a.device.device_id = e != nullptr ? e->device_id : d->registration_id;
    a.device.substatus = next_substatus(*d, hub, policy->reprovision_policy.migrate_device_data);
    a.device.assigned_hub = hub;
    if (a.device.initial_hub.empty()) a.device.initial_hub = hub;
    a.device.reason = "assigned to " + hub;
    a.device.updated_ms = env_.utc_now_ms();
    a.device.version += 1;
    a.transition = LifecycleTransition{a.device.updated_ms, d->state, *next, LifecycleEvent::assign,
                                       a.device.reason};
    return a;
}

Status ProvisioningService::ensure_identity(const std::string& hub, const std::string& device_id,
                                            const SymmetricKeyAttestation& keys, bool enable) {
    Registry* registry = directory_.registry_for(hub);
    if (registry == nullptr) return Status(Code::unavailable, "hub '" + hub + "' is not reachable");
    const Device* existing = registry->find(device_id);
    if (existing == nullptr) {
        Device d;
        d.id = device_id;
        d.auth_type = AuthType::sas;
        d.primary_key = keys.primary_key;
        d.secondary_key = keys.secondary_key;
        return registry->create(std::move(d)).status();
    }
    Device d = *existing;
    bool changed = false;
    if (d.auth_type != AuthType::sas || d.primary_key != keys.primary_key ||
        d.secondary_key != keys.secondary_key) {
        d.auth_type = AuthType::sas;
        d.primary_key = keys.primary_key;
        d.secondary_key = keys.secondary_key;
        changed = true;
    }
    if (enable && !d.enabled()) {
        d.status = DeviceStatus::enabled;
        changed = true;
    }
    return changed ? registry->update(std::move(d), "*").status() : Status();
}

void ProvisioningService::complete_assignment(const std::string& operation_id) {
    auto pending = pending_.find(operation_id);
    HUB_ASSERT(pending != pending_.end());
    pending->second.timer = 0;
    const uint32_t attempts = ++pending->second.attempts;
    RegistrationOperation op = operations_.at(operation_id);
    HUB_ASSERT(!op.finished());
    Assignment a = plan_assignment(op);
    Change c;
    if (a.status == RegistrationStatus::assigned) {
        Status s = ensure_identity(a.device.assigned_hub, a.device.device_id, a.keys, false);
        if (!s.ok()) {
            a.status = RegistrationStatus::failed;
            a.error_code = s.code() == Code::unavailable ? kErrorHubUnavailable : kErrorHubRefused;
            a.message = s.message();
        }
    }
    if (a.status == RegistrationStatus::assigned) {
        op.assigned_hub = a.device.assigned_hub;
        op.device_id = a.device.device_id;
        op.substatus = a.device.substatus;
        op.etag = a.device.etag();
        op.registration_created_ms = a.device.created_ms;
        c.transition = a.transition;
        c.device = std::move(a.device);
    }
    finish_operation(op, a.status, a.error_code, a.message);
    const std::string outcome = op.registration_id + " op=" + operation_id +
                                " status=" + registration_status_name(op.status) +
                                " hub=" + op.assigned_hub;
    const std::optional<LifecycleTransition> transition = c.transition;
    const std::string registration_id = op.registration_id;
    c.operation = std::move(op);
    Status s = commit(std::move(c));
    if (!s.ok()) {
        env_.trace("provisioning.assign_not_recorded", operation_id + " " + s.to_string());
        if (attempts < kAssignmentAttemptsMax) {
            schedule_assignment(operation_id, kAssignmentRetryDelay);
        }
        return;
    }
    if (transition) trace_transition(registration_id, *transition);
    env_.trace("provisioning.assign", outcome);
}

}  // namespace hub::provisioning
