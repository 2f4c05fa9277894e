// Property: over any sequence of lifecycle events (with crashes in between), the service's
// state equals a tiny model's, a refused event changes nothing, the history holds exactly one
// record per accepted event, and the device's identity in its hub agrees with its state.
//
// The model is the transition table re-expressed as a switch, written without looking at
// lifecycle_state.cpp's rows, so a wrong row shows up as a disagreement.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "hub/core/provisioning/provisioning_service.hpp"
#include "hub/core/provisioning/provisioning_test_world.hpp"

namespace hub::provisioning {
namespace {

using S = LifecycleState;
using testing::TestWorld;

std::optional<S> model_next(S state, LifecycleEvent event) {
    switch (event) {
        case LifecycleEvent::enroll:
            return state == S::deprovisioned ? std::optional(S::provisioned) : std::nullopt;
        case LifecycleEvent::assign:
            if (state == S::provisioned || state == S::bootstrapped) return S::bootstrapped;
            if (state == S::activated) return S::activated;
            return std::nullopt;
        case LifecycleEvent::activate:
            return state == S::bootstrapped ? std::optional(S::activated) : std::nullopt;
        case LifecycleEvent::deactivate:
            return state == S::activated ? std::optional(S::deactivated) : std::nullopt;
        case LifecycleEvent::reactivate:
            return state == S::deactivated ? std::optional(S::activated) : std::nullopt;
        case LifecycleEvent::deprovision:
            return state == S::deprovisioned ? std::nullopt : std::optional(S::deprovisioned);
    }
    return std::nullopt;
}

enum class Op {
    enroll,           // remove the enrollment if any, create it again (new keys)
    assign,           // register with the current key and let the assignment finish
    activate,         // operator activation
    report_activity,  // the hub saw the device
    deactivate,
    reactivate,
    deprovision_disable,
    deprovision_remove,
    crash_and_reopen,  // not an event: nothing may change
};
constexpr int kOps = 9;

constexpr const char* kId = "dev";

struct Harness {
    explicit Harness(uint64_t seed) : world(seed) {
        world.add_hub("hub-a", "westeurope");
        world.add_hub("hub-b", "eastus", 2);
        Status s = enroll();
        HUB_ASSERT(s.ok());
    }
    Status enroll() {
        if (world.dps->find_enrollment(kId) != nullptr) {
            Status s = world.dps->remove_enrollment(kId, "*");
            if (!s.ok()) return s;
        }
        IndividualEnrollment e;
        e.registration_id = kId;
        return world.dps->create_enrollment(e).status();
    }
    // True when the service took the event.
    bool assign() {
        const IndividualEnrollment* e = world.dps->find_enrollment(kId);
        const std::string key = e != nullptr ? e->attestation.primary_key
                                             : generate_device_key(world.dps_node.random());
        Result<RegistrationOperation> op =
            world.dps->register_device(kId, world.token(kId, key), "", world.now_ms());
        if (!op.ok()) {
            RC_ASSERT(op.status().code() == Code::not_found);  // the enrollment was removed
            return false;
        }
        world.run();
        const RegistrationOperation done = *world.dps->get_operation_status(op->operation_id);
        RC_ASSERT(done.status == RegistrationStatus::assigned ||
                  done.status == RegistrationStatus::disabled);
        return done.status == RegistrationStatus::assigned;
    }
    Status report_activity() {
        const DeviceLifecycle& d = *world.dps->lifecycle(kId);
        if (d.assigned_hub.empty()) return Status(Code::failed_precondition, "never assigned");
        return world.dps->report_activity(d.assigned_hub, d.device_id);
    }

    TestWorld world;
};

void check_refusal(const Status& status) {
    RC_ASSERT(!status.ok());
    RC_ASSERT(status.code() == Code::failed_precondition);
}

// What one op should do by the model, and whether the service took it as an event.
struct Outcome {
    std::optional<S> expected;
    bool took = false;
};

Outcome run_activation(Harness& h, Op op, S model) {
    Outcome o{model_next(model, LifecycleEvent::activate)};
    const Status s = op == Op::activate ? h.world.dps->activate(kId, "op") : h.report_activity();
    if (op == Op::report_activity && model == S::activated) {
        RC_ASSERT(s.ok());  // activity of an active device is no event
    } else if (o.expected) {
        RC_ASSERT(s.ok());
    } else {
        check_refusal(s);
    }
    o.took = s.ok() && o.expected.has_value();
    return o;
}

Outcome run_operator_event(Harness& h, Op op, S model) {
    const LifecycleEvent e = op == Op::deactivate   ? LifecycleEvent::deactivate
                             : op == Op::reactivate ? LifecycleEvent::reactivate
                                                    : LifecycleEvent::deprovision;
    Outcome o{model_next(model, e)};
    Status s;
    if (op == Op::deactivate) {
        s = h.world.dps->deactivate(kId, "why");
    } else if (op == Op::reactivate) {
        s = h.world.dps->reactivate(kId, "why not");
    } else {
        s = h.world.dps->deprovision(kId, "eol",
                                     op == Op::deprovision_remove
                                         ? DeprovisionAction::remove_enrollment
                                         : DeprovisionAction::disable_enrollment);
    }
    if (!o.expected) check_refusal(s);
    o.took = s.ok();
    return o;
}

Outcome run_op(Harness& h, Op op, S model) {
    switch (op) {
        case Op::enroll: {
            // CRUD succeeds; the lifecycle moves only from deprovisioned.
            Outcome o{model_next(model, LifecycleEvent::enroll)};
            RC_ASSERT(h.enroll().ok());
            o.took = o.expected.has_value();
            return o;
        }
        case Op::assign: {
            Outcome o{model_next(model, LifecycleEvent::assign)};
            o.took = h.assign();
            return o;
        }
        case Op::activate:
        case Op::report_activity:
            return run_activation(h, op, model);
        case Op::crash_and_reopen:
            h.world.reopen(/*crash=*/true);
            RC_ASSERT(h.world.dps != nullptr);
            return Outcome{};
        default:
            return run_operator_event(h, op, model);
    }
}

RC_GTEST_PROP(LifecycleProperty, ServiceFollowsTheModel, ()) {
    const uint64_t seed = *rc::gen::inRange<uint64_t>(1, 1'000'000);
    const std::vector<int> ops = *rc::gen::container<std::vector<int>>(rc::gen::inRange(0, kOps));
    Harness h(seed);
    S model = S::provisioned;
    size_t accepted = 0;
    for (const int code : ops) {
        const DeviceLifecycle before = *h.world.dps->lifecycle(kId);
        const Outcome o = run_op(h, static_cast<Op>(code), model);
        RC_ASSERT(o.took == o.expected.has_value() ||
                  static_cast<Op>(code) == Op::crash_and_reopen);
        const DeviceLifecycle& after = *h.world.dps->lifecycle(kId);
        if (o.took) {
            model = *o.expected;
            ++accepted;
            RC_ASSERT(after.version > before.version);
            RC_ASSERT(after.history.back().to == model);
        } else {
            RC_ASSERT(after.state == before.state);  // refused: nothing changed
            RC_ASSERT(after.version == before.version);
            RC_ASSERT(after.history == before.history);
        }
        RC_ASSERT(after.state == model);
        RC_ASSERT(after.history.size() == 1 + accepted);  // + the record's creation
        RC_ASSERT(h.world.identity_mismatch(after) == std::string());
    }
}

}  // namespace
}  // namespace hub::provisioning
