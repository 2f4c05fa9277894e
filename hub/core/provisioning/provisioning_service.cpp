// ProvisioningService: open/replay, the commit-then-apply core, linked hubs, enrollments and
// queries. Registration is in provisioning_register.cpp, the lifecycle in
// provisioning_lifecycle.cpp.
#include "hub/core/provisioning/provisioning_service.hpp"

#include <algorithm>

#include "hub/core/provisioning/provisioning_change.hpp"

namespace hub::provisioning {

namespace {

constexpr const char* kLogName = "provisioning.log";

std::string strip_quotes(std::string_view s) {
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
    return std::string(s);
}

// If-Match as the registry reads it: "", "*" or the current etag (quotes allowed).
Status check_if_match(std::string_view if_match, const std::string& etag, std::string_view what) {
    const std::string expected = strip_quotes(if_match);
    if (!expected.empty() && expected != "*" && expected != etag) {
        return Status(Code::failed_precondition,
                      "PreconditionFailed: etag mismatch for " + std::string(what));
    }
    return Status();
}

template <typename Map>
auto* find_in(Map& map, std::string_view key) {
    auto it = map.find(key);
    return it == map.end() ? nullptr : &it->second;
}

// One page of a map in key order: the entries after `after_id`, at most `max` (<= 1000).
template <typename Map>
auto page_of(const Map& map, std::string_view after_id, size_t max) {
    std::vector<const typename Map::mapped_type*> page;
    max = std::min(max, kListPageMax);
    for (auto it = after_id.empty() ? map.begin() : map.upper_bound(after_id);
         it != map.end() && page.size() < max; ++it) {
        page.push_back(&it->second);
    }
    return page;
}

}  // namespace

ProvisioningService::ProvisioningService(Env& env, HubDirectory& hubs, ProvisioningConfig config)
    : env_(env),
      directory_(hubs),
      config_(std::move(config)),
      log_(std::make_unique<store::RecordLog>(env.disk(), kLogName, env.random())) {}

ProvisioningService::~ProvisioningService() {
    for (const auto& [id, pending] : pending_) {
        if (pending.timer != 0) env_.cancel(pending.timer);
    }
}

Result<std::unique_ptr<ProvisioningService>> ProvisioningService::open(Env& env, HubDirectory& hubs,
                                                                       ProvisioningConfig config) {
    std::unique_ptr<ProvisioningService> service(
        new ProvisioningService(env, hubs, std::move(config)));
    Status removed = store::remove_stray_compaction(env.disk(), kLogName);
    if (!removed.ok()) return removed;
    Result<std::vector<Bytes>> records = service->log_->recover();
    if (!records.ok()) return records.status();
    for (const Bytes& record : *records) {
        Result<Change> change = decode_change(record);
        if (!change.ok()) return change.status();
        service->apply(*change);
    }
    service->log_bytes_ = service->log_->size_bytes();  // the file's size, header included
    const std::vector<std::string> snapshot = service->snapshot();
    for (const std::string& text : snapshot) {
        service->snapshot_bytes_ += store::record_bytes(text.size());
    }
    if (store::compaction_due(service->config_.compaction, service->log_bytes_,
                              service->snapshot_bytes_)) {
        Status s = service->compact(snapshot);  // an old, long log shrinks at once
        if (!s.ok() && !service->log_failure_.ok()) return s;
    }
    // Assignments that were pending at the crash complete now, in registration order.
    for (const auto& [sequence, id] : service->operations_by_sequence_) {
        if (service->pending_.contains(id)) {
            service->schedule_assignment(id, service->config_.assignment_delay);
        }
    }
    env.trace("provisioning.recovered",
              "enrollments=" + std::to_string(service->enrollments_.size()) +
                  " devices=" + std::to_string(service->devices_.size()) +
                  " pending=" + std::to_string(service->pending_.size()));
    return service;
}

Status ProvisioningService::commit(Change change) {
    if (!log_failure_.ok()) return log_failure_;
    const std::string text = encode_change(change);
    HUB_ASSERT(text.size() <= store::kRecordPayloadBytesMax);
    Status s = log_->append(ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    if (s.ok()) s = log_->sync();
    if (!s.ok()) {
        // Fail-stop: the record may or may not be on disk, so memory cannot tell what the log
        // says; appending more would build on an unknown state. open() will know.
        log_failure_ = Status(s.code(), std::string(kLogName) + ": " + s.message() +
                                            " (reopen the provisioning service)");
        env_.trace("provisioning.log_failed", s.to_string());
        return log_failure_;
    }
    log_bytes_ = log_->size_bytes();
    apply(change);
    maybe_compact();
    return Status();
}

namespace {

// The Change records that rebuild one device record with its history: apply_device() appends
// one transition per record and wants versions to grow, so each transition but the last comes
// with the state it led to and a version below the device's (every transition was logged with
// a version bump, so the device's version is at least the number of its transitions).
void add_device_changes(const DeviceLifecycle& device, std::vector<std::string>& out) {
    DeviceLifecycle d = device;
    d.history.clear();
    const std::vector<LifecycleTransition>& history = device.history;
    const bool last_is_current = !history.empty() && history.back().to == device.state;
    const uint64_t earlier = last_is_current ? history.size() - 1 : history.size();
    HUB_ASSERT(device.version > earlier);
    for (size_t i = 0; i < history.size(); ++i) {
        Change c;
        c.device = d;
        if (i < earlier) {
            c.device->state = history[i].to;
            c.device->version = device.version - earlier + i;
        }
        c.transition = history[i];
        out.push_back(encode_change(c));
    }
    if (!last_is_current) {
        Change c;
        c.device = d;
        out.push_back(encode_change(c));
    }
}

}  // namespace

std::vector<std::string> ProvisioningService::snapshot() const {
    std::vector<std::string> out;
    const auto add = [&out](auto member, const auto& value) {
        Change c;
        c.*member = value;
        out.push_back(encode_change(c));
    };
    for (const auto& [name, hub] : hubs_) add(&Change::hub, hub);
    for (const auto& [id, group] : groups_) add(&Change::group, group);
    for (const auto& [id, enrollment] : enrollments_) add(&Change::enrollment, enrollment);
    for (const auto& [id, device] : devices_) add_device_changes(device, out);
    for (const auto& [sequence, id] : operations_by_sequence_) {
        add(&Change::operation, operations_.at(id));
    }
    return out;
}

void ProvisioningService::maybe_compact() {
    if (!log_failure_.ok() || log_bytes_ < compaction_retry_bytes_ ||
        !store::compaction_due(config_.compaction, log_bytes_, snapshot_bytes_)) {
        return;
    }
    Status s = compact(snapshot());
    if (!s.ok()) env_.trace("provisioning.compaction_failed", s.to_string());
}

Status ProvisioningService::compact(const std::vector<std::string>& records) {
    const uint64_t old_bytes = log_bytes_;
    store::CompactionWriter writer(env_.disk(), kLogName, store::successor_salt(log_->salt()));
    Status s;
    for (size_t i = 0; s.ok() && i < records.size(); ++i) {
        HUB_ASSERT(records[i].size() <= store::kRecordPayloadBytesMax);
        s = writer.add(ByteView(reinterpret_cast<const uint8_t*>(records[i].data()),
                                records[i].size()));
    }
    Result<std::unique_ptr<store::RecordLog>> log =
        s.ok() ? writer.finish() : Result<std::unique_ptr<store::RecordLog>>(s);
    if (!log.ok()) {
        if (writer.replaced()) {
            log_failure_ = Status(log.status().code(), std::string(kLogName) +
                                                           ": compaction failed: " +
                                                           log.status().message() +
                                                           " (reopen the provisioning service)");
        } else {
            compaction_retry_bytes_ = log_bytes_ + config_.compaction.floor_bytes;
        }
        return log.status();
    }
    log_ = std::move(*log);
    snapshot_bytes_ = writer.bytes();
    log_bytes_ = log_->size_bytes();  // the records plus the file header
    compaction_retry_bytes_ = 0;
    ++compactions_;
    env_.trace("provisioning.compacted",
               std::to_string(old_bytes) + " -> " + std::to_string(log_bytes_) + " bytes");
    return Status();
}

void ProvisioningService::apply(Change& c) {
    if (c.hub) hubs_[c.hub->name] = *c.hub;
    if (c.hub_removed) hubs_.erase(*c.hub_removed);
    if (c.enrollment) enrollments_[c.enrollment->registration_id] = *c.enrollment;
    if (c.enrollment_removed) enrollments_.erase(*c.enrollment_removed);
    if (c.group) groups_[c.group->group_id] = *c.group;
    if (c.group_removed) groups_.erase(*c.group_removed);
    if (c.device) apply_device(c);
    if (c.operation) apply_operation(std::move(*c.operation));
    HUB_ASSERT(hubs_.size() <= kLinkedHubsMax);
    HUB_ASSERT(groups_.size() <= kEnrollmentGroupsMax);
    HUB_ASSERT(operations_.size() == operations_by_sequence_.size());
}

void ProvisioningService::apply_device(Change& c) {
    DeviceLifecycle d = std::move(*c.device);
    HUB_ASSERT(is_valid_registration_id(d.registration_id));
    std::vector<LifecycleTransition> history;
    if (DeviceLifecycle* old = find_in(devices_, d.registration_id)) {
        HUB_ASSERT(d.version > old->version);
        history = std::move(old->history);
        auto mapped = by_hub_device_.find(std::pair(old->assigned_hub, old->device_id));
        if (mapped != by_hub_device_.end() && mapped->second == d.registration_id) {
            by_hub_device_.erase(mapped);
        }
    }
    if (c.transition) {
        HUB_ASSERT(c.transition->to == d.state);
        HUB_ASSERT(!c.transition->from ||
                   lifecycle_target(*c.transition->from, c.transition->event) == d.state);
        history.push_back(std::move(*c.transition));
        if (history.size() > kHistoryPerDeviceMax) history.erase(history.begin());
    }
    d.history = std::move(history);
    if (!d.assigned_hub.empty()) by_hub_device_[{d.assigned_hub, d.device_id}] = d.registration_id;
    std::string id = d.registration_id;
    devices_[id] = std::move(d);
    HUB_ASSERT(devices_.size() <= kDeviceRecordsMax);
}

void ProvisioningService::apply_operation(RegistrationOperation op) {
    const std::string id = op.operation_id;
    const bool assigning = !op.finished();
    const auto [it, inserted] = operations_.insert_or_assign(id, std::move(op));
    if (inserted) {
        HUB_ASSERT(!operations_by_sequence_.contains(it->second.sequence));
        operations_by_sequence_[it->second.sequence] = id;
        next_operation_sequence_ = std::max(next_operation_sequence_, it->second.sequence + 1);
    }
    if (assigning) {
        pending_.try_emplace(id);  // keeps a scheduled timer
    } else if (auto p = pending_.find(id); p != pending_.end()) {
        if (p->second.timer != 0) env_.cancel(p->second.timer);
        pending_.erase(p);
    }
    // Forget the oldest finished operations beyond the bound (register_device() keeps at
    // least one finished operation around by refusing when all are pending).
    for (auto s = operations_by_sequence_.begin();
         operations_.size() > kOperationsMax && s != operations_by_sequence_.end();) {
        if (pending_.contains(s->second)) {
            ++s;
            continue;
        }
        operations_.erase(s->second);
        s = operations_by_sequence_.erase(s);
    }
    HUB_ASSERT(operations_.size() <= kOperationsMax);
}

void ProvisioningService::schedule_assignment(const std::string& operation_id, Duration delay) {
    auto it = pending_.find(operation_id);
    HUB_ASSERT(it != pending_.end());
    HUB_ASSERT(it->second.timer == 0);
    it->second.timer = env_.schedule(env_.now() + delay,
                                     [this, operation_id] { complete_assignment(operation_id); });
}

// ---- Linked hubs.

Result<LinkedHub> ProvisioningService::link_hub(LinkedHub hub) {
    Status s = validate_linked_hub(hub);
    if (!s.ok()) return s;
    if (!hubs_.contains(hub.name) && hubs_.size() >= kLinkedHubsMax) {
        return Status(Code::resource_exhausted, "50 hubs are linked already");
    }
    Change c;
    c.hub = hub;
    s = commit(std::move(c));
    if (!s.ok()) return s;
    env_.trace("provisioning.link_hub", hub.name);
    return hub;
}

Status ProvisioningService::unlink_hub(std::string_view name) {
    if (!hubs_.contains(name)) {
        return Status(Code::not_found, "hub '" + std::string(name) + "' is not linked");
    }
    Change c;
    c.hub_removed = std::string(name);
    Status s = commit(std::move(c));
    if (s.ok()) env_.trace("provisioning.unlink_hub", name);
    return s;
}

// ---- Individual enrollments.

Change ProvisioningService::enroll_change(const IndividualEnrollment& e) const {
    Change c;
    const int64_t now = env_.utc_now_ms();
    const DeviceLifecycle* old = find_in(devices_, e.registration_id);
    if (old != nullptr && old->state != LifecycleState::deprovisioned) {
        return c;  // a live device's enrollment is re-created: its lifecycle goes on
    }
    DeviceLifecycle d;
    d.registration_id = e.registration_id;
    d.created_ms = now;
    if (old != nullptr) {
        d.created_ms = old->created_ms;
        d.version = old->version;
    }
    d.device_id = e.device_id;
    d.state = LifecycleState::provisioned;
    d.reason = old != nullptr ? "enrolled again" : "enrollment created";
    d.updated_ms = now;
    d.version += 1;
    std::optional<LifecycleState> from;
    if (old != nullptr) {
        Result<LifecycleState> to =
            lifecycle_next(old->state, LifecycleEvent::enroll, e.registration_id);
        HUB_ASSERT(to.ok() && *to == LifecycleState::provisioned);
        from = old->state;
    }
    c.transition = LifecycleTransition{now, from, d.state, LifecycleEvent::enroll, d.reason};
    c.device = std::move(d);
    return c;
}

Result<IndividualEnrollment> ProvisioningService::create_enrollment(IndividualEnrollment e) {
    Status s = validate_enrollment(e, env_.random());
    if (!s.ok()) return s;
    if (enrollments_.contains(e.registration_id)) {
        return Status(Code::already_exists, "enrollment '" + e.registration_id + "' exists");
    }
    if (enrollments_.size() >= kEnrollmentsMax ||
        (!devices_.contains(e.registration_id) && devices_.size() >= kDeviceRecordsMax)) {
        return Status(Code::resource_exhausted, "the enrollment quota is used up");
    }
    e.version = 1;
    e.created_ms = e.updated_ms = env_.utc_now_ms();
    Change c = enroll_change(e);
    c.enrollment = e;
    s = commit(std::move(c));
    if (!s.ok()) return s;
    env_.trace("provisioning.enroll", e.registration_id);
    return e;
}

Result<IndividualEnrollment> ProvisioningService::update_enrollment(IndividualEnrollment e,
                                                                    std::string_view if_match) {
    const IndividualEnrollment* current = find_enrollment(e.registration_id);
    if (current == nullptr) {
        return Status(Code::not_found, "enrollment '" + e.registration_id + "' not found");
    }
    Status s = check_if_match(if_match, current->etag(), e.registration_id);
    if (!s.ok()) return s;
    if (e.attestation.primary_key.empty() && e.attestation.secondary_key.empty()) {
        e.attestation = current->attestation;  // an update without keys keeps them
    }
    s = validate_enrollment(e, env_.random());
    if (!s.ok()) return s;
    e.version = current->version + 1;
    e.created_ms = current->created_ms;
    e.updated_ms = env_.utc_now_ms();
    Change c;
    c.enrollment = e;
    s = commit(std::move(c));
    if (!s.ok()) return s;
    env_.trace("provisioning.update_enrollment", e.registration_id + " etag=" + e.etag());
    return e;
}

Status ProvisioningService::remove_enrollment(std::string_view id, std::string_view if_match) {
    const IndividualEnrollment* current = find_enrollment(id);
    if (current == nullptr) {
        return Status(Code::not_found, "enrollment '" + std::string(id) + "' not found");
    }
    Status s = check_if_match(if_match, current->etag(), id);
    if (!s.ok()) return s;
    Change c;
    c.enrollment_removed = std::string(id);
    s = commit(std::move(c));
    if (s.ok()) env_.trace("provisioning.remove_enrollment", id);
    return s;
}

const IndividualEnrollment* ProvisioningService::find_enrollment(std::string_view id) const {
    return find_in(enrollments_, id);
}

std::vector<const IndividualEnrollment*> ProvisioningService::list_enrollments(
    std::string_view after_id, size_t max) const {
    return page_of(enrollments_, after_id, max);
}

// ---- Enrollment groups.

Result<EnrollmentGroup> ProvisioningService::create_group(EnrollmentGroup g) {
    Status s = validate_group(g, env_.random());
    if (!s.ok()) return s;
    if (groups_.contains(g.group_id)) {
        return Status(Code::already_exists, "enrollment group '" + g.group_id + "' exists");
    }
    if (groups_.size() >= kEnrollmentGroupsMax) {
        return Status(Code::resource_exhausted, "100 enrollment groups exist already");
    }
    g.version = 1;
    g.created_ms = g.updated_ms = env_.utc_now_ms();
    Change c;
    c.group = g;
    s = commit(std::move(c));
    if (!s.ok()) return s;
    env_.trace("provisioning.create_group", g.group_id);
    return g;
}

Result<EnrollmentGroup> ProvisioningService::update_group(EnrollmentGroup g,
                                                          std::string_view if_match) {
    const EnrollmentGroup* current = find_group(g.group_id);
    if (current == nullptr) {
        return Status(Code::not_found, "enrollment group '" + g.group_id + "' not found");
    }
    Status s = check_if_match(if_match, current->etag(), g.group_id);
    if (!s.ok()) return s;
    if (g.attestation.primary_key.empty() && g.attestation.secondary_key.empty()) {
        g.attestation = current->attestation;
    }
    s = validate_group(g, env_.random());
    if (!s.ok()) return s;
    g.version = current->version + 1;
    g.created_ms = current->created_ms;
    g.updated_ms = env_.utc_now_ms();
    Change c;
    c.group = g;
    s = commit(std::move(c));
    if (!s.ok()) return s;
    env_.trace("provisioning.update_group", g.group_id + " etag=" + g.etag());
    return g;
}

Status ProvisioningService::remove_group(std::string_view id, std::string_view if_match) {
    const EnrollmentGroup* current = find_group(id);
    if (current == nullptr) {
        return Status(Code::not_found, "enrollment group '" + std::string(id) + "' not found");
    }
    Status s = check_if_match(if_match, current->etag(), id);
    if (!s.ok()) return s;
    Change c;
    c.group_removed = std::string(id);
    s = commit(std::move(c));
    if (s.ok()) env_.trace("provisioning.remove_group", id);
    return s;
}

const EnrollmentGroup* ProvisioningService::find_group(std::string_view id) const {
    return find_in(groups_, id);
}

std::vector<const EnrollmentGroup*> ProvisioningService::list_groups(std::string_view after_id,
                                                                     size_t max) const {
    return page_of(groups_, after_id, max);
}

// ---- Queries.

Result<RegistrationOperation> ProvisioningService::get_operation_status(
    std::string_view operation_id) const {
    const RegistrationOperation* op = find_in(operations_, operation_id);
    if (op == nullptr) {
        return Status(Code::not_found, "operation '" + std::string(operation_id) + "' not found");
    }
    return *op;
}

const DeviceLifecycle* ProvisioningService::lifecycle(std::string_view registration_id) const {
    return find_in(devices_, registration_id);
}

std::vector<const DeviceLifecycle*> ProvisioningService::list_devices(std::string_view after_id,
                                                                      size_t max) const {
    return page_of(devices_, after_id, max);
}

Result<std::vector<LifecycleTransition>> ProvisioningService::history(
    std::string_view registration_id) const {
    const DeviceLifecycle* d = lifecycle(registration_id);
    if (d == nullptr) {
        return Status(Code::not_found,
                      "no device record for '" + std::string(registration_id) + "'");
    }
    return d->history;
}

}  // namespace hub::provisioning
