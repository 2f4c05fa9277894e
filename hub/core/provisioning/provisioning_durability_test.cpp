// Durability: a small workload; a power loss of every node after each step; after recovery
// everything the calls had returned is still there (snapshot before == snapshot after), the
// hubs' identities agree with the lifecycle, and the rest of the workload then ends exactly
// where an uncrashed run ends.
#include <functional>

#include <gtest/gtest.h>

#include "hub/core/provisioning/provisioning_service.hpp"
#include "hub/core/provisioning/provisioning_test_world.hpp"

namespace hub::provisioning {
namespace {

using nlohmann::json;
using testing::TestWorld;

constexpr const char* kHubA = "hub-a";
constexpr const char* kHubB = "hub-b";

struct Ledger {
    std::vector<std::string> operation_ids;  // every operation a call returned
};

using Step = std::function<void(TestWorld&, Ledger&)>;

void register_device(TestWorld& w, Ledger& l, const std::string& id, const std::string& key) {
    Result<RegistrationOperation> op = w.dps->register_device(id, w.token(id, key), "", w.now_ms());
    ASSERT_TRUE(op.ok()) << op.status().to_string();
    EXPECT_EQ(op->status, RegistrationStatus::assigning);
    l.operation_ids.push_back(op->operation_id);
}

std::string group_key(TestWorld& w, const std::string& id) {
    return *derive_device_key(w.dps->find_group("fleet")->attestation.primary_key, id);
}

std::vector<Step> workload() {
    auto ok = [](const Status& s) { ASSERT_TRUE(s.ok()) << s.to_string(); };
    return {
        [=](TestWorld& w, Ledger&) {
            ok(w.dps->link_hub({kHubA, "westeurope", 1}).status());
        },
        [=](TestWorld& w, Ledger&) {
            ok(w.dps->link_hub({kHubB, "eastus", 2}).status());
        },
        [=](TestWorld& w, Ledger&) {
            IndividualEnrollment e;
            e.registration_id = "d1";
            ok(w.dps->create_enrollment(e).status());
        },
        [=](TestWorld& w, Ledger&) {
            EnrollmentGroup g;
            g.group_id = "fleet";
            ok(w.dps->create_group(g).status());
        },
        // A crash right after this step finds the assignment pending: open() restarts it.
        [=](TestWorld& w, Ledger& l) {
            register_device(w, l, "d1", w.dps->find_enrollment("d1")->attestation.primary_key);
        },
        [=](TestWorld& w, Ledger&) { w.run(); },
        [=](TestWorld& w, Ledger& l) { register_device(w, l, "m1", group_key(w, "m1")); },
        [=](TestWorld& w, Ledger&) { w.run(); },
        [=](TestWorld& w, Ledger&) {
            const DeviceLifecycle& d = *w.dps->lifecycle("d1");
            ok(w.dps->report_activity(d.assigned_hub, d.device_id));
        },
        [=](TestWorld& w, Ledger&) { ok(w.dps->deactivate("d1", "lost")); },
        [=](TestWorld& w, Ledger&) { ok(w.dps->reactivate("d1", "found")); },
        [=](TestWorld& w, Ledger&) {
            IndividualEnrollment e = *w.dps->find_enrollment("d1");
            e.reprovision_policy.update_hub_assignment = false;
            ok(w.dps->update_enrollment(e, e.etag()).status());
        },
        [=](TestWorld& w, Ledger&) { ok(w.dps->deprovision("m1", "recalled")); },
        [=](TestWorld& w, Ledger&) { ok(w.dps->remove_group("fleet", "*")); },
        [=](TestWorld& w, Ledger&) {
            ok(w.dps->deprovision("d1", "end of life", DeprovisionAction::remove_enrollment));
        },
        [=](TestWorld& w, Ledger&) {
            IndividualEnrollment e;
            e.registration_id = "d1";
            ok(w.dps->create_enrollment(e).status());
        },
        [=](TestWorld& w, Ledger&) { ok(w.dps->unlink_hub(kHubB)); },
    };
}

// Everything observable, in a canonical form.
json snapshot(TestWorld& w, const Ledger& l) {
    json s = {{"hubs", json::array()},       {"enrollments", json::array()},
              {"groups", json::array()},     {"devices", json::array()},
              {"operations", json::array()}, {"identities", json::object()}};
    for (const auto& [name, hub] : w.dps->linked_hubs()) {
        s["hubs"].push_back({hub.name, hub.region, hub.allocation_weight});
    }
    for (const IndividualEnrollment* e : w.dps->list_enrollments("", 1000)) {
        s["enrollments"].push_back(enrollment_to_json(*e));
    }
    for (const EnrollmentGroup* g : w.dps->list_groups("", 1000)) {
        s["groups"].push_back(group_to_json(*g));
    }
    for (const DeviceLifecycle* d : w.dps->list_devices("", 1000)) {
        json device = lifecycle_record_json(*d);
        for (const LifecycleTransition& t : d->history) {
            device["history"].push_back(transition_record_json(t));
        }
        s["devices"].push_back(device);
    }
    for (const std::string& id : l.operation_ids) {
        Result<RegistrationOperation> op = w.dps->get_operation_status(id);
        s["operations"].push_back(op.ok() ? operation_record_json(*op) : json("missing"));
    }
    s["pending"] = w.dps->pending_operations();
    for (const char* hub : {kHubA, kHubB}) {
        for (const Device& d : w.registry(hub).export_devices()) {
            s["identities"][hub].push_back(
                {d.id, d.enabled(), d.status_reason, d.primary_key, d.etag()});
        }
    }
    return s;
}

class Durability : public ::testing::Test {
  protected:
    static void start(TestWorld& w) {
        w.add_hub(kHubA, "westeurope", 1, /*link=*/false);
        w.add_hub(kHubB, "eastus", 1, /*link=*/false);
    }
};

TEST_F(Durability, EverythingReturnedSurvivesACrashAfterEachStep) {
    const std::vector<Step> steps = workload();
    TestWorld reference(21);
    start(reference);
    Ledger reference_ledger;
    for (const Step& step : steps) step(reference, reference_ledger);
    reference.run();
    const json expected_end = snapshot(reference, reference_ledger);
    EXPECT_EQ(expected_end["pending"], 0);

    for (size_t crash_after = 0; crash_after < steps.size(); ++crash_after) {
        SCOPED_TRACE("crash after step " + std::to_string(crash_after));
        TestWorld w(21);
        start(w);
        Ledger ledger;
        for (size_t i = 0; i <= crash_after; ++i) steps[i](w, ledger);
        const json before = snapshot(w, ledger);
        w.crash_hub(kHubA);
        w.crash_hub(kHubB);
        w.reopen(/*crash=*/true);
        ASSERT_NE(w.dps, nullptr);
        EXPECT_EQ(snapshot(w, ledger), before);
        for (const DeviceLifecycle* d : w.dps->list_devices("", 1000)) {
            EXPECT_EQ(w.identity_mismatch(*d), "");
        }
        for (size_t i = crash_after + 1; i < steps.size(); ++i) steps[i](w, ledger);
        w.run();
        EXPECT_EQ(snapshot(w, ledger), expected_end);
    }
}

TEST_F(Durability, APendingAssignmentCompletesAfterRecovery) {
    ProvisioningConfig config;
    config.assignment_delay = Duration::millis(300);
    TestWorld w(4, config);
    w.add_hub(kHubA, "westeurope");
    IndividualEnrollment e;
    e.registration_id = "d1";
    e = *w.dps->create_enrollment(e);
    Result<RegistrationOperation> op =
        w.dps->register_device("d1", w.token("d1", e.attestation.primary_key), "", w.now_ms());
    ASSERT_TRUE(op.ok());
    w.reopen(/*crash=*/true);
    EXPECT_EQ(w.dps->get_operation_status(op->operation_id)->status, RegistrationStatus::assigning);
    EXPECT_EQ(w.dps->pending_operations(), 1u);
    w.run();
    EXPECT_EQ(w.dps->get_operation_status(op->operation_id)->status, RegistrationStatus::assigned);
    EXPECT_NE(w.registry(kHubA).find("d1"), nullptr);
    EXPECT_EQ(w.dps->history("d1")->size(), 2u);  // exactly one assign, not two
}

TEST_F(Durability, FinishedOperationsAreBoundedAndForgottenOldestFirst) {
    TestWorld w(6);
    w.add_hub(kHubA, "westeurope");
    IndividualEnrollment e;
    e.registration_id = "d1";
    e.provisioning_status = ProvisioningStatus::disabled;  // answers at once, no hub writes
    e = *w.dps->create_enrollment(e);
    const std::string token = w.token("d1", e.attestation.primary_key);
    std::vector<std::string> ids;
    for (size_t i = 0; i < kOperationsMax + 5; ++i) {
        Result<RegistrationOperation> op = w.dps->register_device("d1", token, "", w.now_ms());
        ASSERT_TRUE(op.ok());
        ids.push_back(op->operation_id);
    }
    for (size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(w.dps->get_operation_status(ids[i]).status().code(), Code::not_found);
    }
    EXPECT_TRUE(w.dps->get_operation_status(ids[5]).ok());
    EXPECT_TRUE(w.dps->get_operation_status(ids.back()).ok());
    w.reopen(/*crash=*/true);  // replay forgets the same ones
    EXPECT_EQ(w.dps->get_operation_status(ids[4]).status().code(), Code::not_found);
    EXPECT_TRUE(w.dps->get_operation_status(ids[5]).ok());
}

}  // namespace
}  // namespace hub::provisioning
