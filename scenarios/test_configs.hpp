// Scenario configurations the scenario tests share.
#pragma once

#include "scenarios/d2c_scenario.hpp"

namespace scenarios {

// A small, fast run with every default fault kind: 4 devices x 8 messages over 5 s.
inline ScenarioConfig small_config(uint64_t seed) {
    ScenarioConfig config;
    config.seed = seed;
    config.devices = 4;
    config.messages_per_device = 8;
    config.send_window_ms = 5000;
    config.fault_rates.resets = 6;
    config.fault_rates.crashes = 2;
    return config;
}

// The C2D scenario at the same size: 4 devices x 8 messages over 5 s, every default fault kind.
inline ScenarioConfig small_c2d_config(uint64_t seed) {
    ScenarioConfig config = small_config(seed);
    config.kind = ScenarioKind::c2d;
    return config;
}

}  // namespace scenarios
