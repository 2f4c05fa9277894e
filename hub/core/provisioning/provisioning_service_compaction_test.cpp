// Provisioning log compaction: churn (enrollment updates, registrations, lifecycle changes,
// hub links) keeps provisioning.log bounded and the state intact across reopen; a crash after
// every disk write of a workload with compactions recovers the acknowledged state exactly, or
// that plus the one change in flight (model check against an uncrashed reference run).
#include <gtest/gtest.h>

#include <functional>

#include "hub/core/provisioning/provisioning_service.hpp"
#include "hub/store/crash_point_disk.hpp"
#include "hub/store/salt_probe.hpp"
#include "simnet/sim_node.hpp"

namespace hub::provisioning {
namespace {

using nlohmann::json;

constexpr const char* kHub = "hub-a";
constexpr const char* kLog = "provisioning.log";
// Assignments wait this long, so a registration and its assignment are separate steps.
constexpr Duration kAssignmentDelay = Duration::seconds(10);

struct World : HubDirectory {
    simnet::Simulator sim{7};
    simnet::SimNetwork net{sim, Random(8)};
    simnet::SimNode dps_node{sim, net, "dps"};
    simnet::SimNode hub_node{sim, net, kHub};
    store::CrashPointDisk disk{dps_node.sim_disk()};
    store::DiskEnv env{dps_node, disk};
    std::unique_ptr<Registry> registry = std::move(*Registry::open(hub_node));
    ProvisioningConfig config;
    std::unique_ptr<ProvisioningService> dps;
    std::vector<std::string> operation_ids;  // every operation a call returned

    explicit World(store::CompactionPolicy policy) {
        config.compaction = policy;
        config.assignment_delay = kAssignmentDelay;
    }
    Registry* registry_for(std::string_view name) override {
        return name == kHub ? registry.get() : nullptr;
    }
    Status open(Env& on) {
        dps.reset();
        Result<std::unique_ptr<ProvisioningService>> s =
            ProvisioningService::open(on, *this, config);
        if (!s.ok()) return s.status();
        dps = std::move(*s);
        return Status::ok_status();
    }
    void run(Duration d) { sim.run_until([] { return false; }, sim.now() + d); }
    std::string token(const std::string& id, const std::string& key) const {
        return auth::make_sas_token(config.id_scope + "/registrations/" + id, key,
                                    env.utc_now_ms() / 1000 + 3600, "registration");
    }
    uint64_t file_bytes() { return dps_node.sim_disk().read(kLog)->size(); }
};

// Everything observable, canonical. `ids`: the operations to look up.
json snapshot(ProvisioningService& dps, const std::vector<std::string>& ids) {
    json s = {{"hubs", json::array()},    {"enrollments", json::array()},
              {"groups", json::array()},  {"devices", json::array()},
              {"ops", json::array()},     {"pending", dps.pending_operations()}};
    for (const auto& [name, hub] : dps.linked_hubs()) {
        s["hubs"].push_back({hub.name, hub.region, hub.allocation_weight});
    }
    for (const IndividualEnrollment* e : dps.list_enrollments("", 1000)) {
        s["enrollments"].push_back({enrollment_to_json(*e), e->version});
    }
    for (const EnrollmentGroup* g : dps.list_groups("", 1000)) {
        s["groups"].push_back({group_to_json(*g), g->version});
    }
    for (const DeviceLifecycle* d : dps.list_devices("", 1000)) {
        json device = lifecycle_record_json(*d);
        for (const LifecycleTransition& t : d->history) {
            device["history"].push_back(transition_record_json(t));
        }
        s["devices"].push_back(device);
    }
    for (const std::string& id : ids) {
        Result<RegistrationOperation> op = dps.get_operation_status(id);
        s["ops"].push_back(op.ok() ? operation_record_json(*op) : json("missing"));
    }
    return s;
}

// One step = at most one committed record. False when it failed.
using Step = std::function<bool(World&)>;

std::vector<Step> workload(int rounds) {
    std::vector<Step> steps;
    steps.push_back([](World& w) { return w.dps->link_hub({kHub, "westeurope", 1}).ok(); });
    steps.push_back([](World& w) {
        EnrollmentGroup g;
        g.group_id = "fleet";
        return w.dps->create_group(g).ok();
    });
    for (int r = 0; r < rounds; ++r) {
        const std::string id = "d" + std::to_string(r % 3);
        steps.push_back([id](World& w) {
            if (w.dps->find_enrollment(id) != nullptr) {
                IndividualEnrollment e = *w.dps->find_enrollment(id);
                ReprovisionPolicy& policy = e.reprovision_policy;
                policy.migrate_device_data = !policy.migrate_device_data;
                return w.dps->update_enrollment(e, e.etag()).ok();
            }
            IndividualEnrollment e;
            e.registration_id = id;
            return w.dps->create_enrollment(e).ok();
        });
        steps.push_back([id](World& w) {
            const IndividualEnrollment* e = w.dps->find_enrollment(id);
            Result<RegistrationOperation> op = w.dps->register_device(
                id, w.token(id, e->attestation.primary_key), "", w.env.utc_now_ms());
            if (op.ok()) w.operation_ids.push_back(op->operation_id);
            return op.ok();
        });
        steps.push_back([](World& w) {  // the assignment
            w.run(kAssignmentDelay + Duration::millis(1));
            return w.dps->pending_operations() == 0;
        });
        steps.push_back([id, r](World& w) {
            switch (r % 4) {
                case 0: return w.dps->deactivate(id, "round " + std::to_string(r)).ok();
                case 1: return w.dps->activate(id, "go").ok();
                case 2: {
                    EnrollmentGroup g = *w.dps->find_group("fleet");
                    g.provisioning_status = g.enabled() ? ProvisioningStatus::disabled
                                                        : ProvisioningStatus::enabled;
                    return w.dps->update_group(g, "*").ok();
                }
                default:
                    return w.dps->deprovision(id, "recycled", DeprovisionAction::remove_enrollment)
                        .ok();
            }
        });
    }
    return steps;
}

// Mostly changes that supersede earlier records (enrollment, group and hub updates), with a
// registration and lifecycle change now and then: the history and operations those add are
// live state, kept by compaction.
std::vector<Step> update_churn(int n) {
    std::vector<Step> steps = workload(5);
    for (int i = 0; i < n; ++i) {
        const std::string id = "d" + std::to_string(i % 3);
        steps.push_back([id](World& w) {
            if (w.dps->find_enrollment(id) == nullptr) {  // deprovisioned with its enrollment
                IndividualEnrollment e;
                e.registration_id = id;
                return w.dps->create_enrollment(e).ok();
            }
            IndividualEnrollment e = *w.dps->find_enrollment(id);
            e.reprovision_policy.migrate_device_data = !e.reprovision_policy.migrate_device_data;
            return w.dps->update_enrollment(e, "*").ok();
        });
        if (i % 7 == 0) {
            steps.push_back([i](World& w) {
                EnrollmentGroup g = *w.dps->find_group("fleet");
                g.reprovision_policy.update_hub_assignment = i % 2 == 0;
                return w.dps->update_group(g, "*").ok();
            });
        }
        if (i % 11 == 0) {
            steps.push_back([i](World& w) {
                return w.dps->link_hub({kHub, "westeurope", static_cast<uint32_t>(1 + i % 5)})
                    .ok();
            });
        }
        if (i % 50 == 0) {
            std::vector<Step> lifecycle = workload(1);
            steps.insert(steps.end(), lifecycle.begin() + 3, lifecycle.end());
        }
    }
    return steps;
}

TEST(ProvisioningCompaction, ChurnKeepsTheLogBoundedAndReopenSeesTheSameState) {
    const store::CompactionPolicy policy{4, 16 * 1024};
    World w(policy);
    ASSERT_TRUE(w.open(w.env).ok());
    for (const Step& step : update_churn(2000)) {
        (void)step(w);  // a refusal by the lifecycle table is fine here
        ASSERT_EQ(w.file_bytes(), w.dps->log_bytes());
        ASSERT_LE(w.dps->log_bytes(),
                  std::max(policy.live_factor * w.dps->snapshot_bytes(), policy.floor_bytes));
    }
    EXPECT_GE(w.dps->compactions(), 20u);
    const json before = snapshot(*w.dps, w.operation_ids);
    ASSERT_TRUE(w.open(w.env).ok());
    EXPECT_EQ(snapshot(*w.dps, w.operation_ids), before);

    World plain(store::CompactionPolicy{4, UINT64_MAX});
    ASSERT_TRUE(plain.open(plain.env).ok());
    for (const Step& step : update_churn(2000)) (void)step(plain);
    EXPECT_EQ(snapshot(*plain.dps, plain.operation_ids), before);  // same run, same state
    EXPECT_GT(plain.dps->log_bytes(), 10 * w.dps->log_bytes());
}

// Registration ids and payloads come from devices, so the log's salt must be unpredictable:
// drawn from the seed for the first file and every compacted one, never from the file name.
TEST(ProvisioningCompaction, EveryLogFileGetsAFreshRandomSalt) {
    World w(store::CompactionPolicy{4, 16 * 1024});
    ASSERT_TRUE(w.open(w.env).ok());
    simnet::SimDisk scratch;
    IndividualEnrollment e;
    e.registration_id = "first";
    ASSERT_TRUE(w.dps->create_enrollment(e).ok());
    const uint64_t first = store::stored_salt(w.disk, kLog);
    EXPECT_NE(first, store::name_derived_salt(scratch, kLog));
    for (const Step& step : update_churn(400)) (void)step(w);
    ASSERT_GE(w.dps->compactions(), 1u);
    const uint64_t compacted = store::stored_salt(w.disk, kLog);
    EXPECT_NE(compacted, first);
    EXPECT_NE(compacted, store::name_derived_salt(scratch, kLog));
}

TEST(ProvisioningCompaction, APendingAssignmentSurvivesACompactionAtOpen) {
    World w(store::CompactionPolicy{4, UINT64_MAX});
    ASSERT_TRUE(w.open(w.env).ok());
    std::vector<Step> steps = workload(1);
    for (size_t i = 0; i < 4; ++i) ASSERT_TRUE(steps[i](w)) << i;  // ... up to the register
    for (int i = 0; i < 30; ++i) ASSERT_TRUE(steps[2](w));  // enrollment updates: garbage
    ASSERT_EQ(w.dps->pending_operations(), 1u);
    const json before = snapshot(*w.dps, w.operation_ids);
    w.config.compaction = store::CompactionPolicy{2, 1024};
    ASSERT_TRUE(w.open(w.env).ok());
    EXPECT_EQ(w.dps->compactions(), 1u);
    ASSERT_TRUE(w.open(w.env).ok());  // from the compacted log alone
    EXPECT_EQ(snapshot(*w.dps, w.operation_ids), before);
    ASSERT_TRUE(steps[4](w));  // the assignment, restarted by open(), completes
    EXPECT_EQ(w.dps->get_operation_status(w.operation_ids[0])->status,
              RegistrationStatus::assigned);
}

TEST(ProvisioningCompactionCrash, ACrashAfterEveryDiskWriteRecoversTheAcknowledgedState) {
    const store::CompactionPolicy policy{2, 4096};
    const std::vector<Step> steps = workload(16);
    // The reference, an uncrashed run: what each step returns and the state after it (index 0
    // is the state before the first step), with the operation ids returned so far.
    struct Point {
        bool ok = true;
        json state;
        std::vector<std::string> ids;
    };
    std::vector<Point> reference;
    uint64_t total_writes = 0;
    {
        World w(policy);
        ASSERT_TRUE(w.open(w.env).ok());
        reference.push_back({true, snapshot(*w.dps, {}), {}});
        for (const Step& step : steps) {
            const bool ok = step(w);
            reference.push_back({ok, snapshot(*w.dps, w.operation_ids), w.operation_ids});
        }
        total_writes = w.disk.writes();
        ASSERT_GE(w.dps->compactions(), 4u);
    }
    int interrupted_compactions = 0;
    for (uint64_t cut = 0; cut <= total_writes; ++cut) {
        SCOPED_TRACE("cut after write " + std::to_string(cut));
        World w(policy);
        w.dps_node.sim_disk().set_crash_garbage(cut % 2 == 1);
        w.disk.cut_after(cut);
        size_t done = 0;  // steps acknowledged as in the reference
        if (w.open(w.env).ok()) {
            while (done < steps.size()) {
                const bool ok = steps[done](w);
                if (ok != reference[done + 1].ok ||
                    snapshot(*w.dps, w.operation_ids) != reference[done + 1].state) {
                    break;  // the step met the power cut
                }
                ++done;
            }
        }
        EXPECT_EQ(done == steps.size(), cut == total_writes);
        w.dps.reset();
        Random tear(cut + 1);
        w.dps_node.sim_disk().crash(tear);
        for (const std::string& name : w.dps_node.sim_disk().list()) {
            interrupted_compactions += name == kLog ? 0 : 1;
        }
        ASSERT_TRUE(w.open(w.dps_node).ok());
        for (const std::string& name : w.dps_node.sim_disk().list()) EXPECT_EQ(name, kLog);
        // Before any timer runs (a recovered pending assignment would complete later).
        const Point& acknowledged = reference[done];
        if (snapshot(*w.dps, acknowledged.ids) == acknowledged.state) continue;
        ASSERT_LT(done, steps.size()) << "the finished run lost state";
        const Point& next = reference[done + 1];
        EXPECT_EQ(snapshot(*w.dps, next.ids), next.state)
            << "neither the acknowledged state nor that plus the change in flight";
    }
    // Crashes in the middle of compactions were among them (each record is synced alone, and a
    // crash keeps only whole sectors of an unsynced tail, so a change in flight rarely lands).
    EXPECT_GE(interrupted_compactions, 4);
}

}  // namespace
}  // namespace hub::provisioning
