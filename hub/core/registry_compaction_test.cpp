// Registry compaction: churn keeps registry.log bounded; a crash at every disk write of a
// workload with compactions recovers exactly the acknowledged devices and policies.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "hub/core/registry.hpp"
#include "hub/store/crash_point_disk.hpp"
#include "hub/store/salt_probe.hpp"
#include "simnet/sim_node.hpp"

namespace hub {
namespace {

constexpr const char* kLog = "registry.log";

Device named(const std::string& id) {
    Device d;
    d.id = id;
    return d;
}

struct Node {
    simnet::Simulator sim{1};
    simnet::SimNetwork net{sim, Random(2)};
    simnet::SimNode node{sim, net, "hub"};
    uint64_t file_bytes() { return node.sim_disk().read(kLog)->size(); }
};

// Creates device i and deletes device i - live: `live` devices at any time, every one churned.
void churn(Registry& r, int ops, int live, const std::function<void()>& after_each,
           const std::string& prefix = "dev-") {
    for (int i = 0; i < ops; ++i) {
        ASSERT_TRUE(r.create(named(prefix + std::to_string(i))).ok());
        if (i >= live) {
            ASSERT_TRUE(r.remove(prefix + std::to_string(i - live), "*").ok());
        }
        after_each();
    }
}

TEST(RegistryCompaction, ChurnKeepsTheLogBoundedAndTheStateIntact) {
    Node n;
    const store::CompactionPolicy policy{4, 16 * 1024};
    auto r = std::move(*Registry::open(n.node, policy));
    uint64_t max_bytes = 0;
    churn(*r, 2000, 20, [&] {
        ASSERT_EQ(n.file_bytes(), r->log_bytes());
        // After every call the log is within the bound the policy promises.
        ASSERT_LE(r->log_bytes(), std::max(policy.live_factor * r->live_bytes(),
                                           policy.floor_bytes));
        max_bytes = std::max(max_bytes, r->log_bytes());
    });
    EXPECT_GE(r->compactions(), 20u);
    EXPECT_LE(max_bytes, policy.live_factor * r->live_bytes() + 2048);  // live barely moves
    const std::vector<Device> before = r->export_devices();
    const std::string owner_key = r->policy("iothubowner")->primary_key;
    r.reset();
    r = std::move(*Registry::open(n.node, policy));
    const std::vector<Device> after = r->export_devices();
    ASSERT_EQ(after.size(), 20u);
    ASSERT_EQ(before.size(), after.size());
    for (size_t i = 0; i < before.size(); ++i) {
        EXPECT_EQ(after[i].id, before[i].id);
        EXPECT_EQ(after[i].etag(), before[i].etag());
        EXPECT_EQ(after[i].generation_id, before[i].generation_id);
        EXPECT_EQ(after[i].primary_key, before[i].primary_key);
        EXPECT_EQ(after[i].status_updated_ms, before[i].status_updated_ms);
    }
    EXPECT_EQ(r->policy("iothubowner")->primary_key, owner_key);
    EXPECT_EQ(r->policies().size(), 5u);
}

// Device ids reach the registry from peers (a DPS registration names its device), so the
// log's salt must be unpredictable: drawn from the seed for the first file and for every
// compacted one, never derived from the file name.
TEST(RegistryCompaction, EveryLogFileGetsAFreshRandomSalt) {
    Node n;
    auto r = std::move(*Registry::open(n.node, store::CompactionPolicy{4, 16 * 1024}));
    simnet::SimDisk scratch;
    const uint64_t first = store::stored_salt(n.node.sim_disk(), kLog);
    EXPECT_NE(first, store::name_derived_salt(scratch, kLog));
    churn(*r, 400, 20, [] {});
    ASSERT_GE(r->compactions(), 1u);
    const uint64_t compacted = store::stored_salt(n.node.sim_disk(), kLog);
    EXPECT_NE(compacted, first);
    EXPECT_NE(compacted, store::name_derived_salt(scratch, kLog));
}

TEST(RegistryCompaction, WithoutCompactionTheSameChurnGrowsWithoutBound) {
    Node n;
    auto r = std::move(*Registry::open(n.node, store::CompactionPolicy{4, UINT64_MAX}));
    churn(*r, 2000, 20, [] {});
    EXPECT_EQ(r->compactions(), 0u);
    EXPECT_GT(r->log_bytes(), 50 * r->live_bytes());
}

TEST(RegistryCompaction, AnOldLongLogIsCompactedAtOpen) {
    Node n;
    {
        auto r = std::move(*Registry::open(n.node, store::CompactionPolicy{4, UINT64_MAX}));
        churn(*r, 300, 5, [] {});
    }
    const uint64_t before = n.file_bytes();
    auto r = std::move(*Registry::open(n.node, store::CompactionPolicy{4, 4096}));
    EXPECT_EQ(r->compactions(), 1u);
    EXPECT_LT(n.file_bytes(), before / 10);
    EXPECT_EQ(r->size(), 5u);
}

// ---- failed compactions -------------------------------------------------------------------------

// Forwards to a SimDisk, failing the sync of "<file>.compact" or the rename when asked.
class FlakyDisk : public Disk {
  public:
    explicit FlakyDisk(Disk& base) : base_(base) {}
    bool fail_compact_sync = false;
    bool fail_rename = false;

    Status append(const std::string& n, ByteView b) override { return base_.append(n, b); }
    Status pwrite(const std::string& n, uint64_t o, ByteView b) override {
        return base_.pwrite(n, o, b);
    }
    Result<Bytes> read(const std::string& n) override { return base_.read(n); }
    Status sync(const std::string& n) override {
        if (fail_compact_sync && n.ends_with(".compact")) return Status(Code::io_error, "sync");
        return base_.sync(n);
    }
    Status truncate(const std::string& n, uint64_t size) override {
        return base_.truncate(n, size);
    }
    Status remove(const std::string& n) override { return base_.remove(n); }
    Status rename(const std::string& from, const std::string& to) override {
        if (fail_rename) return Status(Code::io_error, "rename");
        return base_.rename(from, to);
    }
    uint64_t sync_async(const std::string& n, SyncDone done) override {
        return base_.sync_async(n, std::move(done));
    }
    void cancel_sync(uint64_t id) override { base_.cancel_sync(id); }
    std::vector<std::string> list() override { return base_.list(); }

  private:
    Disk& base_;
};

TEST(RegistryCompaction, AFailureBeforeTheSwapKeepsTheOldLogAndRetriesLater) {
    Node n;
    FlakyDisk disk(n.node.sim_disk());
    store::DiskEnv env(n.node, disk);
    disk.fail_compact_sync = true;
    auto r = std::move(*Registry::open(env, store::CompactionPolicy{4, 8192}));
    churn(*r, 40, 3, [] {});  // compactions due, each one failing before the swap
    EXPECT_EQ(r->compactions(), 0u);
    EXPECT_EQ(n.node.sim_disk().list(),  // it was tried
              (std::vector<std::string>{kLog, std::string(kLog) + ".compact"}));
    EXPECT_TRUE(r->create(named("still-works")).ok());
    disk.fail_compact_sync = false;
    churn(*r, 40, 3, [] {}, "more-");
    EXPECT_GE(r->compactions(), 1u);
    r.reset();
    r = std::move(*Registry::open(n.node));
    EXPECT_NE(r->find("still-works"), nullptr);
    EXPECT_EQ(r->size(), 7u);  // 3 + 3 churned, and the one created in between
    EXPECT_EQ(n.node.sim_disk().list(), std::vector<std::string>{kLog});
}

TEST(RegistryCompaction, AFailedSwapStopsChangesUntilReopen) {
    Node n;
    FlakyDisk disk(n.node.sim_disk());
    store::DiskEnv env(n.node, disk);
    disk.fail_rename = true;
    auto r = std::move(*Registry::open(env, store::CompactionPolicy{4, 8192}));
    std::set<std::string> acknowledged;
    int i = 0;
    for (; i < 100; ++i) {  // create one, delete the one created 3 calls ago
        const std::string id = "dev-" + std::to_string(i);
        if (!r->create(named(id)).ok()) break;
        acknowledged.insert(id);
        const std::string old = "dev-" + std::to_string(i - 3);
        if (i >= 3 && !r->remove(old, "*").ok()) break;
        acknowledged.erase(old);
    }
    ASSERT_LT(i, 100);  // the call after the failed swap is refused
    EXPECT_EQ(r->create(named("later")).status().code(), Code::unavailable);
    r.reset();
    r = std::move(*Registry::open(n.node));  // exactly the acknowledged devices are there
    std::set<std::string> got;
    for (const Device& d : r->export_devices()) got.insert(d.id);
    EXPECT_EQ(got, acknowledged);
    EXPECT_EQ(n.node.sim_disk().list(), std::vector<std::string>{kLog});
}

// ---- crash at every disk write -----------------------------------------------------------------

// What a device looks like to a client.
using DeviceView = std::tuple<std::string, std::string, std::string, bool>;  // etag gen key on
using View = std::map<std::string, DeviceView>;

View view_of(const Registry& r) {
    View v;
    for (const Device& d : r.export_devices()) {
        v[d.id] = {d.etag(), d.generation_id, d.primary_key, d.enabled()};
    }
    return v;
}

std::map<std::string, std::string> policy_keys(const Registry& r) {
    std::map<std::string, std::string> keys;
    for (const auto& [name, p] : r.policies()) keys[name] = p.primary_key + p.secondary_key;
    return keys;
}

struct Outcome {
    std::map<std::string, std::string> policies;  // acknowledged (the first open returned)
    View acknowledged;
    std::optional<View> in_flight;  // memory after a call that failed: it may have landed
    uint64_t compactions = 0;
    bool finished = false;
};

// One call of the workload; false when it failed (the power is cut).
bool call(Registry& r, int i) {
    const std::string id = "d" + std::to_string(i % 6);
    switch (i % 5) {
        case 0:
        case 1: {
            if (r.find(id) == nullptr) return r.create(named(id)).ok();
            Device d = *r.find(id);
            d.status = d.enabled() ? DeviceStatus::disabled : DeviceStatus::enabled;
            return r.update(d, d.etag()).ok();
        }
        case 2: return r.find(id) == nullptr ? r.create(named(id)).ok() : r.remove(id, "*").ok();
        default: {
            std::vector<Registry::ImportItem> items;
            for (int k = 0; k < 3; ++k) {
                const std::string other = "d" + std::to_string((i + k) % 6);
                const bool exists = r.find(other) != nullptr;
                items.push_back({exists && k == 2 ? Registry::ImportMode::remove
                                                  : Registry::ImportMode::create_or_update,
                                 named(other)});
            }
            Result<std::vector<Registry::ImportError>> errors = r.import_devices(items);
            return errors.ok() && errors->empty();
        }
    }
}

Outcome run_workload(Env& env, const store::CompactionPolicy& policy) {
    Outcome run;
    Result<std::unique_ptr<Registry>> opened = Registry::open(env, policy);
    if (!opened.ok()) return run;
    Registry& r = **opened;
    run.policies = policy_keys(r);
    for (int i = 0; i < 40; ++i) {
        if (!call(r, i)) {
            run.in_flight = view_of(r);
            run.compactions = r.compactions();
            return run;
        }
        run.acknowledged = view_of(r);
    }
    run.compactions = r.compactions();
    run.finished = true;
    return run;
}

TEST(RegistryCompactionCrash, ACrashAfterEveryDiskWriteRecoversTheAcknowledgedState) {
    const store::CompactionPolicy policy{2, 2048};
    uint64_t total_writes = 0;
    {
        Node n;
        store::CrashPointDisk disk(n.node.sim_disk());
        store::DiskEnv env(n.node, disk);
        const Outcome full = run_workload(env, policy);
        ASSERT_TRUE(full.finished);
        ASSERT_GE(full.compactions, 4u);
        total_writes = disk.writes();
    }
    int landed_in_flight = 0;
    for (uint64_t cut = 0; cut <= total_writes; ++cut) {
        for (uint64_t seed = 1; seed <= 2; ++seed) {
            SCOPED_TRACE("cut after write " + std::to_string(cut) + " seed " +
                         std::to_string(seed));
            Node n;
            n.node.sim_disk().set_crash_garbage(seed == 2);
            store::CrashPointDisk disk(n.node.sim_disk());
            store::DiskEnv env(n.node, disk);
            disk.cut_after(cut);
            const Outcome run = run_workload(env, policy);
            EXPECT_EQ(run.finished, cut == total_writes);
            Random tear(cut * 2 + seed);
            n.node.sim_disk().crash(tear);
            Result<std::unique_ptr<Registry>> r = Registry::open(n.node, policy);
            ASSERT_TRUE(r.ok()) << r.status().to_string();
            for (const std::string& name : n.node.sim_disk().list()) EXPECT_EQ(name, kLog);
            if (!run.policies.empty()) {
                EXPECT_EQ(policy_keys(**r), run.policies);
            }
            EXPECT_EQ((*r)->policies().size(), 5u);
            // Each device is as acknowledged, or as the one failed call left it in memory
            // (an import is several records: a crash may keep some of them).
            const View got = view_of(**r);
            View ids = run.acknowledged;
            if (run.in_flight) ids.insert(run.in_flight->begin(), run.in_flight->end());
            bool differs = false;
            for (const auto& [id, unused] : ids) {
                auto value = [&](const View& v) {
                    auto it = v.find(id);
                    return it == v.end() ? std::optional<DeviceView>() : it->second;
                };
                const auto now = value(got);
                if (now == value(run.acknowledged)) continue;
                differs = true;
                ASSERT_TRUE(run.in_flight.has_value()) << id << " changed without a call";
                EXPECT_EQ(now, value(*run.in_flight)) << id;
            }
            for (const auto& [id, unused] : got) EXPECT_TRUE(ids.contains(id)) << id;
            landed_in_flight += differs ? 1 : 0;
        }
    }
    EXPECT_GT(landed_in_flight, 0);  // some unacknowledged calls survived: the check bites
}

}  // namespace
}  // namespace hub
