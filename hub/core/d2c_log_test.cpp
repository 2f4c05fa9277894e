#include "hub/core/d2c_log.hpp"

#include <gtest/gtest.h>

#include <climits>
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
