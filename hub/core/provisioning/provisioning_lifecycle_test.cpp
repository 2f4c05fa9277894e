// The device lifecycle through the service: every legal transition with its hub-side effect,
// and every illegal (state, event) pair refused with failed_precondition, changing nothing.
#include <gtest/gtest.h>

#include "hub/core/provisioning/provisioning_service.hpp"
#include "hub/core/provisioning/provisioning_test_world.hpp"

namespace hub::provisioning {
namespace {

using S = LifecycleState;
using E = LifecycleEvent;
using testing::TestWorld;

constexpr const char* kHub = "hub-a";

class Lifecycle : public ::testing::Test {
  protected:
    Lifecycle() {
        world.add_hub(kHub, "westeurope");
        world.dps->set_on_deprovisioned([this](std::string_view hub, std::string_view device) {
            purged.emplace_back(std::string(hub), std::string(device));
        });
    }
    S state(const std::string& id) { return world.dps->lifecycle(id)->state; }
    std::string key(const std::string& id) {
        return world.dps->find_enrollment(id)->attestation.primary_key;
    }
    // Creates "id" and drives it to `target` along legal transitions.
    void drive_to(const std::string& id, S target) {
        IndividualEnrollment e;
        e.registration_id = id;
        ASSERT_TRUE(world.dps->create_enrollment(e).ok());
        if (target == S::provisioned) return;
        if (target == S::deprovisioned) {
            ASSERT_TRUE(world.dps->deprovision(id, "end of life").ok());
            return;
        }
        ASSERT_EQ(world.register_and_wait(id, key(id)).status, RegistrationStatus::assigned);
        if (target == S::bootstrapped) return;
        ASSERT_TRUE(world.dps->report_activity(kHub, id).ok());
        if (target == S::activated) return;
        ASSERT_TRUE(world.dps->deactivate(id, "stolen").ok());
        ASSERT_EQ(state(id), target);
    }
    // Fires `event` through the service API the way its callers would.
    Status fire(const std::string& id, E event) {
        switch (event) {
            case E::enroll: {
                IndividualEnrollment e;
                e.registration_id = id;
                return world.dps->create_enrollment(e).status();
            }
            case E::assign: {
                Result<RegistrationOperation> op =
                    world.dps->register_device(id, world.token(id, key(id)), "", world.now_ms());
                if (!op.ok()) return op.status();
                world.run();
                const RegistrationOperation done =
                    *world.dps->get_operation_status(op->operation_id);
                if (done.status == RegistrationStatus::assigned) return Status();
                return Status(Code::failed_precondition,
                              done.error_message);  // the wire's "disabled"
            }
            case E::activate:
                return world.dps->activate(id, "customer activated");
            case E::deactivate:
                return world.dps->deactivate(id, "suspicious");
            case E::reactivate:
                return world.dps->reactivate(id, "cleared");
            case E::deprovision:
                return world.dps->deprovision(id, "decommissioned");
        }
        return Status(Code::internal, "unreachable");
    }

    TestWorld world;
    std::vector<std::pair<std::string, std::string>> purged;
};

TEST_F(Lifecycle, TheWholeLifeWithItsHubSideEffects) {
    drive_to("d1", S::provisioned);
    EXPECT_EQ(state("d1"), S::provisioned);
    ASSERT_EQ(world.register_and_wait("d1", key("d1")).status, RegistrationStatus::assigned);
    EXPECT_EQ(state("d1"), S::bootstrapped);
    Registry& hub = world.registry(kHub);
    ASSERT_NE(hub.find("d1"), nullptr);

    ASSERT_TRUE(world.dps->report_activity(kHub, "d1").ok());
    EXPECT_EQ(state("d1"), S::activated);
    ASSERT_TRUE(world.dps->report_activity(kHub, "d1").ok());  // activity, not an event
    EXPECT_EQ(world.dps->history("d1")->size(), 3u);

    ASSERT_TRUE(world.dps->deactivate("d1", "reported stolen").ok());
    EXPECT_EQ(state("d1"), S::deactivated);
    EXPECT_FALSE(hub.find("d1")->enabled());
    EXPECT_EQ(hub.find("d1")->status_reason, "reported stolen");
    EXPECT_EQ(world.dps->lifecycle("d1")->reason, "reported stolen");
    // A deactivated device registering again is told "disabled".
    const RegistrationOperation refused = world.register_and_wait("d1", key("d1"));
    EXPECT_EQ(refused.status, RegistrationStatus::disabled);
    EXPECT_EQ(refused.error_message, "cannot assign a deactivated device 'd1'");
    EXPECT_EQ(world.dps->report_activity(kHub, "d1").code(), Code::failed_precondition);

    ASSERT_TRUE(world.dps->reactivate("d1", "found").ok());
    EXPECT_EQ(state("d1"), S::activated);
    EXPECT_TRUE(hub.find("d1")->enabled());

    ASSERT_TRUE(world.dps->deprovision("d1", "end of life").ok());
    EXPECT_EQ(state("d1"), S::deprovisioned);
    EXPECT_EQ(hub.find("d1"), nullptr);
    EXPECT_FALSE(world.dps->find_enrollment("d1")->enabled());
    ASSERT_EQ(purged.size(), 1u);
    EXPECT_EQ(purged[0], std::pair(std::string(kHub), std::string("d1")));
    EXPECT_EQ(world.dps->activate("d1", "").message(),
              "cannot activate a deprovisioned device 'd1'");

    // Refurbished: a new enrollment starts a new life.
    ASSERT_TRUE(world.dps->remove_enrollment("d1", "*").ok());
    drive_to("d1", S::provisioned);
    EXPECT_EQ(state("d1"), S::provisioned);
    EXPECT_TRUE(world.dps->lifecycle("d1")->assigned_hub.empty());

    const std::vector<std::tuple<std::optional<S>, S, E>> expected = {
        {std::nullopt, S::provisioned, E::enroll},
        {S::provisioned, S::bootstrapped, E::assign},
        {S::bootstrapped, S::activated, E::activate},
        {S::activated, S::deactivated, E::deactivate},
        {S::deactivated, S::activated, E::reactivate},
        {S::activated, S::deprovisioned, E::deprovision},
        {S::deprovisioned, S::provisioned, E::enroll}};
    const std::vector<LifecycleTransition> history = *world.dps->history("d1");
    ASSERT_EQ(history.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(history[i].from, std::get<0>(expected[i])) << i;
        EXPECT_EQ(history[i].to, std::get<1>(expected[i])) << i;
        EXPECT_EQ(history[i].event, std::get<2>(expected[i])) << i;
        EXPECT_LE(history[i].at_ms, world.now_ms());
        if (i > 0) {
            EXPECT_GE(history[i].at_ms, history[i - 1].at_ms);
        }
    }
    EXPECT_EQ(history[3].reason, "reported stolen");
    EXPECT_EQ(history[5].reason, "end of life");
}

TEST_F(Lifecycle, OtherLegalPaths) {
    drive_to("p", S::provisioned);
    ASSERT_TRUE(
        world.dps->deprovision("p", "never shipped", DeprovisionAction::remove_enrollment).ok());
    EXPECT_EQ(state("p"), S::deprovisioned);
    EXPECT_EQ(world.dps->find_enrollment("p"), nullptr);
    EXPECT_TRUE(purged.empty());  // it never had an identity

    drive_to("b", S::bootstrapped);
    ASSERT_TRUE(world.dps->activate("b", "customer paid").ok());  // an operator activates
    EXPECT_EQ(state("b"), S::activated);
    ASSERT_EQ(world.register_and_wait("b", key("b")).status, RegistrationStatus::assigned);
    EXPECT_EQ(state("b"), S::activated);  // re-registration keeps it active

    drive_to("b2", S::bootstrapped);
    ASSERT_TRUE(world.dps->deprovision("b2", "recalled").ok());
    EXPECT_EQ(world.registry(kHub).find("b2"), nullptr);

    drive_to("x", S::deactivated);
    ASSERT_TRUE(world.dps->deprovision("x", "stolen for good").ok());
    EXPECT_EQ(state("x"), S::deprovisioned);
    EXPECT_EQ(world.registry(kHub).find("x"), nullptr);
}

TEST_F(Lifecycle, GroupMembersLiveTheSameLife) {
    EnrollmentGroup g;
    g.group_id = "fleet";
    g = *world.dps->create_group(g);
    const std::string key = *derive_device_key(g.attestation.primary_key, "m1");
    ASSERT_EQ(world.register_and_wait("m1", key).status, RegistrationStatus::assigned);
    EXPECT_EQ(world.dps->lifecycle("m1")->group_id, "fleet");
    ASSERT_TRUE(world.dps->report_activity(kHub, "m1").ok());
    ASSERT_TRUE(world.dps->deprovision("m1", "eol").ok());
    EXPECT_EQ(world.register_and_wait("m1", key).status, RegistrationStatus::disabled);
    EXPECT_EQ(world.registry(kHub).find("m1"), nullptr);
}

// Every (state, event) pair the table refuses is refused by the service too, and nothing
// changes: state, record version, history, and the identity in the hub.
TEST_F(Lifecycle, EveryIllegalPairIsRefusedAndChangesNothing) {
    int refused = 0;
    for (S s : kAllLifecycleStates) {
        for (E e : kAllLifecycleEvents) {
            if (lifecycle_target(s, e).has_value()) continue;
            const std::string id =
                std::string(lifecycle_state_name(s)) + "-" + lifecycle_event_name(e);
            drive_to(id, s);
            const DeviceLifecycle before = *world.dps->lifecycle(id);
            const Device* identity = world.registry(kHub).find(id);
            const std::optional<Device> identity_before =
                identity ? std::optional(*identity) : std::nullopt;
            const Status status = fire(id, e);
            if (e == E::enroll) {
                // create_enrollment refuses as CRUD (the enrollment exists); after removing it,
                // re-creating leaves a live device's lifecycle alone.
                EXPECT_EQ(status.code(), Code::already_exists) << id;
            } else {
                EXPECT_EQ(status.code(), Code::failed_precondition)
                    << id << ": " << status.to_string();
                EXPECT_EQ(status.message(), std::string("cannot ") + lifecycle_event_name(e) +
                                                (s == S::activated ? " an " : " a ") +
                                                lifecycle_state_name(s) + " device '" + id + "'");
            }
            const DeviceLifecycle& after = *world.dps->lifecycle(id);
            EXPECT_EQ(after.state, s) << id;
            EXPECT_EQ(after.version, before.version) << id;
            EXPECT_EQ(after.history, before.history) << id;
            const Device* identity_after = world.registry(kHub).find(id);
            ASSERT_EQ(identity_after != nullptr, identity_before.has_value()) << id;
            if (identity_after) {
                EXPECT_EQ(identity_after->etag(), identity_before->etag()) << id;
            }
            ++refused;
        }
    }
    EXPECT_EQ(refused,
              static_cast<int>(kLifecycleStates * kLifecycleEvents - lifecycle_transition_count()));
}

TEST_F(Lifecycle, ReEnrollingALiveDeviceKeepsItsLife) {
    drive_to("d1", S::activated);
    ASSERT_TRUE(world.dps->remove_enrollment("d1", "*").ok());
    IndividualEnrollment e;
    e.registration_id = "d1";
    ASSERT_TRUE(world.dps->create_enrollment(e).ok());
    EXPECT_EQ(state("d1"), S::activated);
    EXPECT_EQ(world.dps->history("d1")->size(), 3u);
}

TEST_F(Lifecycle, FailuresChangeNothing) {
    drive_to("d1", S::activated);
    const uint64_t version = world.dps->lifecycle("d1")->version;
    world.set_down(kHub, true);
    EXPECT_EQ(world.dps->deactivate("d1", "x").code(), Code::unavailable);
    EXPECT_EQ(world.dps->deprovision("d1", "x").code(), Code::unavailable);
    world.set_down(kHub, false);
    EXPECT_EQ(world.dps->deactivate("d1", std::string(129, 'r')).code(), Code::invalid_argument);
    EXPECT_EQ(world.dps->deactivate("ghost", "x").code(), Code::not_found);
    EXPECT_EQ(world.dps->report_activity(kHub, "ghost").code(), Code::not_found);
    EXPECT_EQ(world.dps->report_activity("hub-z", "d1").code(), Code::not_found);
    EXPECT_EQ(world.dps->history("ghost").status().code(), Code::not_found);
    EXPECT_EQ(world.dps->lifecycle("d1")->version, version);
    EXPECT_TRUE(world.registry(kHub).find("d1")->enabled());
}

// A failing sync: the call reports it, memory does not move, and the service refuses further
// changes until it is reopened (the record may or may not have reached the disk).
TEST_F(Lifecycle, AFailedSyncStopsChangesUntilReopen) {
    drive_to("d1", S::activated);
    drive_to("d2", S::provisioned);
    world.dps_node.sim_disk().set_fail_syncs(true);
    EXPECT_EQ(world.dps->deactivate("d1", "x").code(), Code::io_error);
    world.dps_node.sim_disk().set_fail_syncs(false);
    EXPECT_EQ(state("d1"), S::activated);
    EXPECT_EQ(world.dps->deprovision("d2", "x").code(), Code::io_error);  // sticky
    EXPECT_EQ(state("d2"), S::provisioned);
    world.reopen(/*crash=*/true);
    ASSERT_NE(world.dps, nullptr);
    const S recovered = state("d1");
    EXPECT_TRUE(recovered == S::activated || recovered == S::deactivated);
    if (recovered == S::activated) {
        EXPECT_TRUE(world.dps->deactivate("d1", "x").ok());
    }
    EXPECT_EQ(state("d1"), S::deactivated);
    EXPECT_TRUE(world.dps->deprovision("d2", "x").ok());
}

TEST_F(Lifecycle, ReactivateRecreatesAVanishedIdentity) {
    drive_to("d1", S::deactivated);
    ASSERT_TRUE(world.registry(kHub).remove("d1", "*").ok());  // deleted by hand meanwhile
    ASSERT_TRUE(world.dps->reactivate("d1", "back").ok());
    const Device* d = world.registry(kHub).find("d1");
    ASSERT_NE(d, nullptr);
    EXPECT_TRUE(d->enabled());
    EXPECT_EQ(d->primary_key, key("d1"));
}

}  // namespace
}  // namespace hub::provisioning
