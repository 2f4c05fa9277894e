// What every hubsim scenario shares: its configuration, its result, and the entry points that pick
// the scenario (d2c: devices send to the hub, scenarios/d2c_scenario.hpp; c2d: a service sends to
// devices and reads feedback, scenarios/c2d_scenario.hpp).
//
// Deterministic: one seed fixes the whole run. replay_command() prints the hubsim command that
// reproduces a configuration, --scenario included.
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

enum class ScenarioKind { d2c, c2d };

struct ScenarioConfig {
    uint64_t seed = 1;
    uint32_t devices = 8;
    uint32_t messages_per_device = 16;
    int64_t send_window_ms = 10'000;
    // Random faults, drawn from the seed within the send window, when `faults` is not set. With
    // `swarm`, the seed also decides which kinds are on and how many (up to these).
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
    // Which scenario run_scenario() runs. d2c ignores the c2d fields and vice versa.
    ScenarioKind kind = ScenarioKind::d2c;
    // c2d: plants a known bug in the hub's C2D store (acknowledge C2D sends, settlements and
    // feedback without syncing) to prove the C2D checker catches it.
    bool plant_bug_c2d_skip_sync = false;
    // c2d: how long after the send window every message must reach its outcome and every
    // receipt the service; longer than D2C's because a lock held by a dead connection only
    // lapses after 60 s (C2D, then again for the feedback message).
    int64_t c2d_liveness_deadline_ms = 400'000;
    // The hub disk's flush latency per asynchronous sync (group commits): a fixed part plus, when
    // set, an exponential jitter with this mean (capped at 20x the mean). 0: instant.
    int64_t disk_latency_us = 0;
    int64_t disk_jitter_us = 0;
};

struct ScenarioResult {
    bool ok = false;
    std::string verdict;
    uint64_t trace_hash = 0;
    uint64_t sent = 0;          // distinct messages the devices (c2d: the service) had to send
    uint64_t acknowledged = 0;  // distinct messages the hub accepted
    uint64_t in_log = 0;        // events (c2d: enqueued copies) in the recovered log, duplicates
                                // included
    uint64_t faults_fired = 0;
    std::string fault_report;  // per kind: fired/planned
    uint64_t hub_crashes = 0;
    uint64_t events = 0;
    int64_t end_time_ms = 0;
    uint64_t d2c_commits = 0;           // successful group commits of the D2C log
    uint64_t d2c_events_committed = 0;  // events they made durable (their batch sizes summed)
    // c2d: outcomes in the recovered log and feedback, e.g. "copies=128 Expired=9 Rejected=16
    // Success=95 ... receipts=40 (distinct 40)".
    std::string c2d_report;
};

// Runs the scenario config.kind names.
ScenarioResult run_scenario(const ScenarioConfig& config);
std::string replay_command(const ScenarioConfig& config);

}  // namespace scenarios
