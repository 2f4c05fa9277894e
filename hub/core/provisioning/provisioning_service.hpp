// ProvisioningService: a Device Provisioning Service (DPS) in the hub core. Enrollments say
// who may register; a registration authenticates the device, allocates it to one of the
// linked IoT hubs, creates its identity there, and drives the device lifecycle
// (lifecycle_state.hpp: provisioned -> bootstrapped -> activated <-> deactivated ->
// deprovisioned).
//
// Concept (reference §5):
// - register_device() (DPS's register; `register` is a C++ keyword) checks the SAS token:
//   sr = "{idScope}/registrations/{registrationId}" (raw), skn = "registration", signed with
//   the individual enrollment's key or the key derived from an enrollment group's key. It
//   answers at once with an operation in status `assigning` (or `disabled`); the assignment
//   completes later on an Env timer (config.assignment_delay, default 0 ms: DPS assigns
//   asynchronously and devices poll), and get_operation_status() then answers `assigned`
//   (with registrationState), `failed` (errorCode, errorMessage) or `disabled`.
// - Assignment allocates a hub (allocation.hpp), creates or updates the device identity in
//   that hub's Registry (found through HubDirectory) with the enrollment's (or derived) keys,
//   so the device can connect right away, and moves the device to bootstrapped.
// - Lifecycle calls (report_activity, activate, deactivate, reactivate, deprovision) consult
//   the transition table first: a refused pair is Code::failed_precondition and changes
//   nothing. Hub-side effects (disable / enable / delete the identity) happen before the
//   record; they are idempotent, so retrying after a crash completes the change.
//   Deactivation disables the identity with the reason as statusReason; deprovisioning deletes
//   it, disables or removes the individual enrollment, and calls the on_deprovisioned hook
//   (the Hub wires it to its C2D purge).
//
// Durability: every call that changes state appends one JSON record (provisioning_change.hpp)
// to "provisioning.log" and syncs before it returns: whatever a call returned survives a
// crash. open() replays the log and restarts the assignments still pending. A failed append
// or sync leaves that call's outcome unknown (the record may or may not be on disk), so the
// service stops changing anything (every later change returns the same error) until it is
// reopened, when the log decides.
// Compaction (hub/store/compaction.hpp): after a committed change, when the log exceeds
// max(live_factor x live, floor) bytes, the service rewrites it as its state in Change records
// apply() already reads (hubs, groups, enrollments, each device as one record per transition
// in its history so the history replays as it was, operations in sequence order) and swaps it
// in atomically. `live` is the size of the last snapshot (taken at open and at every
// compaction), so a log grows to live_factor times its state as it was then before the next
// compaction: the rewrite still costs at most a 1 / (live_factor - 1) share of what was
// appended. A compaction that fails before the swap keeps the old log (retried after the log
// grows by the floor); one that fails after it stops changes like a failed append.
//
// Determinism: single-threaded; operation ids come from env.random(); time only from the
// Env or the caller; all iteration is over std::map. Each transition is traced
// ("provisioning.transition").
//
// Ownership: the Env and the HubDirectory (and the registries it hands out) must outlive the
// service; the destructor cancels its timers.
//
// Example:
//   Result<std::unique_ptr<ProvisioningService>> dps = ProvisioningService::open(env, hubs, {});
//   (*dps)->link_hub({"hub-eu.azure-devices.net", "westeurope", 1});
//   IndividualEnrollment e; e.registration_id = "sensor-1";
//   Result<IndividualEnrollment> created = (*dps)->create_enrollment(e);
//   std::string token = auth::make_sas_token("0ne00000000/registrations/sensor-1",
//                                            created->attestation.primary_key, expiry_s,
//                                            "registration");
//   Result<RegistrationOperation> op = (*dps)->register_device("sensor-1", token, "", now_ms);
//   // ... timers run ...
//   (*dps)->get_operation_status(op->operation_id)->status == RegistrationStatus::assigned
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hub/auth/sas.hpp"
#include "hub/core/provisioning/allocation.hpp"
#include "hub/core/provisioning/enrollment.hpp"
#include "hub/core/provisioning/lifecycle_state.hpp"
#include "hub/core/provisioning/registration.hpp"
#include "hub/core/registry.hpp"
#include "hub/env/env.hpp"
#include "hub/store/compaction.hpp"
#include "hub/store/record_log.hpp"

namespace hub::provisioning {

struct Change;

// Finished operations kept for polling: devices poll within seconds (default timeout 30 s in
// the Node SDK); the oldest finished ones are forgotten beyond this. Pending ones are never
// dropped: register_device() refuses with resource_exhausted (DPS's 429) when all are pending.
constexpr size_t kOperationsMax = 10'000;
// Device records (one per registration id that ever enrolled or registered).
constexpr size_t kDeviceRecordsMax = 1'000'000;
// Retries of an assignment whose record could not be written (disk trouble); after the last
// one the operation stays assigning until the next open().
constexpr uint32_t kAssignmentAttemptsMax = 5;
constexpr Duration kAssignmentRetryDelay = Duration::seconds(1);

struct ProvisioningConfig {
    std::string id_scope = "0ne00000000";
    AllocationPolicy default_allocation_policy = AllocationPolicy::hashed;
    Duration assignment_delay = Duration::millis(0);
    RegionDistances region_distances;
    store::CompactionPolicy compaction;
};

// Where the linked hubs' registries are. Tests open each on its own SimNode; the real server
// gives the local Hub's registry.
class HubDirectory {
  public:
    virtual ~HubDirectory() = default;
    // The registry of the hub called `hub_name`, or nullptr when it is unknown or unreachable.
    virtual Registry* registry_for(std::string_view hub_name) = 0;
};

enum class DeprovisionAction : uint8_t { disable_enrollment, remove_enrollment };

class ProvisioningService {
  public:
    // Runs after a deprovision is durable, inside deprovision(): (hub, device id) whose
    // identity was deleted.
    using DeprovisionedHook = std::function<void(std::string_view hub, std::string_view device_id)>;

    // Replays "provisioning.log" and schedules the pending assignments.
    // Errors: corruption, io_error.
    static Result<std::unique_ptr<ProvisioningService>> open(Env& env, HubDirectory& hubs,
                                                             ProvisioningConfig config);
    ~ProvisioningService();
    ProvisioningService(const ProvisioningService&) = delete;
    ProvisioningService& operator=(const ProvisioningService&) = delete;

    // ---- Linked hubs.
    // Links or replaces a hub. Errors: invalid_argument, resource_exhausted (50 hubs).
    Result<LinkedHub> link_hub(LinkedHub hub);
    // Errors: not_found.
    Status unlink_hub(std::string_view name);
    const std::map<std::string, LinkedHub, std::less<>>& linked_hubs() const { return hubs_; }

    // ---- Individual enrollments (CRUD with etags; if_match: "", "*" or the current etag).
    // Creating one starts the device's lifecycle record in provisioned (or, for a
    // deprovisioned device, fires `enroll`). Errors: invalid_argument, already_exists,
    // resource_exhausted.
    Result<IndividualEnrollment> create_enrollment(IndividualEnrollment enrollment);
    // Empty keys keep the current ones. Errors: not_found, failed_precondition,
    // invalid_argument.
    Result<IndividualEnrollment> update_enrollment(IndividualEnrollment enrollment,
                                                   std::string_view if_match);
    // The device's lifecycle record (and identity in its hub) stays. Errors: not_found,
    // failed_precondition.
    Status remove_enrollment(std::string_view registration_id, std::string_view if_match);
    const IndividualEnrollment* find_enrollment(std::string_view registration_id) const;
    // In registration id order, after `after_id`, at most `max` (<= 1000).
    std::vector<const IndividualEnrollment*> list_enrollments(std::string_view after_id,
                                                              size_t max) const;

    // ---- Enrollment groups (same rules; 100 groups at most).
    Result<EnrollmentGroup> create_group(EnrollmentGroup group);
    Result<EnrollmentGroup> update_group(EnrollmentGroup group, std::string_view if_match);
    Status remove_group(std::string_view group_id, std::string_view if_match);
    const EnrollmentGroup* find_group(std::string_view group_id) const;
    std::vector<const EnrollmentGroup*> list_groups(std::string_view after_id, size_t max) const;

    // ---- Registration (the device side of DPS).
    // `payload_json`: "" or a JSON value; an object's "region" string is the geoLatency hint.
    // `now_utc_ms`: when the request arrived (token expiry, timestamps).
    // Returns the operation: assigning, or disabled (enrollment disabled, or the lifecycle
    // refuses an assignment, e.g. a deactivated or deprovisioned device).
    // Errors: invalid_argument (bad id or payload), unauthorized (bad token, wrong key,
    // expired), not_found (no individual enrollment and no enrollment group),
    // resource_exhausted (kOperationsMax pending operations).
    Result<RegistrationOperation> register_device(std::string_view registration_id,
                                                  std::string_view sas_token,
                                                  std::string_view payload_json,
                                                  int64_t now_utc_ms);
    // Errors: not_found (unknown or forgotten operation id).
    Result<RegistrationOperation> get_operation_status(std::string_view operation_id) const;
    size_t pending_operations() const { return pending_.size(); }

    // ---- Device lifecycle (the service side). Errors common to all: not_found (no record),
    // invalid_argument (reason longer than 128 bytes), failed_precondition (the table
    // refuses), unavailable (the device's hub is not reachable), io_error.
    //
    // The hub reports a device's successful connect or telemetry. The first one activates a
    // bootstrapped device; an activated device's activity is no event (ok, nothing recorded).
    // not_found also when the hub's device was not provisioned by this service.
    Status report_activity(std::string_view hub_name, std::string_view device_id);
    // An operator activates a bootstrapped device (event `activate`).
    Status activate(std::string_view registration_id, std::string_view reason);
    // Disables the identity in its hub (status disabled, statusReason = reason).
    Status deactivate(std::string_view registration_id, std::string_view reason);
    // Enables the identity again (recreating it with the enrollment's keys if it vanished).
    Status reactivate(std::string_view registration_id, std::string_view reason);
    // Deletes the identity from its hub, disables or removes the individual enrollment (a
    // group member's record alone keeps it out), then calls the on_deprovisioned hook.
    Status deprovision(std::string_view registration_id, std::string_view reason,
                       DeprovisionAction action = DeprovisionAction::disable_enrollment);

    const DeviceLifecycle* lifecycle(std::string_view registration_id) const;
    // Device records in registration id order, after `after_id`, at most `max` (<= 1000).
    std::vector<const DeviceLifecycle*> list_devices(std::string_view after_id, size_t max) const;
    // Oldest first. Errors: not_found.
    Result<std::vector<LifecycleTransition>> history(std::string_view registration_id) const;
    void set_on_deprovisioned(DeprovisionedHook hook) { on_deprovisioned_ = std::move(hook); }

    // The log's size, the last snapshot's, and how often it was compacted (tests, benchmarks).
    uint64_t log_bytes() const { return log_bytes_; }
    uint64_t snapshot_bytes() const { return snapshot_bytes_; }
    uint64_t compactions() const { return compactions_; }

  private:
    struct Pending {
        TimerId timer = 0;  // 0: not scheduled (stalled until the next open)
        uint32_t attempts = 0;
    };
    struct Authenticated;
    struct Assignment;

    ProvisioningService(Env& env, HubDirectory& hubs, ProvisioningConfig config);

    // Durability: one record per change; apply() is shared by calls and replay.
    Status commit(Change change);
    void apply(Change& change);
    void apply_device(Change& change);
    void apply_operation(RegistrationOperation op);
    void schedule_assignment(const std::string& operation_id, Duration delay);
    // Compaction: the state as Change records, and the swap.
    std::vector<std::string> snapshot() const;
    void maybe_compact();
    Status compact(const std::vector<std::string>& records);

    // Registration (provisioning_register.cpp).
    Result<Authenticated> authenticate(std::string_view registration_id, std::string_view sas_token,
                                       int64_t now_utc_ms) const;
    Result<Authenticated> authenticate_group(std::string_view registration_id,
                                             const auth::SasToken& token, int64_t now_s) const;
    RegistrationOperation new_operation(std::string_view registration_id, std::string_view payload,
                                        int64_t now_utc_ms);
    Result<RegistrationOperation> start_registration(const Authenticated& who,
                                                     RegistrationOperation op);
    void complete_assignment(const std::string& operation_id);
    Assignment plan_assignment(const RegistrationOperation& op);
    Status ensure_identity(const std::string& hub, const std::string& device_id,
                           const SymmetricKeyAttestation& keys, bool enable);
    void finish_operation(RegistrationOperation& op, RegistrationStatus status, int32_t error_code,
                          std::string message);
    const EnrollmentPolicy* policy_for(const DeviceLifecycle& device) const;
    Result<SymmetricKeyAttestation> device_keys(const DeviceLifecycle& device) const;

    // Lifecycle (provisioning_lifecycle.cpp).
    Result<DeviceLifecycle> begin_transition(std::string_view registration_id, LifecycleEvent event,
                                             std::string_view reason,
                                             LifecycleTransition* transition) const;
    Status commit_transition(DeviceLifecycle device, LifecycleTransition transition, Change change);
    Status set_identity_status(const DeviceLifecycle& device, bool enabled,
                               std::string_view reason);
    Status delete_identity(const DeviceLifecycle& device);
    Change enroll_change(const IndividualEnrollment& enrollment) const;
    void trace_transition(const std::string& registration_id, const LifecycleTransition& t);

    Env& env_;
    HubDirectory& directory_;
    const ProvisioningConfig config_;
    std::unique_ptr<store::RecordLog> log_;
    std::map<std::string, LinkedHub, std::less<>> hubs_;
    std::map<std::string, IndividualEnrollment, std::less<>> enrollments_;
    std::map<std::string, EnrollmentGroup, std::less<>> groups_;
    std::map<std::string, DeviceLifecycle, std::less<>> devices_;
    // (hub, device id) -> registration id, for report_activity.
    std::map<std::pair<std::string, std::string>, std::string, std::less<>> by_hub_device_;
    std::map<std::string, RegistrationOperation, std::less<>> operations_;
    std::map<uint64_t, std::string> operations_by_sequence_;
    std::map<std::string, Pending, std::less<>> pending_;  // assigning operations
    uint64_t next_operation_sequence_ = 1;
    Status log_failure_;  // set by the first failed append/sync: changes stop until reopen
    uint64_t log_bytes_ = 0;
    uint64_t snapshot_bytes_ = 0;          // of the last snapshot (open or compaction)
    uint64_t compaction_retry_bytes_ = 0;  // after a failed compaction: wait for this log size
    uint64_t compactions_ = 0;
    DeprovisionedHook on_deprovisioned_;
};

}  // namespace hub::provisioning
