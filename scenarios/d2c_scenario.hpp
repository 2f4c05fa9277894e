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

#include "scenarios/scenario.hpp"

namespace scenarios {

ScenarioResult run_d2c_scenario(const ScenarioConfig& config);

}  // namespace scenarios
