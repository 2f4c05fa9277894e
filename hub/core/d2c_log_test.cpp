#include "hub/core/d2c_log.hpp"

#include <gtest/gtest.h>

#include <climits>
#include <map>
#include <set>

#include "simnet/sim_node.hpp"

namespace hub {
namespace {

D2cMessage message(const std::string& device, const std::string& id, size_t body_bytes = 3) {
    return D2cMessage{device, id, Bytes(body_bytes, 'x'), {{"k", "v"}}};
}

class D2cLogTest : public ::testing::Test {
  protected:
    simnet::Simulator sim{1};
    simnet::SimNetwork net{sim, Random(2)};
    simnet::SimNode node{sim, net, "hub"};

    std::unique_ptr<D2cLog> open() {
        Result<std::unique_ptr<D2cLog>> log = D2cLog::open(node, D2cLogConfig{});
        EXPECT_TRUE(log.ok()) << log.status().to_string();
        return std::move(*log);
    }
    void run() { sim.run_until([] { return false; }, sim.now() + Duration::seconds(1)); }
};

TEST_F(D2cLogTest, AcknowledgesOnlyAfterSync) {
    auto log = open();
    bool done = false;
    log->append(message("d1", "m1"), [&](Result<EventPosition> r) {
        ASSERT_TRUE(r.ok());
        done = true;
    });
    EXPECT_FALSE(done);  // never inside append()
    EXPECT_EQ(node.sim_disk().syncs(), 0u);
    run();
    EXPECT_TRUE(done);
    EXPECT_EQ(node.sim_disk().syncs(), 1u);
    EXPECT_EQ(log->events(log->partition_of("d1")).size(), 1u);
}

TEST_F(D2cLogTest, GroupCommitSharesOneSyncPerPartition) {
    auto log = open();
    int done = 0;
    for (int i = 0; i < 50; ++i) {
        log->append(message("d1", "m" + std::to_string(i)), [&](auto r) { done += r.ok(); });
    }
    run();
    EXPECT_EQ(done, 50);
    EXPECT_EQ(node.sim_disk().syncs(), 1u);
    const auto& events = log->events(log->partition_of("d1"));
    for (size_t i = 0; i < events.size(); ++i) {
        EXPECT_EQ(events[i].sequence_number, i);
    }
}

TEST_F(D2cLogTest, RecoversAcknowledgedEventsAfterCrash) {
    auto log = open();
    int acked = 0;
    for (int i = 0; i < 10; ++i) {
        log->append(message("dev" + std::to_string(i), "m"), [&](auto r) { acked += r.ok(); });
    }
    run();
    log->append(message("late", "never-synced"), [](auto) {});
    log.reset();
    Random random(3);
    node.sim_disk().crash(random);
    auto recovered = open();
    size_t total = 0;
    for (uint32_t p = 0; p < recovered->partition_count(); ++p) {
        total += recovered->events(p).size();
    }
    EXPECT_EQ(acked, 10);
    EXPECT_GE(total, 10u);  // the unsynced one may or may not have survived (torn write)
    EXPECT_LE(total, 11u);
}

TEST_F(D2cLogTest, RefusesOversizedMessages) {
    auto log = open();
    Status status;
    log->append(message("d1", "big", kD2cMessageBytesMax + 1),
                [&](Result<EventPosition> r) { status = r.status(); });
    run();
    EXPECT_EQ(status.code(), Code::invalid_argument);
}

TEST_F(D2cLogTest, FailedSyncFailsTheBatchAndStops) {
    auto log = open();
    node.sim_disk().set_fail_syncs(true);
    Status first;
    log->append(message("d1", "m1"), [&](auto r) { first = r.status(); });
    run();
    EXPECT_EQ(first.code(), Code::io_error);
    Status second;
    log->append(message("d1", "m2"), [&](auto r) { second = r.status(); });
    run();
    EXPECT_EQ(second.code(), Code::unavailable);
}

// One device appends every 500 us for 50 ms; the disk's flush latency is `latency`.
struct LatencyRun {
    uint64_t commits = 0;
    uint64_t acked = 0;
    int64_t min_ack_delay_ns = INT64_MAX;
    int64_t total_ack_delay_ns = 0;
    uint64_t trace_hash = 0;
};

LatencyRun run_with_disk_latency(simnet::LatencyModel latency, uint64_t seed = 1) {
    simnet::Simulator sim(seed);
    simnet::SimNetwork net(sim, Random(2));
    simnet::SimNode node(sim, net, "hub");
    node.sim_disk().set_sync_latency(latency);
    LatencyRun run;
    sim.add_trace_sink([&run](const simnet::TraceEvent& e) {
        run.commits += e.kind == "d2c.commit";
    });
    auto log = std::move(*D2cLog::open(node, D2cLogConfig{}));
    for (int i = 0; i < 100; ++i) {
        const Instant at = Instant{0} + Duration::micros(500) * i;
        sim.schedule(at, [&, i, at] {
            log->append(message("d1", "m" + std::to_string(i)), [&, at](Result<EventPosition> r) {
                EXPECT_TRUE(r.ok());
                run.acked += r.ok();
                run.min_ack_delay_ns = std::min(run.min_ack_delay_ns, (sim.now() - at).ns);
                run.total_ack_delay_ns += (sim.now() - at).ns;
            });
        });
    }
    sim.run_until([&] { return run.acked == 100; }, Instant{0} + Duration::seconds(5));
    run.trace_hash = sim.trace_hash();
    return run;
}

TEST(D2cLogLatency, DiskLatencyDelaysAcksAndGrowsBatches) {
    const LatencyRun fast = run_with_disk_latency(simnet::LatencyModel::fixed(Duration{0}));
    const LatencyRun slow =
        run_with_disk_latency(simnet::LatencyModel::fixed(Duration::millis(5)));
    ASSERT_EQ(fast.acked, 100u);
    ASSERT_EQ(slow.acked, 100u);
    // No ack before the flush completes; on average acks wait longer.
    EXPECT_GE(slow.min_ack_delay_ns, Duration::millis(5).ns);
    EXPECT_GT(slow.total_ack_delay_ns, 4 * fast.total_ack_delay_ns);
    // One commit in flight at a time: a slower flush means fewer, larger commits.
    EXPECT_GT(fast.commits, 2 * slow.commits) << fast.commits << " vs " << slow.commits;
}

TEST(D2cLogLatency, SameSeedSameRunWithRandomLatency) {
    const auto model = simnet::LatencyModel::exponential(Duration::millis(2), Duration::millis(40));
    const LatencyRun a = run_with_disk_latency(model, 9);
    const LatencyRun b = run_with_disk_latency(model, 9);
    EXPECT_EQ(a.acked, 100u);
    EXPECT_EQ(a.trace_hash, b.trace_hash);
    EXPECT_EQ(a.commits, b.commits);
    EXPECT_NE(run_with_disk_latency(model, 10).trace_hash, a.trace_hash);
}

TEST_F(D2cLogTest, DestroyingTheLogWithASyncInFlightRunsNoCallback) {
    node.sim_disk().set_sync_latency(simnet::LatencyModel::fixed(Duration::millis(5)));
    auto log = open();
    bool called = false;
    log->append(message("d1", "m1"), [&](auto) { called = true; });
    sim.run_until([] { return false; }, sim.now() + Duration::millis(2));  // sync in flight
    EXPECT_EQ(node.sim_disk().pending_syncs(), 1u);
    log.reset();
    run();
    EXPECT_FALSE(called);
}

// Crash after every step of a workload (appends interleaved with group commits), with torn
// writes drawn from three seeds: after recovery every acknowledged message is there, nothing
// appears twice, nothing appears that was never sent, and sequence numbers stay contiguous.
TEST(D2cLogCrash, NothingAcknowledgedIsLostAtAnyCrashPoint) {
    constexpr int kSteps = 40;
    for (int crash_at = 0; crash_at <= kSteps; ++crash_at) {
        for (uint64_t tear_seed = 0; tear_seed < 3; ++tear_seed) {
            simnet::Simulator sim(1);
            simnet::SimNetwork net(sim, Random(2));
            simnet::SimNode node(sim, net, "hub");
            auto log = std::move(*D2cLog::open(node, D2cLogConfig{}));
            std::set<std::string> sent, acked;
            for (int step = 0; step < crash_at; ++step) {
                if (step % 5 == 4) {  // a commit point
                    sim.run_until([] { return false; }, sim.now() + Duration::millis(2));
                    continue;
                }
                const std::string id = "m" + std::to_string(step);
                sent.insert(id);
                log->append(message("dev" + std::to_string(step % 3), id, 100 + step * 37),
                            [&acked, id](Result<EventPosition> r) {
                                if (r.ok()) acked.insert(id);
                            });
            }
            log.reset();  // the process dies here, pending appends unacknowledged
            Random tear(tear_seed);
            node.sim_disk().crash(tear);
            auto recovered = D2cLog::open(node, D2cLogConfig{});
            ASSERT_TRUE(recovered.ok()) << "crash_at=" << crash_at << " " << recovered.status().to_string();
            std::multiset<std::string> found;
            for (uint32_t p = 0; p < (*recovered)->partition_count(); ++p) {
                const auto& events = (*recovered)->events(p);
                for (size_t i = 0; i < events.size(); ++i) {
                    ASSERT_EQ(events[i].sequence_number, i);
                    found.insert(events[i].message.message_id);
                }
            }
            for (const std::string& id : acked) {
                EXPECT_EQ(found.count(id), 1u) << "acknowledged " << id << " at crash_at=" << crash_at;
            }
            for (const std::string& id : found) {
                EXPECT_TRUE(sent.contains(id)) << id;
                EXPECT_EQ(found.count(id), 1u) << id << " twice";
            }
        }
    }
}

// Segments and retention.
class D2cSegmentTest : public D2cLogTest {
  protected:
    D2cLogConfig config;
    void SetUp() override {
        config.partitions = 1;
        config.segment_bytes = 1024;
    }
    std::unique_ptr<D2cLog> open_with_config() {
        Result<std::unique_ptr<D2cLog>> log = D2cLog::open(node, config);
        EXPECT_TRUE(log.ok()) << log.status().to_string();
        return log.ok() ? std::move(*log) : nullptr;
    }
    // Appends n messages of ~`bytes` and runs until all are acknowledged.
    void append_acked(D2cLog& log, int n, size_t bytes = 200) {
        int acked = 0;
        for (int i = 0; i < n; ++i) {
            log.append(message("d1", "m" + std::to_string(next_id_++), bytes),
                       [&](Result<EventPosition> r) { acked += r.ok(); });
        }
        sim.run_until([&] { return acked == n; }, sim.now() + Duration::seconds(1));
        ASSERT_EQ(acked, n);
    }
    uint64_t partition_bytes() {
        uint64_t total = 0;
        for (const std::string& name : node.sim_disk().list()) total += node.sim_disk().read(name)->size();
        return total;
    }
    int next_id_ = 0;
};

TEST_F(D2cSegmentTest, RollsAtTheSegmentSizeAndRecoversAcrossSegments) {
    auto log = open_with_config();
    append_acked(*log, 30);
    const std::vector<std::string> files = log->segment_files(0);
    ASSERT_GE(files.size(), 5u);
    EXPECT_EQ(files[0], "d2c-0-00000000000000000000.log");
    EXPECT_EQ(node.sim_disk().list(), files);
    for (const std::string& name : files) {
        EXPECT_LE(node.sim_disk().read(name)->size(), 1024u + 300u) << name;
    }
    log.reset();
    auto again = open_with_config();
    ASSERT_EQ(again->events(0).size(), 30u);
    EXPECT_EQ(again->first_sequence_number(0), 0u);
    EXPECT_EQ(again->end_sequence_number(0), 30u);
    EXPECT_EQ(again->segment_files(0), files);
    append_acked(*again, 1);
    EXPECT_EQ(again->events(0).back().sequence_number, 30u);
}

// With a RAM cache of one event, every older event is read back from its segment file: the
// same events, before and after a reopen, and damage on disk reads as missing, not as garbage.
TEST_F(D2cSegmentTest, EventsOlderThanTheCacheAreReadBackFromTheirSegments) {
    config.cache_bytes = 1;
    std::vector<std::string> failures;
    sim.add_trace_sink([&](const simnet::TraceEvent& e) {
        if (e.kind == "d2c.read-failed") failures.push_back(e.detail);
    });
    auto log = open_with_config();
    append_acked(*log, 30);
    sim.run_until([] { return false; }, sim.now() + Duration::seconds(2));
    append_acked(*log, 5);
    ASSERT_GE(log->segment_files(0).size(), 5u);
    EXPECT_EQ(log->events(0).size(), 1u);  // only the newest stays decoded
    const auto expect_all = [&](D2cLog& l) {
        for (uint64_t seq = 0; seq < 35; ++seq) {
            const StoredEvent* e = l.event_at(0, seq);
            ASSERT_NE(e, nullptr) << seq;
            EXPECT_EQ(e->sequence_number, seq);
            EXPECT_EQ(e->message.message_id, "m" + std::to_string(seq));
            EXPECT_EQ(e->message.body.size(), 200u);
            EXPECT_EQ(e->message.properties.size(), 1u);
        }
        // Enqueued-time positions use the index: the last five came 2 s later.
        const int64_t late = l.event_at(0, 30)->enqueued_time_ms;
        EXPECT_EQ(l.first_enqueued_from(0, late, /*inclusive=*/true), 30u);
        EXPECT_EQ(l.first_enqueued_from(0, late, /*inclusive=*/false), 35u);
    };
    expect_all(*log);
    log.reset();
    auto again = open_with_config();
    EXPECT_EQ(again->events(0).size(), 1u);
    expect_all(*again);
    EXPECT_TRUE(failures.empty());
    // A flipped byte in the first record (read-only damage: recovery already ran).
    const std::string oldest = again->segment_files(0).front();
    const uint64_t in_first_record = store::kFileHeaderBytes + store::kRecordHeaderBytes + 20;
    ASSERT_TRUE(node.sim_disk().pwrite(oldest, in_first_record, Bytes{'!'}).ok());
    EXPECT_EQ(again->event_at(0, 0), nullptr);
    EXPECT_EQ(failures.size(), 1u);
    EXPECT_NE(again->event_at(0, 1), nullptr);
}

TEST_F(D2cSegmentTest, RetentionBySizeDropsWholeOldestSegments) {
    config.retention_bytes = 3000;
    auto log = open_with_config();
    append_acked(*log, 60);
    const uint64_t first = log->first_sequence_number(0);
    EXPECT_GT(first, 0u);
    EXPECT_LE(partition_bytes(), 3000u + 1024u + 300u);  // the limit plus at most one segment
    EXPECT_EQ(log->end_sequence_number(0), 60u);
    EXPECT_EQ(log->events(0).front().sequence_number, first);
    EXPECT_EQ(log->events(0).size(), 60u - first);
    EXPECT_EQ(log->event_at(0, first - 1), nullptr);
    ASSERT_NE(log->event_at(0, first), nullptr);
    EXPECT_EQ(log->event_at(0, 59)->message.message_id, "m59");
    EXPECT_EQ(log->event_at(0, 60), nullptr);
    EXPECT_EQ(node.sim_disk().list().front(), log->segment_files(0).front());
    log.reset();
    auto again = open_with_config();
    EXPECT_EQ(again->first_sequence_number(0), first);
    EXPECT_EQ(again->end_sequence_number(0), 60u);
}

TEST_F(D2cSegmentTest, RetentionByTimeDropsExpiredSegmentsAndNeverRestartsNumbering) {
    config.retention = Duration::seconds(10);
    auto log = open_with_config();
    append_acked(*log, 12);  // t ~ 0: several segments
    sim.run_until([] { return false; }, sim.now() + Duration::seconds(5));
    append_acked(*log, 12);  // t ~ 5 s
    const uint64_t second_batch = 12;
    sim.run_until([] { return false; }, Instant{0} + Duration::seconds(10) + Duration::millis(500));
    // The timer removed every segment whose newest event is older than 10 s.
    EXPECT_GT(log->first_sequence_number(0), 0u);
    EXPECT_LE(log->first_sequence_number(0), second_batch);
    for (const StoredEvent& e : log->events(0)) {
        EXPECT_GE(e.enqueued_time_ms, simnet::kSimEpochUtcMs + 4'000);  // the second batch's
    }
    sim.run_until([] { return false; }, Instant{0} + Duration::seconds(16));
    EXPECT_TRUE(log->events(0).empty());
    EXPECT_EQ(log->first_sequence_number(0), 24u);
    EXPECT_EQ(log->end_sequence_number(0), 24u);
    ASSERT_EQ(log->segment_files(0).size(), 1u);
    EXPECT_EQ(log->segment_files(0)[0], "d2c-0-00000000000000000024.log");
    log.reset();
    auto again = open_with_config();
    EXPECT_EQ(again->first_sequence_number(0), 24u);
    append_acked(*again, 1);
    EXPECT_EQ(again->events(0).front().sequence_number, 24u);
}

TEST_F(D2cSegmentTest, RefusesThePreviousOneFilePerPartitionLayout) {
    ASSERT_TRUE(node.sim_disk().append("d2c-0.log", Bytes{1, 2, 3}).ok());
    Result<std::unique_ptr<D2cLog>> log = D2cLog::open(node, config);
    ASSERT_FALSE(log.ok());
    EXPECT_EQ(log.status().code(), Code::failed_precondition);
}

// A crash mid-roll can keep the new segment's bytes while the old one loses its unsynced
// tail: recovery removes everything after the gap (none of it was acknowledged).
TEST_F(D2cSegmentTest, RecoveryCutsEverythingAfterASequenceGap) {
    auto log = open_with_config();
    append_acked(*log, 10);
    const std::vector<std::string> files = log->segment_files(0);
    ASSERT_GE(files.size(), 2u);
    log.reset();
    // A segment that starts beyond the end of the last one (as if the tail before it was lost).
    {
        store::RecordLog orphan(node.sim_disk(), "d2c-0-00000000000000000015.log", 5);
        ASSERT_TRUE(orphan.recover().ok());
        ASSERT_TRUE(orphan.append(encode_event(StoredEvent{0, 15, 1, message("d1", "x")})).ok());
        ASSERT_TRUE(orphan.sync().ok());
    }
    auto again = open_with_config();
    EXPECT_EQ(again->end_sequence_number(0), 10u);
    EXPECT_EQ(again->segment_files(0), files);
    EXPECT_EQ(node.sim_disk().list(), files);
}

// One world for the segment crash tests: a workload that rolls segments and drops old ones
// (by size and by time), with disk latency so some crash points fall inside a sync.
class SegmentCrashWorld {
  public:
    D2cLogConfig config() const {
        D2cLogConfig c;
        c.partitions = 2;
        c.segment_bytes = 900;
        c.retention_bytes = 2500;
        c.retention = Duration::millis(60);
        c.cache_bytes = cache_bytes_;
        return c;
    }
    static constexpr int kSteps = 70;

    // cache_bytes: the log's RAM cache; 1 keeps one decoded event per partition, so every other
    // read goes back to the segment files.
    explicit SegmentCrashWorld(bool garbage, uint64_t cache_bytes = UINT64_MAX)
        : cache_bytes_(cache_bytes) {
        node.sim_disk().set_crash_garbage(garbage);
        node.sim_disk().set_sync_latency(simnet::LatencyModel::fixed(Duration::micros(700)));
        sim.add_trace_sink([this](const simnet::TraceEvent& e) {
            if (e.kind == "d2c.retention") retention_events.push_back(e.detail);
        });
        log = std::move(*D2cLog::open(node, config()));
    }

    // Step k: every fourth is a commit point (every other one stops mid-sync), else an append.
    void step(int k) {
        if (k % 4 == 3) {
            const Duration wait = k % 8 == 3 ? Duration::micros(1500) : Duration::millis(2);
            sim.run_until([] { return false; }, sim.now() + wait);
            return;
        }
        const std::string id = "m" + std::to_string(k);
        sent.insert(id);
        log->append(message(device_of(k), id, 60 + (k * 53) % 400),
                    [this, id](Result<EventPosition> r) {
                        if (r.ok()) acked[id] = r->sequence_number;
                    });
    }
    static std::string device_of(int k) { return "dev" + std::to_string(k % 3); }

    // Kills the process, crashes the disk, recovers and checks: every acknowledged event that
    // retention still keeps is there exactly once, nothing appears that was never sent,
    // numbering is contiguous and never goes back, and the first retained sequence number
    // moved past the live one only if recovery's own retention check said why.
    void crash_and_check(uint64_t tear_seed, const std::string& where) {
        std::map<uint32_t, uint64_t> live_first;
        for (uint32_t p = 0; p < config().partitions; ++p) live_first[p] = log->first_sequence_number(p);
        drops_before_crash = retention_events.size();
        log.reset();
        Random tear(tear_seed);
        node.sim_disk().crash(tear);
        retention_events.clear();
        auto recovered = D2cLog::open(node, config());
        ASSERT_TRUE(recovered.ok()) << where << " " << recovered.status().to_string();
        std::map<std::string, uint64_t> found;
        for (uint32_t p = 0; p < config().partitions; ++p) {
            const uint64_t first = (*recovered)->first_sequence_number(p);
            EXPECT_GE((*recovered)->end_sequence_number(p), live_first[p]) << where;
            if (first > live_first[p]) {
                EXPECT_FALSE(retention_events.empty())
                    << where << ": partition " << p << " lost " << live_first[p] << ".." << first
                    << " without a retention check";
            }
            for (uint64_t seq = first; seq < (*recovered)->end_sequence_number(p); ++seq) {
                const StoredEvent* event = (*recovered)->event_at(p, seq);
                ASSERT_NE(event, nullptr) << where << " seq " << seq;
                ASSERT_EQ(event->sequence_number, seq) << where;
                const std::string id = event->message.message_id;
                EXPECT_TRUE(sent.contains(id)) << id;
                EXPECT_FALSE(found.contains(id)) << id << " twice";
                found[id] = seq;
            }
        }
        for (const auto& [id, seq] : acked) {
            const uint32_t p = (*recovered)->partition_of(device_of(std::stoi(id.substr(1))));
            EXPECT_GT((*recovered)->end_sequence_number(p), seq) << id;
            if (seq >= (*recovered)->first_sequence_number(p)) {
                EXPECT_TRUE(found.contains(id))
                    << "acknowledged " << id << " (seq " << seq << ") lost " << where;
                EXPECT_EQ(found[id], seq);
            }
        }
    }

    simnet::Simulator sim{1};
    simnet::SimNetwork net{sim, Random(2)};
    simnet::SimNode node{sim, net, "hub"};
    std::unique_ptr<D2cLog> log;
    std::set<std::string> sent;
    std::map<std::string, uint64_t> acked;  // message id -> sequence number
    std::vector<std::string> retention_events;
    size_t drops_before_crash = 0;

  private:
    uint64_t cache_bytes_;
};

// Crash after every step of the workload, with three tears (one with garbage).
// Both with every event decoded in RAM and with a one-event cache (reads from the segments).
TEST(D2cSegmentCrash, NothingAcknowledgedAndRetainedIsLostAtAnyCrashPoint) {
    size_t drops_seen = 0;
    for (int crash_at = 0; crash_at <= SegmentCrashWorld::kSteps; ++crash_at) {
        for (uint64_t tear_seed = 0; tear_seed < 6; ++tear_seed) {
            SegmentCrashWorld world(/*garbage=*/tear_seed % 3 == 2,
                                    tear_seed < 3 ? UINT64_MAX : 1);
            for (int k = 0; k < crash_at; ++k) world.step(k);
            world.crash_and_check(tear_seed, "crash_at=" + std::to_string(crash_at) +
                                                 " seed=" + std::to_string(tear_seed));
            drops_seen += world.drops_before_crash;
        }
    }
    EXPECT_GT(drops_seen, 0u);  // the workload really exercised retention
}

// Crash right after every disk event of the whole workload (each append, roll, removal,
// blocking sync and sync completion): SimDisk freezes after write n while the process runs on
// without any further durable effect or acknowledgement, then the machine crashes.
TEST(D2cSegmentCrash, NothingAcknowledgedAndRetainedIsLostAfterAnyDiskWrite) {
    uint64_t total_writes = 0;
    {
        SegmentCrashWorld world(false);
        for (int k = 0; k < SegmentCrashWorld::kSteps; ++k) world.step(k);
        world.sim.run_until([] { return false; }, world.sim.now() + Duration::millis(5));
        total_writes = world.node.sim_disk().writes();
        ASSERT_GT(world.drops_before_crash + world.retention_events.size(), 0u);
    }
    ASSERT_GT(total_writes, 50u);
    for (uint64_t n = 0; n <= total_writes; ++n) {
        SegmentCrashWorld world(/*garbage=*/n % 3 == 2, n % 2 == 1 ? 1 : UINT64_MAX);
        world.node.sim_disk().set_freeze_after_writes(n);
        for (int k = 0; k < SegmentCrashWorld::kSteps; ++k) world.step(k);
        world.sim.run_until([] { return false; }, world.sim.now() + Duration::millis(5));
        world.crash_and_check(n, "after write " + std::to_string(n));
    }
}

TEST(D2cCodec, RoundTrip) {
    StoredEvent e{2, 7, 123456, message("d", "id", 10)};
    e.message.generation_id = "637000000000000001";
    Result<StoredEvent> back = decode_event(encode_event(e));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->sequence_number, 7u);
    EXPECT_EQ(back->message.device_id, "d");
    EXPECT_EQ(back->message.properties.size(), 1u);
    EXPECT_EQ(back->message.generation_id, "637000000000000001");
    Bytes truncated = encode_event(e);
    truncated.pop_back();
    EXPECT_FALSE(decode_event(truncated).ok());
}

}  // namespace
}  // namespace hub
