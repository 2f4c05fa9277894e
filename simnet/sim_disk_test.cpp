#include "simnet/sim_disk.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <optional>

#include "hub/env/disk_read_range_check.hpp"
#include "hub/store/record_log.hpp"

namespace simnet {
namespace {

hub::Bytes fill(size_t n, uint8_t v) { return hub::Bytes(n, v); }

TEST(SimDisk, ReadRangeReadsAPartOfTheFile) {
    SimDisk disk;
    hub::expect_read_range_contract(disk);
}

TEST(SimDisk, SyncedDataAlwaysSurvivesCrash) {
    for (uint64_t seed = 0; seed < 50; ++seed) {
        SimDisk disk;
        ASSERT_TRUE(disk.append("f", fill(1000, 1)).ok());
        ASSERT_TRUE(disk.sync("f").ok());
        ASSERT_TRUE(disk.append("f", fill(3000, 2)).ok());
        hub::Random random(seed);
        disk.crash(random);
        hub::Bytes data = *disk.read("f");
        ASSERT_GE(data.size(), 1000u);
        ASSERT_LE(data.size(), 4000u);
        EXPECT_EQ((data.size() - 1000) % kSectorBytes, 0u);  // torn at sector boundaries
        for (size_t i = 0; i < 1000; ++i) {
            ASSERT_EQ(data[i], 1);
        }
    }
}

// sync_async(): a Simulator drives completions; latency comes from the disk's model.
class SimDiskAsync : public ::testing::Test {
  protected:
    Simulator sim{7};
    SimDisk disk{&sim, hub::Random(11)};
    void run_for(hub::Duration d) { sim.run_until([] { return false; }, sim.now() + d); }
};

TEST_F(SimDiskAsync, CompletesAfterTheLatencyNeverInsideTheCall) {
    disk.set_sync_latency(LatencyModel::fixed(hub::Duration::millis(5)));
    ASSERT_TRUE(disk.append("f", fill(1000, 1)).ok());
    std::optional<hub::Status> result;
    (void)disk.sync_async("f", [&](hub::Status s) { result = s; });
    EXPECT_FALSE(result.has_value());
    EXPECT_EQ(disk.unsynced_bytes(), 1000u);
    run_for(hub::Duration::micros(4999));
    EXPECT_FALSE(result.has_value());
    EXPECT_EQ(disk.unsynced_bytes(), 1000u);  // not durable before completion
    run_for(hub::Duration::micros(1));
    ASSERT_TRUE(result.has_value());
    EXPECT_TRUE(result->ok());
    EXPECT_EQ(disk.unsynced_bytes(), 0u);
    EXPECT_EQ(disk.stats().async_syncs, 1u);
    EXPECT_EQ(disk.stats().async_sync_wait_ns, hub::Duration::millis(5).ns);
}

TEST_F(SimDiskAsync, BytesAppendedAfterTheIssueStayVolatile) {
    disk.set_sync_latency(LatencyModel::fixed(hub::Duration::millis(1)));
    ASSERT_TRUE(disk.append("f", fill(1000, 1)).ok());
    bool done = false;
    (void)disk.sync_async("f", [&](hub::Status s) { done = s.ok(); });
    ASSERT_TRUE(disk.append("f", fill(2000, 2)).ok());
    run_for(hub::Duration::millis(1));
    ASSERT_TRUE(done);
    EXPECT_EQ(disk.unsynced_bytes(), 2000u);
    size_t lost_all_late = 0;
    for (uint64_t seed = 0; seed < 20; ++seed) {
        SimDisk copy{&sim, hub::Random(0)};
        ASSERT_TRUE(copy.append("f", fill(1000, 1)).ok());
        uint64_t id = copy.sync_async("f", [](hub::Status) {});
        (void)id;
        ASSERT_TRUE(copy.append("f", fill(2000, 2)).ok());
        run_for(hub::Duration::millis(1));
        hub::Random random(seed);
        copy.crash(random);
        const hub::Bytes data = *copy.read("f");
        ASSERT_GE(data.size(), 1000u);
        EXPECT_EQ(hub::Bytes(data.begin(), data.begin() + 1000), fill(1000, 1));
        lost_all_late += data.size() == 1000;
    }
    EXPECT_GT(lost_all_late, 0u);  // the late bytes were not made durable by the sync
}

TEST_F(SimDiskAsync, CrashBeforeCompletionLosesTheBytesAndTheCallback) {
    disk.set_sync_latency(LatencyModel::fixed(hub::Duration::millis(3)));
    size_t lost = 0;
    for (uint64_t seed = 0; seed < 20; ++seed) {
        SimDisk d{&sim, hub::Random(seed)};
        d.set_sync_latency(LatencyModel::fixed(hub::Duration::millis(3)));
        ASSERT_TRUE(d.append("f", fill(4096, 3)).ok());
        bool called = false;
        (void)d.sync_async("f", [&](hub::Status) { called = true; });
        run_for(hub::Duration::millis(2));
        hub::Random random(seed);
        d.crash(random);
        run_for(hub::Duration::millis(5));
        EXPECT_FALSE(called);
        EXPECT_EQ(d.pending_syncs(), 0u);
        lost += d.read("f")->size() < 4096;
    }
    EXPECT_GT(lost, 0u);
}

TEST_F(SimDiskAsync, OverwriteAfterTheIssueLeavesIssueTimeContentDurable) {
    ASSERT_TRUE(disk.append("f", fill(1024, 1)).ok());
    (void)disk.sync_async("f", [](hub::Status) {});
    ASSERT_TRUE(disk.pwrite("f", 0, fill(512, 9)).ok());  // after the issue
    run_for(hub::Duration::millis(1));
    EXPECT_EQ(disk.unsynced_bytes(), 512u);  // sector 0's durable content is the old one
    size_t old_back = 0;
    for (uint64_t seed = 0; seed < 30; ++seed) {
        SimDisk d{&sim, hub::Random(0)};
        ASSERT_TRUE(d.append("f", fill(1024, 1)).ok());
        (void)d.sync_async("f", [](hub::Status) {});
        ASSERT_TRUE(d.pwrite("f", 0, fill(512, 9)).ok());
        run_for(hub::Duration::millis(1));
        hub::Random random(seed);
        d.crash(random);
        const hub::Bytes data = *d.read("f");
        ASSERT_EQ(data.size(), 1024u);
        const bool old_sector = data[0] == 1;
        EXPECT_EQ(hub::Bytes(data.begin(), data.begin() + 512), fill(512, old_sector ? 1 : 9));
        EXPECT_EQ(hub::Bytes(data.begin() + 512, data.end()), fill(512, 1));
        old_back += old_sector;
    }
    EXPECT_GT(old_back, 0u);
}

TEST_F(SimDiskAsync, BlockingSyncSupersedesAPendingOne) {
    disk.set_sync_latency(LatencyModel::fixed(hub::Duration::millis(2)));
    ASSERT_TRUE(disk.append("f", fill(1024, 1)).ok());
    bool done = false;
    (void)disk.sync_async("f", [&](hub::Status s) { done = s.ok(); });
    ASSERT_TRUE(disk.pwrite("f", 0, fill(512, 9)).ok());
    ASSERT_TRUE(disk.sync("f").ok());
    run_for(hub::Duration::millis(2));
    EXPECT_TRUE(done);
    EXPECT_EQ(disk.unsynced_bytes(), 0u);  // the late completion did not bring back old content
}

TEST_F(SimDiskAsync, CancelledSyncStillFlushesButNobodyHears) {
    ASSERT_TRUE(disk.append("f", fill(100, 1)).ok());
    bool called = false;
    const uint64_t id = disk.sync_async("f", [&](hub::Status) { called = true; });
    disk.cancel_sync(id);
    run_for(hub::Duration::millis(1));
    EXPECT_FALSE(called);
    EXPECT_EQ(disk.unsynced_bytes(), 0u);
    disk.cancel_sync(id);  // a no-op now
}

TEST_F(SimDiskAsync, MissingFileAndFailingDiskReportErrorsLater) {
    std::optional<hub::Status> missing;
    (void)disk.sync_async("nope", [&](hub::Status s) { missing = s; });
    EXPECT_FALSE(missing.has_value());
    run_for(hub::Duration::millis(1));
    ASSERT_TRUE(missing.has_value());
    EXPECT_EQ(missing->code(), hub::Code::not_found);
    ASSERT_TRUE(disk.append("f", fill(10, 1)).ok());
    disk.set_fail_syncs(true);
    std::optional<hub::Status> failed;
    (void)disk.sync_async("f", [&](hub::Status s) { failed = s; });
    run_for(hub::Duration::millis(1));
    ASSERT_TRUE(failed.has_value());
    EXPECT_EQ(failed->code(), hub::Code::io_error);
    EXPECT_EQ(disk.unsynced_bytes(), 10u);
}

TEST_F(SimDiskAsync, SyncsOfOneFileCompleteInIssueOrderAndDrawsAreDeterministic) {
    const auto completions = [&](uint64_t seed) {
        SimDisk d{&sim, hub::Random(seed)};
        d.set_sync_latency(LatencyModel::exponential(hub::Duration::millis(2),
                                                     hub::Duration::millis(50)));
        std::vector<std::pair<int, int64_t>> order;
        const hub::Instant start = sim.now();
        for (int i = 0; i < 20; ++i) {
            EXPECT_TRUE(d.append("f", fill(10, 1)).ok());
            (void)d.sync_async("f", [&, i, start](hub::Status) {
                order.emplace_back(i, (sim.now() - start).ns);
            });
        }
        run_for(hub::Duration::millis(100));
        return order;
    };
    const auto first = completions(5);
    ASSERT_EQ(first.size(), 20u);
    for (int i = 0; i < 20; ++i) {
        EXPECT_EQ(first[i].first, i);
    }
    EXPECT_NE(first.front().second, first.back().second);  // latencies were drawn
    EXPECT_EQ(completions(5), first);
    EXPECT_NE(completions(6), first);
}

TEST(SimDisk, CrashSometimesKeepsATornPrefixAndSometimesNothing) {
    size_t kept_some = 0;
    size_t kept_none = 0;
    for (uint64_t seed = 0; seed < 100; ++seed) {
        SimDisk disk;
        ASSERT_TRUE(disk.append("f", fill(4096, 7)).ok());
        hub::Random random(seed);
        disk.crash(random);
        (disk.read("f")->empty() ? kept_none : kept_some)++;
    }
    EXPECT_GT(kept_some, 0u);
    EXPECT_GT(kept_none, 0u);
}

TEST(SimDisk, ErrorsAreValues) {
    SimDisk disk;
    EXPECT_EQ(disk.read("missing").status().code(), hub::Code::not_found);
    EXPECT_EQ(disk.sync("missing").code(), hub::Code::not_found);
    ASSERT_TRUE(disk.append("f", fill(10, 1)).ok());
    EXPECT_EQ(disk.truncate("f", 11).code(), hub::Code::invalid_argument);
    disk.set_fail_syncs(true);
    EXPECT_EQ(disk.sync("f").code(), hub::Code::io_error);
    ASSERT_TRUE(disk.append("a", fill(1, 1)).ok());
    EXPECT_EQ(disk.list(), (std::vector<std::string>{"a", "f"}));
    ASSERT_TRUE(disk.remove("a").ok());
    EXPECT_EQ(disk.list(), (std::vector<std::string>{"f"}));
}

hub::Bytes random_bytes(hub::Random& r, size_t n) {
    hub::Bytes b(n);
    for (auto& x : b) {
        x = static_cast<uint8_t>(r.next_u64());
    }
    return b;
}

hub::Bytes text(const std::string& s) { return hub::Bytes(s.begin(), s.end()); }

TEST(SimDisk, PwriteOverwritesExtendsAndChecksTheOffset) {
    SimDisk disk;
    ASSERT_TRUE(disk.pwrite("f", 0, text("hello")).ok());  // makes the file
    ASSERT_TRUE(disk.pwrite("f", 1, text("EL")).ok());
    ASSERT_TRUE(disk.pwrite("f", 5, text("!!")).ok());  // at the end: extends
    ASSERT_TRUE(disk.pwrite("f", 6, text("?x")).ok());  // across the end
    EXPECT_EQ(*disk.read("f"), text("hELlo!?x"));
    EXPECT_EQ(disk.pwrite("f", 9, text("z")).code(), hub::Code::invalid_argument);
    EXPECT_EQ(disk.pwrite("g", 1, text("z")).code(), hub::Code::not_found);
    EXPECT_EQ(*disk.read("f"), text("hELlo!?x"));
    EXPECT_EQ(disk.stats().bytes_written, 11u);
}

TEST(SimDisk, UnsyncedOverwriteOfSyncedDataIsAllOldOrAllNewPerSector) {
    bool saw_old = false;
    bool saw_new = false;
    for (uint64_t seed = 0; seed < 40; ++seed) {
        SimDisk disk;
        ASSERT_TRUE(disk.append("f", fill(1024, 1)).ok());
        ASSERT_TRUE(disk.sync("f").ok());
        ASSERT_TRUE(disk.pwrite("f", 100, fill(100, 2)).ok());
        EXPECT_EQ(disk.unsynced_bytes(), kSectorBytes);  // the whole first sector is at risk
        hub::Random random(seed);
        disk.crash(random);
        const hub::Bytes data = *disk.read("f");
        ASSERT_EQ(data.size(), 1024u);
        const bool is_new = data[100] == 2;
        saw_new |= is_new;
        saw_old |= !is_new;
        for (size_t i = 100; i < 200; ++i) {
            ASSERT_EQ(data[i], is_new ? 2 : 1);
        }
        for (size_t i = 512; i < 1024; ++i) {
            ASSERT_EQ(data[i], 1);  // untouched sectors keep their synced bytes
        }
    }
    EXPECT_TRUE(saw_old && saw_new);
}

TEST(SimDisk, RenameReplacesAtomicallyAndKeepsSyncState) {
    SimDisk disk;
    ASSERT_TRUE(disk.append("x", text("old")).ok());
    ASSERT_TRUE(disk.sync("x").ok());
    ASSERT_TRUE(disk.append("x.tmp", text("new")).ok());
    ASSERT_TRUE(disk.sync("x.tmp").ok());
    ASSERT_TRUE(disk.append("x.tmp", text("+unsynced")).ok());
    ASSERT_TRUE(disk.rename("x.tmp", "x").ok());
    EXPECT_EQ(disk.list(), (std::vector<std::string>{"x"}));
    EXPECT_EQ(*disk.read("x"), text("new+unsynced"));
    EXPECT_EQ(disk.unsynced_bytes(), 9u);  // the rename did not sync the data
    hub::Random random(1);
    disk.crash(random);
    EXPECT_EQ(*disk.read("x"), text("new"));  // durable name, durable synced bytes
    EXPECT_EQ(disk.rename("missing", "x").code(), hub::Code::not_found);
    EXPECT_TRUE(disk.rename("x", "x").ok());
    EXPECT_EQ(*disk.read("x"), text("new"));
}

TEST(SimDisk, FullDiskRefusesWritesAndLeavesFilesUnchanged) {
    SimDisk disk;
    disk.set_capacity_bytes(1000);
    ASSERT_TRUE(disk.append("a", fill(600, 1)).ok());
    const hub::Status s = disk.append("a", fill(401, 2));
    EXPECT_EQ(s.code(), hub::Code::resource_exhausted);
    EXPECT_NE(s.message().find("no space left on device"), std::string::npos);
    EXPECT_EQ(*disk.read("a"), fill(600, 1));
    EXPECT_EQ(disk.pwrite("a", 500, fill(501, 3)).code(), hub::Code::resource_exhausted);
    EXPECT_EQ(*disk.read("a"), fill(600, 1));
    EXPECT_EQ(disk.append("b", fill(401, 4)).code(), hub::Code::resource_exhausted);
    EXPECT_EQ(disk.list(), (std::vector<std::string>{"a"}));  // not even created
    ASSERT_TRUE(disk.pwrite("a", 0, fill(600, 5)).ok());     // overwriting needs no space
    ASSERT_TRUE(disk.append("b", fill(400, 6)).ok());        // exactly full
    EXPECT_EQ(disk.used_bytes(), 1000u);
    EXPECT_EQ(disk.stats().enospc_errors, 3u);
    ASSERT_TRUE(disk.truncate("a", 100).ok());  // freeing space makes room again
    EXPECT_TRUE(disk.append("b", fill(500, 7)).ok());
    disk.set_capacity_bytes(kUnlimitedBytes);
    EXPECT_TRUE(disk.append("b", fill(100000, 8)).ok());
}

TEST(SimDisk, ReadCorruptionFlipsOneBitOfTheCopyOnly) {
    SimDisk disk;
    hub::Random r(1);
    const hub::Bytes stored = random_bytes(r, 4096);
    ASSERT_TRUE(disk.append("f", stored).ok());
    disk.set_read_corruption(1, 1, hub::Random(7));
    for (int i = 0; i < 20; ++i) {
        const hub::Bytes seen = *disk.read("f");
        int flipped_bits = 0;
        for (size_t j = 0; j < seen.size(); ++j) {
            flipped_bits += std::popcount(static_cast<unsigned>(seen[j] ^ stored[j]));
        }
        EXPECT_EQ(flipped_bits, 1);
    }
    EXPECT_EQ(disk.stats().corrupted_reads, 20u);
    disk.set_read_corruption(0, 1, hub::Random(7));
    EXPECT_EQ(*disk.read("f"), stored);  // the stored bytes were never touched
}

TEST(SimDisk, StoredBitFlipIsPermanentAndRecordLogRefusesIt) {
    SimDisk disk;
    hub::store::RecordLog log(disk, "log");
    ASSERT_TRUE(log.recover().ok());
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(log.append(fill(100, static_cast<uint8_t>(i))).ok());
    }
    ASSERT_TRUE(log.sync().ok());
    ASSERT_TRUE(disk.corrupt_stored_bit("log", 150, 3).ok());  // inside the second record
    EXPECT_EQ((*disk.read("log"))[150], 1 ^ 8);
    EXPECT_EQ(disk.corrupt_stored_bit("log", 1000).code(), hub::Code::invalid_argument);
    EXPECT_EQ(disk.corrupt_stored_bit("nope", 0).code(), hub::Code::not_found);
    hub::Random random(1);
    disk.crash(random);  // a latent sector error survives power cycles
    auto recovered = hub::store::RecordLog(disk, "log").recover();
    EXPECT_EQ(recovered.status().code(), hub::Code::corruption);
    EXPECT_EQ(disk.stats().stored_bits_flipped, 1u);
}

TEST(SimDisk, GarbageCrashGarblesOnlyTheUnsyncedTail) {
    uint64_t garbage_seen = 0;
    for (uint64_t seed = 0; seed < 100; ++seed) {
        SimDisk disk;
        disk.set_crash_garbage(true);
        ASSERT_TRUE(disk.append("f", fill(1000, 1)).ok());
        ASSERT_TRUE(disk.sync("f").ok());
        ASSERT_TRUE(disk.append("f", fill(1300, 2)).ok());
        hub::Random random(seed);
        disk.crash(random);
        const hub::Bytes data = *disk.read("f");
        ASSERT_GE(data.size(), 1000u);
        ASSERT_LE(data.size(), 2300u);
        for (size_t i = 0; i < 1000; ++i) {
            ASSERT_EQ(data[i], 1);
        }
        // Whole sectors of real bytes, then at most one (maybe short) sector of garbage.
        const bool garbled = disk.stats().garbage_sectors > 0;
        const size_t tail = data.size() - 1000;
        const size_t real = garbled ? (tail - 1) / kSectorBytes * kSectorBytes : tail;
        EXPECT_EQ(real % kSectorBytes, 0u);
        for (size_t i = 1000; i < 1000 + real; ++i) {
            ASSERT_EQ(data[i], 2);
        }
        garbage_seen += garbled ? 1 : 0;
        EXPECT_EQ(disk.stats().crashes, 1u);
        EXPECT_EQ(disk.stats().bytes_lost_in_crashes, 1300 - real);
    }
    EXPECT_GT(garbage_seen, 10u);
}

TEST(SimDisk, StatsCountSyncsWritesAndLosses) {
    SimDisk disk;
    ASSERT_TRUE(disk.append("f", fill(100, 1)).ok());
    ASSERT_TRUE(disk.sync("f").ok());
    ASSERT_TRUE(disk.append("f", fill(100, 1)).ok());
    disk.set_fail_syncs(true);
    EXPECT_FALSE(disk.sync("f").ok());
    EXPECT_EQ(disk.stats().syncs, 1u);
    EXPECT_EQ(disk.stats().failed_syncs, 1u);
    EXPECT_EQ(disk.stats().bytes_written, 200u);
    hub::Random random(3);
    disk.crash(random);
    EXPECT_EQ(disk.stats().bytes_lost_in_crashes, 100u);  // under one sector: all lost
}

// ---------------------------------------------------------------------------------------------
// Properties

// A file as the test believes it: what was synced, what the process sees, which synced bytes
// were overwritten since.
struct FileModel {
    hub::Bytes durable;
    hub::Bytes current;
    std::vector<bool> overwritten;  // over durable

    void check_crash(const hub::Bytes& got, bool garbage) const {
        RC_ASSERT(got.size() >= durable.size());
        RC_ASSERT(got.size() <= current.size());
        for (size_t i = 0; i < durable.size(); ++i) {
            const bool kept = overwritten[i] || got[i] == durable[i];
            RC_ASSERT(kept);  // synced bytes survive
        }
        for (size_t lo = 0; !garbage && lo < durable.size(); lo += kSectorBytes) {
            const size_t hi = std::min<size_t>(lo + kSectorBytes, durable.size());
            const bool all_old = std::equal(got.begin() + lo, got.begin() + hi,
                                            durable.begin() + lo);
            const bool all_new = std::equal(got.begin() + lo, got.begin() + hi,
                                            current.begin() + lo);
            const bool whole_sector = all_old || all_new;
            RC_ASSERT(whole_sector);
        }
        const size_t tail = got.size() - durable.size();
        const bool aligned = garbage || tail % kSectorBytes == 0;
        RC_ASSERT(aligned);
        const size_t real_end = garbage && tail > 0
                                    ? durable.size() + (tail - 1) / kSectorBytes * kSectorBytes
                                    : got.size();
        for (size_t i = durable.size(); i < real_end; ++i) {
            RC_ASSERT(got[i] == current[i]);  // the tail is a prefix of what was written
        }
    }
};

RC_GTEST_PROP(SimDiskProperty, SyncedBytesSurviveAnyCrash, ()) {
    const auto ops = *rc::gen::container<std::vector<int>>(rc::gen::inRange(0, 100));
    const bool garbage = *rc::gen::arbitrary<bool>();
    hub::Random r(*rc::gen::arbitrary<uint64_t>());
    SimDisk disk;
    disk.set_crash_garbage(garbage);
    FileModel m;
    for (int op : ops) {
        if (op < 35) {
            const hub::Bytes b = random_bytes(r, r.uniform(1500));
            ASSERT_TRUE(disk.append("f", b).ok());
            m.current.insert(m.current.end(), b.begin(), b.end());
        } else if (op < 60) {
            const uint64_t offset = r.uniform(m.current.size() + 1);
            const hub::Bytes b = random_bytes(r, r.uniform(1500));
            ASSERT_TRUE(disk.pwrite("f", offset, b).ok());
            m.current.resize(std::max(m.current.size(), offset + b.size()));
            std::copy(b.begin(), b.end(), m.current.begin() + static_cast<ptrdiff_t>(offset));
            for (size_t i = offset; i < std::min(offset + b.size(), m.durable.size()); ++i) {
                m.overwritten[i] = true;
            }
        } else if (op < 75) {
            (void)disk.sync("f");
            m.durable = m.current;
            m.overwritten.assign(m.durable.size(), false);
        } else if (op < 82) {
            const uint64_t size = r.uniform(m.current.size() + 1);
            (void)disk.truncate("f", size);
            m.current.resize(size);
            m.durable.resize(std::min<size_t>(m.durable.size(), size));
            m.overwritten.resize(m.durable.size());
        } else {
            disk.crash(r);
            const hub::Bytes got = disk.read("f").ok() ? *disk.read("f") : hub::Bytes{};
            m.check_crash(got, garbage);
            m.durable = m.current = got;
            m.overwritten.assign(got.size(), false);
        }
        const hub::Result<hub::Bytes> now = disk.read("f");
        const bool matches = now.ok() ? *now == m.current : m.current.empty();
        RC_ASSERT(matches);
    }
}

// Appends, syncs and garbage-tearing crashes: a recovered RecordLog returns exactly the first
// k records appended, for some k no smaller than the number synced.
RC_GTEST_PROP(SimDiskProperty, RecordLogRecoversOnlyWhatWasWritten, ()) {
    const auto ops = *rc::gen::container<std::vector<int>>(rc::gen::inRange(0, 100));
    hub::Random r(*rc::gen::arbitrary<uint64_t>());
    SimDisk disk;
    disk.set_crash_garbage(true);
    std::vector<hub::Bytes> log;  // what the disk should hold, in order
    size_t synced = 0;
    auto writer = std::make_unique<hub::store::RecordLog>(disk, "log");
    RC_ASSERT(writer->recover().ok());
    for (int op : ops) {
        if (op < 55) {
            hub::Bytes payload = random_bytes(r, r.uniform(1200));
            RC_ASSERT(writer->append(payload).ok());
            log.push_back(std::move(payload));
        } else if (op < 70) {
            if (disk.list().empty()) {
                continue;  // nothing appended yet: there is no file to sync
            }
            RC_ASSERT(writer->sync().ok());
            synced = log.size();
        } else {
            disk.crash(r);
            writer = std::make_unique<hub::store::RecordLog>(disk, "log");
            auto recovered = writer->recover();
            RC_ASSERT(recovered.ok());
            RC_ASSERT(recovered->size() >= synced);
            RC_ASSERT(recovered->size() <= log.size());
            for (size_t i = 0; i < recovered->size(); ++i) {
                RC_ASSERT((*recovered)[i] == log[i]);
            }
            log = std::move(*recovered);
            synced = log.size();
        }
    }
    RC_TAG(disk.stats().garbage_sectors > 0 ? "garbage" : "clean");
}

// Transient read errors: recovery never hands back a damaged record as valid; it either
// refuses (corruption, or unavailable when reads keep disagreeing) or stops before the damage.
RC_GTEST_PROP(SimDiskProperty, RecordLogNeverReturnsACorruptedRead, ()) {
    const size_t records = *rc::gen::inRange<size_t>(1, 40);
    hub::Random r(*rc::gen::arbitrary<uint64_t>());
    SimDisk disk;
    std::vector<hub::Bytes> log;
    hub::store::RecordLog writer(disk, "log");
    RC_ASSERT(writer.recover().ok());
    for (size_t i = 0; i < records; ++i) {
        log.push_back(random_bytes(r, r.uniform(300)));
        RC_ASSERT(writer.append(log.back()).ok());
    }
    RC_ASSERT(writer.sync().ok());
    disk.set_read_corruption(1, 2, r.fork("reads"));
    auto recovered = hub::store::RecordLog(disk, "log").recover();
    if (!recovered.ok()) {
        RC_ASSERT(recovered.status().code() == hub::Code::corruption ||
                  recovered.status().code() == hub::Code::unavailable);
        RC_TAG(hub::code_name(recovered.status().code()));
        return;
    }
    RC_ASSERT(recovered->size() <= log.size());
    for (size_t i = 0; i < recovered->size(); ++i) {
        RC_ASSERT((*recovered)[i] == log[i]);
    }
    RC_TAG(recovered->size() == log.size() ? "all" : "truncated");
}

// A transient bit flip in the last record must not look like a torn tail: recover() re-reads
// and acts only on damage two reads agree on, so synced records are never cut.
TEST(SimDiskRecordLog, TransientReadErrorsNeverLoseSyncedRecords) {
    for (uint64_t seed = 0; seed < 200; ++seed) {
        SimDisk disk;
        hub::store::RecordLog writer(disk, "log");
        ASSERT_TRUE(writer.recover().ok());
        for (int i = 0; i < 4; ++i) {
            ASSERT_TRUE(writer.append(fill(100, static_cast<uint8_t>(i))).ok());
        }
        ASSERT_TRUE(writer.sync().ok());
        disk.set_read_corruption(1, 4, hub::Random(seed));
        auto recovered = hub::store::RecordLog(disk, "log").recover();
        if (recovered.ok()) {
            ASSERT_EQ(recovered->size(), 4u) << "seed " << seed << ": synced records lost";
        }
    }
}

}  // namespace
}  // namespace simnet

namespace simnet {
namespace {

// A model of sync_async: a sync makes durable the file as it was at its issue; the durable
// image is that of the completed sync issued last (blocking syncs complete at once and
// supersede earlier pending ones); truncate clips everything. After a crash (no garbage),
// every sector below the durable size holds its durable or its latest content, and the rest
// is a sector-aligned prefix of the latest content.
RC_GTEST_PROP(SimDiskProperty, AsyncSyncsMakeDurableExactlyTheirIssueTimeBytes, ()) {
    Simulator sim(*rc::gen::arbitrary<uint64_t>());
    SimDisk disk(&sim, hub::Random(*rc::gen::arbitrary<uint64_t>()));
    disk.set_sync_latency(LatencyModel::uniform(hub::Duration{0}, hub::Duration::millis(3)));
    hub::Random r(*rc::gen::arbitrary<uint64_t>());
    hub::Bytes durable;                      // the model's durable image
    uint64_t durable_issue = 0;              // issue index that produced it
    std::map<uint64_t, hub::Bytes> pending;  // issue index -> snapshot at issue
    uint64_t issues = 0;
    const auto ops = *rc::gen::container<std::vector<int>>(rc::gen::inRange(0, 100));
    RC_ASSERT(disk.append("f", fill(r.uniform(700), 1)).ok());
    for (int op : ops) {
        const hub::Bytes current = *disk.read("f");
        if (op < 25) {
            RC_ASSERT(disk.append("f", fill(r.uniform(900), static_cast<uint8_t>(op))).ok());
        } else if (op < 45) {
            const uint64_t at = r.uniform(current.size() + 1);
            RC_ASSERT(disk.pwrite("f", at, fill(r.uniform(700), static_cast<uint8_t>(op))).ok());
        } else if (op < 65) {
            const uint64_t issue = ++issues;
            pending[issue] = current;
            (void)disk.sync_async("f", [&, issue](hub::Status s) {
                RC_ASSERT(s.ok());
                if (issue > durable_issue) {
                    durable = pending[issue];
                    durable_issue = issue;
                }
                pending.erase(issue);
            });
        } else if (op < 70) {
            RC_ASSERT(disk.sync("f").ok());
            durable = current;
            durable_issue = ++issues;
        } else if (op < 75) {
            const uint64_t size = r.uniform(current.size() + 1);
            RC_ASSERT(disk.truncate("f", size).ok());
            durable.resize(std::min<size_t>(durable.size(), size));
            for (auto& [issue, snapshot] : pending) {
                snapshot.resize(std::min<size_t>(snapshot.size(), size));
            }
        } else {
            sim.run_until([] { return false; }, sim.now() + hub::Duration::micros(r.uniform(4000)));
        }
    }
    const hub::Bytes latest = *disk.read("f");
    hub::Random tear(*rc::gen::arbitrary<uint64_t>());
    disk.crash(tear);
    const hub::Bytes after = *disk.read("f");
    const size_t ds = durable.size();
    RC_ASSERT(after.size() >= ds);
    RC_ASSERT((after.size() - ds) % kSectorBytes == 0);
    RC_ASSERT(std::equal(after.begin() + ds, after.end(), latest.begin() + ds));
    for (size_t lo = 0; lo < ds; lo += kSectorBytes) {
        const size_t hi = std::min(lo + kSectorBytes, ds);
        const hub::Bytes got(after.begin() + lo, after.begin() + hi);
        RC_ASSERT(got == hub::Bytes(durable.begin() + lo, durable.begin() + hi) ||
                  got == hub::Bytes(latest.begin() + lo, latest.begin() + hi));
    }
}

}  // namespace
}  // namespace simnet
