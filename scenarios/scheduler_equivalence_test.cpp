// The D2C scenario must not depend on the scheduler: the heap and the timing wheel give the
// same run, event for event, so the same trace hash (DESIGN.md: "running a seed ... with the
// other scheduler implementation must give the same hash").
//
// REQUIRES: ScenarioConfig::scheduler (a simnet::SchedulerKind that World passes to its
// Simulator).
#include <gtest/gtest.h>

#include "scenarios/d2c_scenario.hpp"
#include "scenarios/test_configs.hpp"
#include "simnet/event_queue.hpp"

namespace scenarios {
namespace {

ScenarioConfig config_for(uint64_t seed, simnet::SchedulerKind scheduler) {
    ScenarioConfig config = small_config(seed);
    config.scheduler = scheduler;
    return config;
}

void expect_same_run(const ScenarioConfig& heap_config) {
    ScenarioConfig wheel_config = heap_config;
    wheel_config.scheduler = simnet::SchedulerKind::wheel;
    const ScenarioResult heap = run_d2c_scenario(heap_config);
    const ScenarioResult wheel = run_d2c_scenario(wheel_config);
    const std::string replay = replay_command(heap_config);
    EXPECT_EQ(heap.trace_hash, wheel.trace_hash) << replay;
    EXPECT_EQ(heap.events, wheel.events) << replay;
    EXPECT_EQ(heap.end_time_ms, wheel.end_time_ms) << replay;
    EXPECT_EQ(heap.verdict, wheel.verdict) << replay;
    EXPECT_EQ(heap.ok, wheel.ok) << replay;
    EXPECT_GT(heap.events, 0u);
}

TEST(SchedulerEquivalence, D2cScenarioHasTheSameTraceHashOnHeapAndWheel) {
    for (uint64_t seed = 1; seed <= 6; ++seed) {
        expect_same_run(config_for(seed, simnet::SchedulerKind::heap));
    }
}

TEST(SchedulerEquivalence, SwarmRunsAgreeToo) {
    for (uint64_t seed = 20; seed <= 23; ++seed) {
        ScenarioConfig config = config_for(seed, simnet::SchedulerKind::heap);
        config.swarm = true;
        expect_same_run(config);
    }
}

TEST(SchedulerEquivalence, AFailingRunFailsTheSameWayOnBoth) {
    ScenarioConfig config = config_for(3, simnet::SchedulerKind::heap);
    config.plant_bug_skip_sync = true;
    expect_same_run(config);
}

}  // namespace
}  // namespace scenarios
