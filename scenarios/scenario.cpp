#include "scenarios/scenario.hpp"

#include "scenarios/c2d_scenario.hpp"
#include "scenarios/d2c_scenario.hpp"

namespace scenarios {

ScenarioResult run_scenario(const ScenarioConfig& config) {
    return config.kind == ScenarioKind::c2d ? run_c2d_scenario(config) : run_d2c_scenario(config);
}

std::string replay_command(const ScenarioConfig& config) {
    const bool c2d = config.kind == ScenarioKind::c2d;
    return std::string("build/bin/hubsim") + (c2d ? " --scenario c2d" : "") + " --seed " +
           std::to_string(config.seed) + " --devices " +
           std::to_string(config.devices) + " --messages " +
           std::to_string(config.messages_per_device) + " --resets " +
           std::to_string(config.fault_rates.resets) + " --crashes " +
           std::to_string(config.fault_rates.crashes) + " --partitions " +
           std::to_string(config.fault_rates.partitions) + " --clogs " +
           std::to_string(config.fault_rates.clogs) + " --send-window-ms " +
           std::to_string(config.send_window_ms) + (config.swarm ? " --swarm" : "") +
           (config.plant_bug_skip_sync ? " --plant-bug skip-sync" : "") +
           (config.plant_bug_c2d_skip_sync ? " --plant-bug c2d-skip-sync" : "") +
           (config.scheduler == simnet::SchedulerKind::heap ? " --scheduler heap" : "") +
           (config.disk_latency_us != 0
                ? " --disk-latency-us " + std::to_string(config.disk_latency_us)
                : "") +
           (config.disk_jitter_us != 0
                ? " --disk-jitter-us " + std::to_string(config.disk_jitter_us)
                : "");
}

}  // namespace scenarios
