// ProvisioningService, the service side of the device lifecycle: every call asks the table
// (lifecycle_state.cpp) first, then does the hub-side effect, then records the transition.
#include "hub/core/provisioning/provisioning_change.hpp"
#include "hub/core/provisioning/provisioning_service.hpp"

namespace hub::provisioning {

void ProvisioningService::trace_transition(const std::string& registration_id,
                                           const LifecycleTransition& t) {
    env_.trace("provisioning.transition",
               registration_id + " " + (t.from ? lifecycle_state_name(*t.from) : "none") + "->" +
                   lifecycle_state_name(t.to) + " event=" + lifecycle_event_name(t.event) +
                   " reason=" + t.reason);
}

Result<DeviceLifecycle> ProvisioningService::begin_transition(
    std::string_view registration_id, LifecycleEvent event, std::string_view reason,
    LifecycleTransition* transition) const {
    HUB_ASSERT(transition != nullptr);
    if (reason.size() > kReasonBytesMax) {
        return Status(Code::invalid_argument, "reason is longer than 128 bytes");
    }
    const DeviceLifecycle* current = lifecycle(registration_id);
    if (current == nullptr) {
        return Status(Code::not_found,
                      "no device record for '" + std::string(registration_id) + "'");
    }
    Result<LifecycleState> to = lifecycle_next(current->state, event, registration_id);
    if (!to.ok()) return to.status();
    DeviceLifecycle next = *current;
    next.history.clear();  // the record form carries no history; apply() keeps it
    next.state = *to;
    next.reason = std::string(reason);
    next.updated_ms = env_.utc_now_ms();
    next.version += 1;
    *transition = LifecycleTransition{next.updated_ms, current->state, *to, event, next.reason};
    return next;
}

Status ProvisioningService::commit_transition(DeviceLifecycle device, LifecycleTransition t,
                                              Change change) {
    HUB_ASSERT(t.to == device.state);
    const std::string id = device.registration_id;
    change.device = std::move(device);
    change.transition = t;
    Status s = commit(std::move(change));
    if (s.ok()) trace_transition(id, t);
    return s;
}

Status ProvisioningService::set_identity_status(const DeviceLifecycle& device, bool enabled,
                                                std::string_view reason) {
    HUB_ASSERT(!device.assigned_hub.empty());
    Registry* registry = directory_.registry_for(device.assigned_hub);
    if (registry == nullptr) {
        return Status(Code::unavailable, "hub '" + device.assigned_hub + "' is not reachable");
    }
    const Device* existing = registry->find(device.device_id);
    if (existing == nullptr) {
        if (!enabled) return Status();  // nothing left to disable
        Result<SymmetricKeyAttestation> keys = device_keys(device);
        if (!keys.ok()) return keys.status();
        Status s = ensure_identity(device.assigned_hub, device.device_id, *keys, true);
        if (!s.ok()) return s;
        existing = registry->find(device.device_id);
        HUB_ASSERT(existing != nullptr);
    }
    Device d = *existing;
    d.status = enabled ? DeviceStatus::enabled : DeviceStatus::disabled;
    d.status_reason = std::string(reason);
    return registry->update(std::move(d), "*").status();
}

Status ProvisioningService::delete_identity(const DeviceLifecycle& device) {
    HUB_ASSERT(!device.assigned_hub.empty());
    Registry* registry = directory_.registry_for(device.assigned_hub);
    if (registry == nullptr) {
        return Status(Code::unavailable, "hub '" + device.assigned_hub + "' is not reachable");
    }
    Status s = registry->remove(device.device_id, "*");
    if (s.code() == Code::not_found) return Status();  // a retry, or removed by hand
    return s;
}

Status ProvisioningService::report_activity(std::string_view hub_name, std::string_view device_id) {
    auto it = by_hub_device_.find(std::pair(std::string(hub_name), std::string(device_id)));
    if (it == by_hub_device_.end()) {
        return Status(Code::not_found, "device '" + std::string(device_id) + "' of hub '" +
                                           std::string(hub_name) + "' was not provisioned here");
    }
    const DeviceLifecycle* d = lifecycle(it->second);
    HUB_ASSERT(d != nullptr);
    HUB_ASSERT(d->assigned_hub == hub_name);
    if (d->state == LifecycleState::activated) return Status();  // activity, not an event
    return activate(d->registration_id, "first activity on " + std::string(hub_name));
}

Status ProvisioningService::activate(std::string_view registration_id, std::string_view reason) {
    LifecycleTransition t;
    Result<DeviceLifecycle> next =
        begin_transition(registration_id, LifecycleEvent::activate, reason, &t);
    if (!next.ok()) return next.status();
    return commit_transition(std::move(*next), std::move(t), Change{});
}

Status ProvisioningService::deactivate(std::string_view registration_id, std::string_view reason) {
    LifecycleTransition t;
    Result<DeviceLifecycle> next =
        begin_transition(registration_id, LifecycleEvent::deactivate, reason, &t);
    if (!next.ok()) return next.status();
    Status s = set_identity_status(*next, false, reason);
    if (!s.ok()) return s;
    return commit_transition(std::move(*next), std::move(t), Change{});
}

Status ProvisioningService::reactivate(std::string_view registration_id, std::string_view reason) {
    LifecycleTransition t;
    Result<DeviceLifecycle> next =
        begin_transition(registration_id, LifecycleEvent::reactivate, reason, &t);
    if (!next.ok()) return next.status();
    Status s = set_identity_status(*next, true, reason);
    if (!s.ok()) return s;
    return commit_transition(std::move(*next), std::move(t), Change{});
}

Status ProvisioningService::deprovision(std::string_view registration_id, std::string_view reason,
                                        DeprovisionAction action) {
    LifecycleTransition t;
    Result<DeviceLifecycle> next =
        begin_transition(registration_id, LifecycleEvent::deprovision, reason, &t);
    if (!next.ok()) return next.status();
    const std::string hub = next->assigned_hub;
    const std::string device_id = next->device_id;
    if (!hub.empty()) {
        Status s = delete_identity(*next);
        if (!s.ok()) return s;
    }
    Change c;
    if (const IndividualEnrollment* e = find_enrollment(registration_id)) {
        if (action == DeprovisionAction::remove_enrollment) {
            c.enrollment_removed = e->registration_id;
        } else if (e->enabled()) {
            IndividualEnrollment disabled = *e;
            disabled.provisioning_status = ProvisioningStatus::disabled;
            disabled.version += 1;
            disabled.updated_ms = t.at_ms;
            c.enrollment = std::move(disabled);
        }
    }
    Status s = commit_transition(std::move(*next), std::move(t), std::move(c));
    if (s.ok() && !hub.empty() && on_deprovisioned_) on_deprovisioned_(hub, device_id);
    return s;
}

}  // namespace hub::provisioning
