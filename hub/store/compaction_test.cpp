#include "hub/store/compaction.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>

#include "hub/store/crash_point_disk.hpp"
#include "simnet/sim_disk.hpp"

namespace hub::store {
namespace {

Bytes bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }
std::string text(const Bytes& b) { return std::string(b.begin(), b.end()); }

TEST(CompactionDue, AboveFactorTimesLiveAndAboveTheFloor) {
    const CompactionPolicy p{4, 1000};
    EXPECT_FALSE(compaction_due(p, 1000, 0));  // at the floor
    EXPECT_TRUE(compaction_due(p, 1001, 0));
    EXPECT_FALSE(compaction_due(p, 4000, 1000));  // at 4 x live
    EXPECT_TRUE(compaction_due(p, 4001, 1000));
    EXPECT_FALSE(compaction_due(p, UINT64_MAX, UINT64_MAX / 2));  // no overflow
    EXPECT_EQ(record_bytes(10), 10u + kRecordHeaderBytes);
    EXPECT_EQ(compaction_file_name("a.log"), "a.log.compact");
}

// A toy key-value store over one RecordLog, compacted like the real stores: records are
// "s<key>=<value>" (set) and "d<key>" (delete); the live state is one set record per key.
class KvStore {
  public:
    KvStore(Disk& disk, CompactionPolicy policy) : disk_(disk), policy_(policy) {}

    Status open() {
        Status s = remove_stray_compaction(disk_, kName);
        if (!s.ok()) return s;
        log_ = std::make_unique<RecordLog>(disk_, kName);
        Result<std::vector<Bytes>> records = log_->recover();
        if (!records.ok()) return records.status();
        for (const Bytes& r : *records) {
            apply(text(r));
        }
        log_bytes_ = log_->size_bytes();  // the file's size, header included
        return Status::ok_status();
    }
    Status set(const std::string& key, const std::string& value) {
        return write("s" + key + "=" + value);
    }
    Status del(const std::string& key) { return write("d" + key); }
    // Compacts when due; returns whether it did.
    Result<bool> maybe_compact() {
        if (!compaction_due(policy_, log_bytes_, live_bytes())) return false;
        CompactionWriter w(disk_, kName, /*new_file_salt=*/0x5eed);
        for (const auto& [key, value] : kv_) {
            Status s = w.add(bytes("s" + key + "=" + value));
            if (!s.ok()) return s;
        }
        Result<std::unique_ptr<RecordLog>> log = w.finish();
        if (!log.ok()) return log.status();
        log_ = std::move(*log);
        log_bytes_ = log_->size_bytes();
        return true;
    }
    const std::map<std::string, std::string>& kv() const { return kv_; }
    uint64_t log_bytes() const { return log_bytes_; }

    static constexpr const char* kName = "kv.log";

  private:
    uint64_t live_bytes() const {
        uint64_t n = 0;
        for (const auto& [key, value] : kv_) n += record_bytes(2 + key.size() + value.size());
        return n;
    }
    Status write(const std::string& record) {
        Status s = log_->append(bytes(record));
        if (s.ok()) s = log_->sync();
        if (!s.ok()) return s;
        log_bytes_ = log_->size_bytes();
        apply(record);
        return s;
    }
    void apply(const std::string& r) {
        const size_t eq = r.find('=');
        if (r[0] == 's') {
            kv_[r.substr(1, eq - 1)] = r.substr(eq + 1);
        } else {
            kv_.erase(r.substr(1));
        }
    }

    Disk& disk_;
    CompactionPolicy policy_;
    std::unique_ptr<RecordLog> log_;
    std::map<std::string, std::string> kv_;
    uint64_t log_bytes_ = 0;
};

TEST(CompactionWriter, ReplacesTheLogWithTheLiveRecordsAndAppendsGoOnThere) {
    simnet::SimDisk disk;
    KvStore kv(disk, CompactionPolicy{4, 256});
    ASSERT_TRUE(kv.open().ok());
    for (int i = 0; i < 40; ++i) {
        ASSERT_TRUE(kv.set("k" + std::to_string(i % 3), "v" + std::to_string(i)).ok());
    }
    const uint64_t before = disk.read(KvStore::kName)->size();
    EXPECT_EQ(before, kv.log_bytes());  // the stores' byte count is the file's size
    Result<bool> compacted = kv.maybe_compact();
    ASSERT_TRUE(compacted.ok() && *compacted);
    EXPECT_EQ(disk.read(KvStore::kName)->size(), kv.log_bytes());
    EXPECT_LT(kv.log_bytes(), before / 5);
    EXPECT_EQ(disk.list(), std::vector<std::string>{KvStore::kName});  // no .compact left
    ASSERT_TRUE(kv.set("k9", "after").ok());
    KvStore again(disk, CompactionPolicy{});
    ASSERT_TRUE(again.open().ok());
    EXPECT_EQ(again.kv(), kv.kv());
    EXPECT_EQ(again.kv().at("k9"), "after");
    EXPECT_EQ(again.kv().at("k0"), "v39");
}

TEST(CompactionWriter, OpenDeletesAStrayCompactFile) {
    simnet::SimDisk disk;
    KvStore kv(disk, CompactionPolicy{});
    ASSERT_TRUE(kv.open().ok());
    ASSERT_TRUE(kv.set("a", "1").ok());
    ASSERT_TRUE(disk.append("kv.log.compact", bytes("half a compaction")).ok());
    KvStore again(disk, CompactionPolicy{});
    ASSERT_TRUE(again.open().ok());
    EXPECT_EQ(disk.list(), std::vector<std::string>{KvStore::kName});
    EXPECT_EQ(again.kv().at("a"), "1");
}

TEST(CompactionWriter, AFailedWriteLeavesTheOldLogAlone) {
    simnet::SimDisk disk;
    KvStore kv(disk, CompactionPolicy{2, 0});
    ASSERT_TRUE(kv.open().ok());
    ASSERT_TRUE(kv.set("a", "1").ok());
    ASSERT_TRUE(kv.set("a", "2").ok());
    ASSERT_TRUE(kv.set("a", "3").ok());
    disk.set_fail_syncs(true);
    CompactionWriter w(disk, KvStore::kName, /*new_file_salt=*/0x5eed);
    ASSERT_TRUE(w.add(bytes("sa=3")).ok());
    EXPECT_EQ(w.finish().status().code(), Code::io_error);
    EXPECT_FALSE(w.replaced());
    disk.set_fail_syncs(false);
    KvStore again(disk, CompactionPolicy{});
    ASSERT_TRUE(again.open().ok());
    EXPECT_EQ(again.kv().at("a"), "3");
    EXPECT_EQ(again.log_bytes(), kFileHeaderBytes + 3 * record_bytes(4));  // the old, full log
}

// Model check: a churn workload with compactions, cut after every disk write, crashed with
// torn tails and garbage. The recovered state must be the last acknowledged one, or that plus
// the one change in flight; never a mix of old and compact logs, never a loss.
struct Outcome {
    std::map<std::string, std::string> acknowledged;
    std::optional<std::map<std::string, std::string>> in_flight;
    int compactions = 0;
    bool finished = false;
};

Outcome run_churn(KvStore& kv) {
    Outcome out;
    for (int i = 0; i < 60; ++i) {
        std::map<std::string, std::string> next = kv.kv();
        const std::string key = "k" + std::to_string(i % 5);
        Status s;
        if (i % 7 == 6) {
            next.erase(key);
            out.in_flight = next;
            s = kv.del(key);
        } else {
            // Set records are exactly two sectors (header 8 + "sk0=" 4 + value 1012 bytes): a
            // crash keeps whole sectors of an unsynced tail, so it can keep a whole record.
            std::string value = "value-" + std::to_string(i);
            value.resize(1012, 'v');
            next[key] = value;
            out.in_flight = next;
            s = kv.set(key, next[key]);
        }
        if (!s.ok()) return out;
        out.acknowledged = next;
        out.in_flight.reset();
        Result<bool> c = kv.maybe_compact();
        if (!c.ok()) return out;  // a compaction changes no state: nothing is in flight
        out.compactions += *c ? 1 : 0;
    }
    out.finished = true;
    return out;
}

TEST(CompactionCrash, ACrashAfterEveryDiskWriteRecoversTheAcknowledgedState) {
    const CompactionPolicy policy{3, 4096};
    uint64_t total_writes = 0;
    {
        simnet::SimDisk disk;
        CrashPointDisk counting(disk);
        KvStore kv(counting, policy);
        ASSERT_TRUE(kv.open().ok());
        const Outcome full = run_churn(kv);
        ASSERT_TRUE(full.finished);
        ASSERT_GE(full.compactions, 5);
        total_writes = counting.writes();
    }
    int mixed_endings = 0;
    for (uint64_t cut = 0; cut <= total_writes; ++cut) {
        for (uint64_t seed = 1; seed <= 2; ++seed) {
            SCOPED_TRACE("cut after write " + std::to_string(cut) + " seed " +
                         std::to_string(seed));
            simnet::SimDisk disk;
            disk.set_crash_garbage(seed == 2);
            CrashPointDisk crashing(disk);
            crashing.cut_after(cut);
            std::optional<KvStore> kv(std::in_place, crashing, policy);
            Outcome out;
            if (kv->open().ok()) {
                out = run_churn(*kv);
            } else {
                EXPECT_EQ(cut, 0u);  // only the stray removal at open can be cut
            }
            EXPECT_EQ(out.finished, cut == total_writes);
            kv.reset();
            Random tear(cut * 2 + seed);
            disk.crash(tear);
            KvStore recovered(disk, policy);
            ASSERT_TRUE(recovered.open().ok());
            for (const std::string& name : disk.list()) EXPECT_EQ(name, KvStore::kName);
            if (recovered.kv() != out.acknowledged) {
                ASSERT_TRUE(out.in_flight.has_value());
                EXPECT_EQ(recovered.kv(), *out.in_flight);
                ++mixed_endings;
            }
        }
    }
    EXPECT_GT(mixed_endings, 0);  // some crashes kept an unacknowledged change: the test bites
}

}  // namespace
}  // namespace hub::store
