// The D2C at-least-once scenario: N simulated devices send messages over AMQP to a simulated
// hub while a nemesis resets connections and crashes/restarts the hub.
//
// Phases: (1) safety: devices send within the send window while faults fire; (2) liveness:
// faults stop and every device must get all its messages acknowledged before a deadline;
// (3) check: the hub is crashed once more (dropping unsynced bytes) and restarted, then every
// message the hub acknowledged must be in its log (at-least-once, nothing acknowledged lost),
// every logged message must be one a device sent, stamped with that device's id.
//
// Deterministic: one seed fixes the whole run, including the random fault schedule when none
// is given. The trace hash identifies the run; replay_command() reproduces it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hub/env/time.hpp"
#include "simnet/event_queue.hpp"
#include "simnet/nemesis.hpp"
#include "simnet/trace.hpp"

namespace scenarios {

using hub::Duration;

struct ScenarioConfig {
    uint64_t seed = 1;
    uint32_t devices = 8;
    uint32_t messages_per_device = 16;
    int64_t send_window_ms = 10'000;
    // Random faults, drawn from the seed within the send window, when `faults` is not set.
    // With `swarm`, the seed also decides which kinds are on and how many (up to these).
    simnet::FaultRates fault_rates;
    bool swarm = false;
    std::optional<std::vector<simnet::Fault>> faults;  // an explicit plan (crash target "hub")
    int64_t liveness_deadline_ms = 120'000;
    // Sinks that see every trace event (printers, JSONL writers, divergence recorders).
    std::vector<simnet::TraceSink> trace_sinks;
    // Plants a known bug in the hub (acknowledge D2C without syncing) to prove the checker
    // catches it.
    bool plant_bug_skip_sync = false;
    // The simulator's event queue. Both kinds give the same run (scheduler_equivalence_test).
    simnet::SchedulerKind scheduler = simnet::SchedulerKind::wheel;
    // The hub disk's flush latency per asynchronous sync (group commits): a fixed part plus,
    // when set, an exponential jitter with this mean (capped at 20x the mean). 0: instant.
    int64_t disk_latency_us = 0;
    int64_t disk_jitter_us = 0;
};

struct ScenarioResult {
    bool ok = false;
    std::string verdict;
    uint64_t trace_hash = 0;
    uint64_t sent = 0;          // distinct messages the devices were asked to send
    uint64_t acknowledged = 0;  // distinct messages the hub accepted
    uint64_t in_log = 0;        // events in the recovered log (duplicates included)
    uint64_t faults_fired = 0;
    std::string fault_report;  // per kind: fired/planned
    uint64_t hub_crashes = 0;
    uint64_t events = 0;
    int64_t end_time_ms = 0;
    uint64_t d2c_commits = 0;            // successful group commits of the D2C log
    uint64_t d2c_events_committed = 0;   // events they made durable (their batch sizes summed)
};

ScenarioResult run_d2c_scenario(const ScenarioConfig& config);
std::string replay_command(const ScenarioConfig& config);

}  // namespace scenarios
