#include "hub/core/provisioning/lifecycle_state.hpp"

#include <string>

namespace hub::provisioning {

namespace {

using S = LifecycleState;
using E = LifecycleEvent;

struct Transition {
    S from;
    E event;
    S to;
};

// THE table. Every legal (state, event) pair is one row; everything else is refused.
constexpr Transition kTable[] = {
    {S::provisioned, E::assign, S::bootstrapped},
    {S::provisioned, E::deprovision, S::deprovisioned},
    {S::bootstrapped, E::assign, S::bootstrapped},
    {S::bootstrapped, E::activate, S::activated},
    {S::bootstrapped, E::deprovision, S::deprovisioned},
    {S::activated, E::assign, S::activated},
    {S::activated, E::deactivate, S::deactivated},
    {S::activated, E::deprovision, S::deprovisioned},
    {S::deactivated, E::reactivate, S::activated},
    {S::deactivated, E::deprovision, S::deprovisioned},
    {S::deprovisioned, E::enroll, S::provisioned},
};

constexpr size_t kTableRows = sizeof(kTable) / sizeof(kTable[0]);

constexpr bool table_has_no_duplicate_pairs() {
    for (size_t i = 0; i < kTableRows; ++i) {
        for (size_t j = i + 1; j < kTableRows; ++j) {
            if (kTable[i].from == kTable[j].from && kTable[i].event == kTable[j].event) {
                return false;
            }
        }
    }
    return true;
}

constexpr bool deprovisioned_leaves_only_by_enroll() {
    for (const Transition& t : kTable) {
        if (t.from == S::deprovisioned && t.event != E::enroll) return false;
    }
    return true;
}

constexpr bool every_live_state_can_be_deprovisioned() {
    for (S s : kAllLifecycleStates) {
        if (s == S::deprovisioned) continue;
        bool found = false;
        for (const Transition& t : kTable) {
            found = found || (t.from == s && t.event == E::deprovision);
        }
        if (!found) return false;
    }
    return true;
}

static_assert(table_has_no_duplicate_pairs(), "one row per (state, event)");
static_assert(deprovisioned_leaves_only_by_enroll(), "deprovisioned is end of life");
static_assert(every_live_state_can_be_deprovisioned(), "end of life is always reachable");
static_assert(kTableRows < kLifecycleStates * kLifecycleEvents);

constexpr const char* kStateNames[kLifecycleStates] = {"provisioned", "bootstrapped", "activated",
                                                       "deactivated", "deprovisioned"};
constexpr const char* kEventNames[kLifecycleEvents] = {"enroll",     "assign",     "activate",
                                                       "deactivate", "reactivate", "deprovision"};

}  // namespace

const char* lifecycle_state_name(LifecycleState state) {
    const auto i = static_cast<size_t>(state);
    HUB_ASSERT(i < kLifecycleStates);
    return kStateNames[i];
}

const char* lifecycle_event_name(LifecycleEvent event) {
    const auto i = static_cast<size_t>(event);
    HUB_ASSERT(i < kLifecycleEvents);
    return kEventNames[i];
}

std::optional<LifecycleState> lifecycle_state_from_name(std::string_view name) {
    for (LifecycleState s : kAllLifecycleStates) {
        if (name == lifecycle_state_name(s)) return s;
    }
    return std::nullopt;
}

std::optional<LifecycleEvent> lifecycle_event_from_name(std::string_view name) {
    for (LifecycleEvent e : kAllLifecycleEvents) {
        if (name == lifecycle_event_name(e)) return e;
    }
    return std::nullopt;
}

std::optional<LifecycleState> lifecycle_target(LifecycleState from, LifecycleEvent event) {
    for (const Transition& t : kTable) {
        if (t.from == from && t.event == event) return t.to;
    }
    return std::nullopt;
}

Result<LifecycleState> lifecycle_next(LifecycleState from, LifecycleEvent event,
                                      std::string_view registration_id) {
    if (std::optional<LifecycleState> to = lifecycle_target(from, event)) return *to;
    const char* state = lifecycle_state_name(from);
    const char* article = state[0] == 'a' ? "an " : "a ";
    return Status(Code::failed_precondition, std::string("cannot ") + lifecycle_event_name(event) +
                                                 " " + article + state + " device '" +
                                                 std::string(registration_id) + "'");
}

size_t lifecycle_transition_count() { return kTableRows; }

}  // namespace hub::provisioning
