#include "scenarios/sim_world.hpp"

#include <map>

namespace scenarios {

using hub::Duration;
using simnet::SimNode;

HubProcess::HubProcess(SimNode& node, const hub::HubConfig& config) {
    hub::Result<std::unique_ptr<hub::Hub>> opened = hub::Hub::open(node, config);
    if (!opened.ok()) {
        boot_status = opened.status();
        node.trace("hub.boot-failed", boot_status.to_string());
        return;
    }
    hub = std::move(*opened);
    server = std::make_unique<hub::amqp::AmqpServer>(node, *hub);
    boot_status = server->listen(kHubAddress);
}

HubProcess::~HubProcess() {
    server.reset();  // connections go before the hub they write to
    hub.reset();
}

namespace {

simnet::LatencyModel disk_latency(const ScenarioConfig& config) {
    const Duration base = Duration::micros(config.disk_latency_us);
    if (config.disk_jitter_us == 0) {
        return simnet::LatencyModel::fixed(base);
    }
    const Duration mean = Duration::micros(config.disk_jitter_us);
    return simnet::LatencyModel::base_plus_jitter(
        base, simnet::LatencyModel::exponential(mean, mean * 20));
}

}  // namespace

SimWorld::SimWorld(const ScenarioConfig& config)
    : config_(config), sim_(config.seed, config.scheduler), net_(sim_, sim_.random_for("network")) {
    for (const simnet::TraceSink& sink : config_.trace_sinks) {
        sim_.add_trace_sink(sink);
    }
    hub::Random keys = sim_.random_for("keys");
    hub_config_.host_name = "hub";
    hub_config_.d2c.planted_bug_skip_sync = config_.plant_bug_skip_sync;
    // A small RAM cache, so the checker's reads of the recovered log mostly go back to the
    // segment files, as an Event Hubs reader behind the tail does on iothubd.
    hub_config_.d2c.cache_bytes = 4096;
    hub_config_.c2d.store.planted_bug_skip_sync = config_.plant_bug_c2d_skip_sync;
    for (uint32_t d = 0; d < config_.devices; ++d) {
        hub_config_.devices.push_back({"dev-" + std::to_string(d), hub::generate_device_key(keys)});
    }
    hub_node_ = std::make_unique<SimNode>(sim_, net_, "hub");
    hub_node_->sim_disk().set_sync_latency(disk_latency(config_));
}

void SimWorld::boot_hub() {
    hub_node_->boot(
        [this](SimNode& node) { return std::make_unique<HubProcess>(node, hub_config_); });
}

void SimWorld::schedule_faults(const std::vector<std::string>& hosts) {
    nemesis_ = std::make_unique<simnet::Nemesis>(
        sim_, net_, std::map<std::string, SimNode*>{{"hub", hub_node_.get()}});
    if (config_.faults) {
        nemesis_->schedule(*config_.faults);
        return;
    }
    hub::Random random = sim_.random_for("nemesis");
    const simnet::FaultRates rates =
        config_.swarm ? simnet::swarm_rates(random, config_.fault_rates) : config_.fault_rates;
    nemesis_->schedule(simnet::draw_plan(random, rates, config_.send_window_ms, {"hub"}, hosts));
}

HubProcess* SimWorld::hub_process() {
    return static_cast<HubProcess*>(hub_node_->process());
}

HubProcess* SimWorld::recover_hub(std::string* verdict) {
    if (hub_node_->running()) {
        hub_node_->crash();
    }
    hub_node_->restart();
    HubProcess* process = hub_process();
    if (!process->boot_status.ok()) {
        *verdict = "FAIL: hub did not recover: " + process->boot_status.to_string();
        return nullptr;
    }
    return process;
}

void SimWorld::finish(ScenarioResult* result) {
    for (const auto& [kind, counts] : nemesis_->report().by_kind) {
        result->faults_fired += counts.fired;
    }
    result->fault_report = nemesis_->report().to_string();
    result->events = sim_.events_run();
    result->end_time_ms = sim_.now().to_millis();
    sim_.trace("checker", "verdict", result->verdict);
    result->trace_hash = sim_.trace_hash();
}

conformance::DeviceClientConfig SimWorld::device_client_config(const hub::DeviceSpec& spec) const {
    conformance::DeviceClientConfig client_config;
    client_config.hub_address = kHubAddress;
    client_config.host_name = hub_config_.host_name;
    client_config.device_id = spec.id;
    client_config.key = spec.primary_key;
    return client_config;
}

}  // namespace scenarios
