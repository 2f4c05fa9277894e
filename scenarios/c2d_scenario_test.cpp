// The C2D + feedback scenario: passes under faults, replays to one trace on both schedulers, and
// its checker catches the planted durability bug.
#include "scenarios/c2d_scenario.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <utility>

#include "scenarios/test_configs.hpp"

namespace scenarios {
namespace {

TEST(C2dScenario, PassesWithoutFaults) {
    ScenarioConfig config = small_c2d_config(1);
    config.fault_rates = simnet::FaultRates{0, 0, 0, 0};
    const ScenarioResult r = run_scenario(config);
    EXPECT_TRUE(r.ok) << r.verdict << "\n"
                      << r.c2d_report << "\nreplay: " << replay_command(config);
    EXPECT_EQ(r.sent, 32u);
    EXPECT_EQ(r.acknowledged, r.sent) << r.c2d_report;
    EXPECT_EQ(r.in_log, r.sent) << r.c2d_report;  // no faults: no resends, no copies
}

void expect_passes(uint64_t seed) {
    const ScenarioConfig config = small_c2d_config(seed);
    const ScenarioResult r = run_scenario(config);
    EXPECT_TRUE(r.ok) << "seed " << seed << ": " << r.verdict << "\n"
                      << r.c2d_report << "\nreplay: " << replay_command(config);
    EXPECT_GT(r.faults_fired, 0u);
    EXPECT_GE(r.in_log, r.acknowledged);  // a resend may enqueue a copy more
}

// Before the hub settled C2D deliveries by tracker (a CBS reply's settlement completed the C2D
// message with the same delivery tag; conformance/c2d_clients_test.cpp,
// TheCbsReplysSettlementDoesNotSettleAC2dMessage) most of these seeds failed.
TEST(C2dScenario, PassesWithResetsCrashesPartitionsAndClogs) {
    for (uint64_t seed = 1; seed <= 20; ++seed) {
        expect_passes(seed);
    }
}

// The same run on the timing wheel and on the binary heap.
std::pair<ScenarioResult, ScenarioResult> on_both_schedulers(ScenarioConfig config) {
    config.scheduler = simnet::SchedulerKind::wheel;
    ScenarioResult wheel = run_scenario(config);
    config.scheduler = simnet::SchedulerKind::heap;
    return {std::move(wheel), run_scenario(config)};
}

TEST(C2dScenario, SameSeedSameTraceHashOnBothSchedulers) {
    ScenarioConfig wheel = small_c2d_config(42);
    wheel.swarm = true;
    const auto [a, c] = on_both_schedulers(wheel);
    const ScenarioResult b = run_scenario(wheel);
    EXPECT_TRUE(a.ok) << a.verdict << "\nreplay: " << replay_command(wheel);
    EXPECT_EQ(a.trace_hash, b.trace_hash);
    EXPECT_EQ(a.events, b.events);
    EXPECT_EQ(a.trace_hash, c.trace_hash);
    EXPECT_EQ(a.verdict, c.verdict);
    ScenarioConfig other = wheel;
    other.seed = 43;
    EXPECT_NE(run_scenario(other).trace_hash, a.trace_hash);
}

TEST(C2dScenario, CheckerCatchesPlantedC2dSkipSyncBug) {
    ScenarioConfig config = small_c2d_config(3);
    config.plant_bug_c2d_skip_sync = true;
    const ScenarioResult r = run_scenario(config);
    EXPECT_FALSE(r.ok) << r.c2d_report;
    EXPECT_NE(r.verdict.find("missing from its recovered log"), std::string::npos) << r.verdict;
}

TEST(C2dScenario, ReplayCommandNamesTheScenario) {
    ScenarioConfig config = small_c2d_config(5);
    config.plant_bug_c2d_skip_sync = true;
    const std::string replay = replay_command(config);
    EXPECT_NE(replay.find("build/bin/hubsim --scenario c2d --seed 5 "), std::string::npos)
        << replay;
    EXPECT_NE(replay.find("--plant-bug c2d-skip-sync"), std::string::npos) << replay;
    EXPECT_EQ(replay_command(small_config(5)).find("--scenario"), std::string::npos);
}

TEST(C2dScenario, AFailingRunFailsTheSameWayOnBothSchedulers) {
    ScenarioConfig config = small_c2d_config(3);
    config.plant_bug_c2d_skip_sync = true;
    const auto [a, b] = on_both_schedulers(config);
    EXPECT_FALSE(a.ok);
    EXPECT_EQ(a.verdict, b.verdict);
    EXPECT_EQ(a.trace_hash, b.trace_hash) << replay_command(config);
}

// Determinism as a property: any seed, any fault mix, either scheduler, pass or fail, replays
// to the same trace hash and event count.
RC_GTEST_PROP(C2dScenarioProperty, SameSeedSameTraceHash, ()) {
    ScenarioConfig config = small_c2d_config(*rc::gen::inRange<uint64_t>(1, 1u << 30));
    config.swarm = *rc::gen::arbitrary<bool>();
    const ScenarioResult a = run_scenario(config);
    config.scheduler = *rc::gen::arbitrary<bool>() ? simnet::SchedulerKind::heap
                                                   : simnet::SchedulerKind::wheel;
    const ScenarioResult b = run_scenario(config);
    RC_ASSERT(a.trace_hash == b.trace_hash);
    RC_ASSERT(a.events == b.events);
    RC_ASSERT(a.verdict == b.verdict);
}

}  // namespace
}  // namespace scenarios
