// Device lifecycle: the states a provisioned device goes through, and the one table of legal
// transitions between them (STYLE 1.2: "state machines are tables").
//
// Concept (seed document, "Sample provisioning"): a device is provisioned at manufacturing (an
// enrollment exists), bootstrapped when it first registers and is assigned to its regional
// hub, activated by its first successful connect (or by an operator, "as a result of customer
// interactions"), may be deactivated (disabled, with a reason) and re-activated, and is
// deprovisioned at end of life (identity deleted from its hub). A deprovisioned device may be
// enrolled again (refurbished); nothing else leaves deprovisioned.
//
//   provisioned   --assign-->      bootstrapped     (first registration completes)
//   bootstrapped  --assign-->      bootstrapped     (re-registration: same hub or reprovisioned)
//   bootstrapped  --activate-->    activated        (first connect / telemetry)
//   activated     --assign-->      activated        (re-registration)
//   activated     --deactivate-->  deactivated      (disabled with a reason)
//   deactivated   --reactivate-->  activated        (enabled again)
//   any but deprovisioned --deprovision--> deprovisioned   (end of life)
//   deprovisioned --enroll-->      provisioned      (a new enrollment: refurbished)
//
// The table knows nothing about I/O, hubs or enrollments: ProvisioningService consults it
// before every change and performs the side effects. Every pair not in the table is refused
// with Code::failed_precondition ("cannot activate a deprovisioned device 'x'").
//
// Pure and deterministic; no state of its own.
//
// Example:
//   Result<LifecycleState> next = lifecycle_next(LifecycleState::bootstrapped,
//                                                LifecycleEvent::activate, "dev-1");
//   // *next == LifecycleState::activated
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "hub/env/status.hpp"

namespace hub::provisioning {

enum class LifecycleState : uint8_t {
    provisioned,    // an enrollment exists; never assigned
    bootstrapped,   // assigned to a hub; its identity exists there
    activated,      // has connected (or an operator activated it)
    deactivated,    // disabled in its hub, with a reason
    deprovisioned,  // identity deleted from its hub; enrollment disabled or removed
};

enum class LifecycleEvent : uint8_t {
    enroll,       // an enrollment is created again for a deprovisioned device
    assign,       // a registration completed: (re)assigned to a hub
    activate,     // first activity reported by the hub, or an operator's activation
    deactivate,   // an operator disables the device
    reactivate,   // an operator enables a deactivated device
    deprovision,  // end of life
};

inline constexpr size_t kLifecycleStates = 5;
inline constexpr size_t kLifecycleEvents = 6;
inline constexpr std::array<LifecycleState, kLifecycleStates> kAllLifecycleStates = {
    LifecycleState::provisioned, LifecycleState::bootstrapped, LifecycleState::activated,
    LifecycleState::deactivated, LifecycleState::deprovisioned};
inline constexpr std::array<LifecycleEvent, kLifecycleEvents> kAllLifecycleEvents = {
    LifecycleEvent::enroll,     LifecycleEvent::assign,     LifecycleEvent::activate,
    LifecycleEvent::deactivate, LifecycleEvent::reactivate, LifecycleEvent::deprovision};

// "provisioned", "bootstrapped", ... (the names used in records, traces and JSON).
const char* lifecycle_state_name(LifecycleState state);
const char* lifecycle_event_name(LifecycleEvent event);
std::optional<LifecycleState> lifecycle_state_from_name(std::string_view name);
std::optional<LifecycleEvent> lifecycle_event_from_name(std::string_view name);

// The table lookup: the state `event` leads to from `from`, or nullopt when the pair is not
// in the table.
std::optional<LifecycleState> lifecycle_target(LifecycleState from, LifecycleEvent event);

// Like lifecycle_target, as a Result for callers. Errors: failed_precondition
// "cannot <event> a <state> device '<registration_id>'".
Result<LifecycleState> lifecycle_next(LifecycleState from, LifecycleEvent event,
                                      std::string_view registration_id);

// How many (state, event) pairs the table allows (for tests: the table is what it says).
size_t lifecycle_transition_count();

}  // namespace hub::provisioning
