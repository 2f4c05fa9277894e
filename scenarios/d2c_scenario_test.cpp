#include "scenarios/d2c_scenario.hpp"
#include "scenarios/test_configs.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <set>

namespace scenarios {
namespace {

ScenarioConfig small(uint64_t seed) { return small_config(seed); }

TEST(D2cScenario, PassesWithoutFaults) {
    ScenarioConfig config = small(1);
    config.fault_rates.resets = 0;
    config.fault_rates.crashes = 0;
    const ScenarioResult r = run_d2c_scenario(config);
    EXPECT_TRUE(r.ok) << r.verdict;
    EXPECT_EQ(r.acknowledged, 32u);
    EXPECT_EQ(r.in_log, 32u);  // no faults: no duplicates
}

TEST(D2cScenario, PassesWithResetsAndCrashes) {
    for (uint64_t seed = 1; seed <= 5; ++seed) {
        const ScenarioResult r = run_d2c_scenario(small(seed));
        EXPECT_TRUE(r.ok) << "seed " << seed << ": " << r.verdict << "\nreplay: "
                          << replay_command(small(seed));
        EXPECT_EQ(r.acknowledged, r.sent);
        EXPECT_GE(r.in_log, r.acknowledged);
    }
}

TEST(D2cScenario, CheckerCatchesPlantedSkipSyncBug) {
    ScenarioConfig config = small(3);
    config.plant_bug_skip_sync = true;
    const ScenarioResult r = run_d2c_scenario(config);
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.verdict.find("missing from the log"), std::string::npos) << r.verdict;
}

TEST(D2cScenario, ReportsPlannedAndFiredFaults) {
    const ScenarioResult r = run_d2c_scenario(small(9));
    EXPECT_NE(r.fault_report.find("crash_restart"), std::string::npos) << r.fault_report;
    EXPECT_NE(r.fault_report.find("/6"), std::string::npos) << r.fault_report;  // 6 resets planned
    EXPECT_GT(r.faults_fired, 0u);
}

TEST(D2cScenario, SwarmModeVariesTheFaultMixAcrossSeeds) {
    std::set<std::string> mixes;
    for (uint64_t seed = 1; seed <= 12; ++seed) {
        ScenarioConfig config = small(seed);
        config.swarm = true;
        const ScenarioResult r = run_d2c_scenario(config);
        EXPECT_TRUE(r.ok) << r.verdict << "\nreplay: " << replay_command(config);
        mixes.insert(r.fault_report);
    }
    EXPECT_GE(mixes.size(), 4u);  // different seeds chose different fault mixes
}

TEST(D2cScenario, PassesUnderPartitionsAndClogs) {
    for (uint64_t seed = 1; seed <= 4; ++seed) {
        ScenarioConfig config = small(seed);
        config.fault_rates.partitions = 3;
        config.fault_rates.clogs = 3;
        const ScenarioResult r = run_d2c_scenario(config);
        EXPECT_TRUE(r.ok) << r.verdict << "\nreplay: " << replay_command(config);
        EXPECT_NE(r.fault_report.find("partition 3/3"), std::string::npos) << r.fault_report;
    }
}

TEST(D2cScenario, SameSeedSameTraceHash) {
    const ScenarioResult a = run_d2c_scenario(small(42));
    const ScenarioResult b = run_d2c_scenario(small(42));
    EXPECT_EQ(a.trace_hash, b.trace_hash);
    EXPECT_EQ(a.events, b.events);
}

TEST(D2cScenario, DifferentSeedsDifferentTraceHashes) {
    EXPECT_NE(run_d2c_scenario(small(1)).trace_hash, run_d2c_scenario(small(2)).trace_hash);
}

// Determinism as a property: any seed (with swarm-drawn faults) replays to the same trace
// hash and event count, and the next seed gives a different hash.
RC_GTEST_PROP(D2cScenarioProperty, SameSeedSameHashOtherSeedOtherHash, ()) {
    ScenarioConfig config = small(*rc::gen::inRange<uint64_t>(1, 1u << 30));
    config.swarm = *rc::gen::arbitrary<bool>();
    const ScenarioResult a = run_d2c_scenario(config);
    const ScenarioResult b = run_d2c_scenario(config);
    RC_ASSERT(a.trace_hash == b.trace_hash);
    RC_ASSERT(a.events == b.events);
    config.seed += 1;
    RC_ASSERT(run_d2c_scenario(config).trace_hash != a.trace_hash);
}

// The property: under any schedule of connection resets and hub crashes (with any downtime),
// every message the hub acknowledged is in its recovered log, and all messages get through
// once the faults stop.
RC_GTEST_PROP(D2cScenarioProperty, AtLeastOnceUnderRandomFaultSchedules, ()) {
    ScenarioConfig config = small(*rc::gen::inRange<uint64_t>(1, 1000000));
    config.devices = *rc::gen::inRange<uint32_t>(1, 4);
    config.messages_per_device = *rc::gen::inRange<uint32_t>(1, 8);
    const auto faults = *rc::gen::container<std::vector<simnet::Fault>>(
        rc::gen::map(rc::gen::tuple(rc::gen::inRange<int64_t>(0, config.send_window_ms),
                                    rc::gen::arbitrary<bool>(),
                                    rc::gen::inRange<int64_t>(1, 3000)),
                     [](const std::tuple<int64_t, bool, int64_t>& t) {
                         using simnet::Fault;
                         return Fault{.kind = std::get<1>(t) ? Fault::Kind::crash_restart
                                                             : Fault::Kind::reset_connection,
                                      .at_ms = std::get<0>(t),
                                      .duration_ms = std::get<2>(t),
                                      .target = "hub"};
                     }));
    config.faults = faults;
    const ScenarioResult r = run_d2c_scenario(config);
    RC_LOG() << r.verdict << "\n";
    RC_ASSERT(r.ok);
    RC_ASSERT(r.acknowledged == r.sent);
}

}  // namespace
}  // namespace scenarios

namespace scenarios {
namespace {

// Disk latency on the hub (hubsim --disk-latency-us): the run still passes, commits batch more
// messages, and one seed still gives one trace.
TEST(D2cScenarioDiskLatency, SlowerFlushesBatchMoreMessagesPerCommit) {
    ScenarioConfig fast = small_config(4);
    fast.devices = 16;
    fast.messages_per_device = 20;
    fast.send_window_ms = 200;
    fast.fault_rates.resets = 0;
    fast.fault_rates.crashes = 0;
    fast.fault_rates.partitions = 0;
    fast.fault_rates.clogs = 0;
    ScenarioConfig slow = fast;
    slow.disk_latency_us = 5000;
    const ScenarioResult f = run_d2c_scenario(fast);
    const ScenarioResult s = run_d2c_scenario(slow);
    ASSERT_TRUE(f.ok) << f.verdict;
    ASSERT_TRUE(s.ok) << s.verdict << "\nreplay: " << replay_command(slow);
    ASSERT_GT(f.d2c_commits, 0u);
    ASSERT_GT(s.d2c_commits, 0u);
    const double fast_batch = double(f.d2c_events_committed) / double(f.d2c_commits);
    const double slow_batch = double(s.d2c_events_committed) / double(s.d2c_commits);
    EXPECT_GT(slow_batch, 2 * fast_batch) << fast_batch << " vs " << slow_batch;
    EXPECT_GT(s.end_time_ms, f.end_time_ms);  // the last ack waited for the slower disk
}

TEST(D2cScenarioDiskLatency, PassesUnderFaultsAndOneSeedGivesOneTrace) {
    ScenarioConfig slow = small_config(4);
    slow.disk_latency_us = 3000;
    slow.disk_jitter_us = 1000;
    const ScenarioResult s = run_d2c_scenario(slow);
    ASSERT_TRUE(s.ok) << s.verdict << "\nreplay: " << replay_command(slow);
    EXPECT_NE(replay_command(slow).find("--disk-latency-us 3000 --disk-jitter-us 1000"),
              std::string::npos);
    EXPECT_EQ(run_d2c_scenario(slow).trace_hash, s.trace_hash);
    EXPECT_NE(run_d2c_scenario(small_config(4)).trace_hash, s.trace_hash);
}

}  // namespace
}  // namespace scenarios
