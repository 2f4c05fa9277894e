#include "scenarios/d2c_scenario.hpp"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>

#include "conformance/amqp_device_client.hpp"
#include "hub/amqp/amqp_server.hpp"
#include "hub/core/hub.hpp"
#include "simnet/sim_node.hpp"

namespace scenarios {

namespace {

using hub::Instant;
using simnet::SimNode;

constexpr const char* kHubAddress = "hub:5671";

struct HubProcess : simnet::Process {
    HubProcess(SimNode& node, const hub::HubConfig& config) {
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
    ~HubProcess() override {
        server.reset();  // connections go before the hub they write to
        hub.reset();
    }
    hub::Status boot_status;
    std::unique_ptr<hub::Hub> hub;
    std::unique_ptr<hub::amqp::AmqpServer> server;
};

struct DeviceProcess : simnet::Process {
    DeviceProcess(SimNode& node, conformance::DeviceClientConfig config) : client(node, config) {}
    conformance::AmqpDeviceClient client;
};

simnet::LatencyModel disk_latency(const ScenarioConfig& config) {
    const Duration base = Duration::micros(config.disk_latency_us);
    if (config.disk_jitter_us == 0) {
        return simnet::LatencyModel::fixed(base);
    }
    const Duration mean = Duration::micros(config.disk_jitter_us);
    return simnet::LatencyModel::base_plus_jitter(
        base, simnet::LatencyModel::exponential(mean, mean * 20));
}

std::string message_id(uint32_t device, uint32_t n) {
    return "dev-" + std::to_string(device) + "/" + std::to_string(n);
}

// Everything one run owns, torn down in order (devices and hub before network and simulator).
class World {
  public:
    explicit World(const ScenarioConfig& config);
    ScenarioResult run();

  private:
    void boot_devices();
    void schedule_faults();
    HubProcess* hub_process() { return static_cast<HubProcess*>(hub_node_->process()); }
    bool all_delivered();
    bool check_log(ScenarioResult* result);
    void count_commit(const simnet::TraceEvent& e);

    ScenarioConfig config_;
    simnet::Simulator sim_;
    simnet::SimNetwork net_;
    hub::HubConfig hub_config_;
    std::set<std::string> sent_;
    std::set<std::string> acknowledged_;
    std::unique_ptr<SimNode> hub_node_;
    std::vector<std::unique_ptr<SimNode>> device_nodes_;
    std::unique_ptr<simnet::Nemesis> nemesis_;
    uint64_t d2c_commits_ = 0;
    uint64_t d2c_events_committed_ = 0;
};

// "d2c.commit events=N ok=1" from the hub: batch sizes, for the batching figures.
void World::count_commit(const simnet::TraceEvent& e) {
    if (e.node != "hub" || e.kind != "d2c.commit" || !e.detail.ends_with(" ok=1")) {
        return;
    }
    ++d2c_commits_;
    d2c_events_committed_ += std::strtoull(e.detail.c_str() + std::string("events=").size(),
                                           nullptr, 10);
}

World::World(const ScenarioConfig& config)
    : config_(config),
      sim_(config.seed, config.scheduler),
      net_(sim_, sim_.random_for("network")) {
    for (const simnet::TraceSink& sink : config_.trace_sinks) {
        sim_.add_trace_sink(sink);
    }
    hub::Random keys = sim_.random_for("keys");
    hub_config_.host_name = "hub";
    hub_config_.d2c.planted_bug_skip_sync = config_.plant_bug_skip_sync;
    for (uint32_t d = 0; d < config_.devices; ++d) {
        hub_config_.devices.push_back({"dev-" + std::to_string(d), hub::generate_device_key(keys)});
    }
    hub_node_ = std::make_unique<SimNode>(sim_, net_, "hub");
    hub_node_->sim_disk().set_sync_latency(disk_latency(config_));
    sim_.add_trace_sink([this](const simnet::TraceEvent& e) { count_commit(e); });
    hub_node_->boot([this](SimNode& node) {
        return std::make_unique<HubProcess>(node, hub_config_);
    });
}

void World::boot_devices() {
    for (uint32_t d = 0; d < config_.devices; ++d) {
        const hub::DeviceSpec& spec = hub_config_.devices[d];
        auto node = std::make_unique<SimNode>(sim_, net_, spec.id);
        conformance::DeviceClientConfig client_config;
        client_config.hub_address = kHubAddress;
        client_config.host_name = hub_config_.host_name;
        client_config.device_id = spec.id;
        client_config.key = spec.primary_key;
        node->boot([this, d, client_config](SimNode& n) {
            auto process = std::make_unique<DeviceProcess>(n, client_config);
            process->client.on_acknowledged = [this](const std::string& id) {
                HUB_ASSERT(sent_.contains(id));
                acknowledged_.insert(id);
            };
            for (uint32_t m = 0; m < config_.messages_per_device; ++m) {
                const std::string id = message_id(d, m);
                sent_.insert(id);
                const Instant at{Duration::millis(n.random().uniform_between(
                                     0, config_.send_window_ms)).ns};
                conformance::AmqpDeviceClient* client = &process->client;
                n.schedule(at, [client, id] {
                    client->send(id, hub::Bytes(id.begin(), id.end()));
                });
            }
            process->client.start();
            return process;
        });
        device_nodes_.push_back(std::move(node));
    }
}

void World::schedule_faults() {
    nemesis_ = std::make_unique<simnet::Nemesis>(
        sim_, net_, std::map<std::string, SimNode*>{{"hub", hub_node_.get()}});
    if (config_.faults) {
        nemesis_->schedule(*config_.faults);
        return;
    }
    hub::Random random = sim_.random_for("nemesis");
    const simnet::FaultRates rates =
        config_.swarm ? simnet::swarm_rates(random, config_.fault_rates) : config_.fault_rates;
    std::vector<std::string> hosts;
    for (const hub::DeviceSpec& device : hub_config_.devices) hosts.push_back(device.id);
    nemesis_->schedule(simnet::draw_plan(random, rates, config_.send_window_ms, {"hub"}, hosts));
}

bool World::all_delivered() {
    for (const auto& node : device_nodes_) {
        if (static_cast<DeviceProcess*>(node->process())->client.pending() > 0) {
            return false;
        }
    }
    return sent_.size() == static_cast<size_t>(config_.devices) * config_.messages_per_device;
}

bool World::check_log(ScenarioResult* result) {
    if (hub_node_->running()) {
        hub_node_->crash();
    }
    hub_node_->restart();
    HubProcess* process = hub_process();
    if (!process->boot_status.ok()) {
        result->verdict = "FAIL: hub did not recover: " + process->boot_status.to_string();
        return false;
    }
    std::set<std::string> logged;
    for (uint32_t p = 0; p < process->hub->d2c().partition_count(); ++p) {
        for (const hub::StoredEvent& event : process->hub->d2c().events(p)) {
            const std::string& id = event.message.message_id;
            if (!sent_.contains(id) || !id.starts_with(event.message.device_id + "/")) {
                result->verdict = "FAIL: log holds message '" + id + "' from '" +
                                  event.message.device_id + "' that no such device sent";
                return false;
            }
            logged.insert(id);
            ++result->in_log;
        }
    }
    for (const std::string& id : acknowledged_) {
        if (!logged.contains(id)) {
            result->verdict = "FAIL: acknowledged message " + id + " is missing from the log";
            return false;
        }
    }
    return true;
}

ScenarioResult World::run() {
    ScenarioResult result;
    schedule_faults();
    boot_devices();
    const Instant safety_end{Duration::millis(config_.send_window_ms).ns};
    sim_.run_until([] { return false; }, safety_end);
    const Instant deadline = safety_end + Duration::millis(config_.liveness_deadline_ms);
    // Liveness: no new faults after the window; a hub still down is restarted by its timer.
    const bool live = sim_.run_until([this] { return all_delivered(); }, deadline);
    result.hub_crashes = hub_node_->crashes();  // the nemesis's, not the checker's own below
    result.ok = live ? check_log(&result) : false;
    if (!live) {
        std::string missing;
        int listed = 0;
        for (const std::string& id : sent_) {
            if (!acknowledged_.contains(id) && listed++ < 5) {
                missing += " " + id;
            }
        }
        result.verdict = "FAIL: liveness: " + std::to_string(sent_.size() - acknowledged_.size()) +
                         " messages not acknowledged " +
                         std::to_string(config_.liveness_deadline_ms) +
                         " ms after faults stopped (first:" + missing + ")";
    } else if (result.ok) {
        result.verdict = "PASS: every acknowledged message is in the log";
    }
    result.sent = sent_.size();
    result.acknowledged = acknowledged_.size();
    for (const auto& [kind, counts] : nemesis_->report().by_kind) {
        result.faults_fired += counts.fired;
    }
    result.fault_report = nemesis_->report().to_string();
    result.events = sim_.events_run();
    result.d2c_commits = d2c_commits_;
    result.d2c_events_committed = d2c_events_committed_;
    result.end_time_ms = sim_.now().to_millis();
    sim_.trace("checker", "verdict", result.verdict);
    result.trace_hash = sim_.trace_hash();
    return result;
}

}  // namespace

ScenarioResult run_d2c_scenario(const ScenarioConfig& config) {
    World world(config);
    return world.run();
}

std::string replay_command(const ScenarioConfig& config) {
    return "build/bin/hubsim --seed " + std::to_string(config.seed) + " --devices " +
           std::to_string(config.devices) + " --messages " +
           std::to_string(config.messages_per_device) + " --resets " +
           std::to_string(config.fault_rates.resets) + " --crashes " +
           std::to_string(config.fault_rates.crashes) + " --partitions " +
           std::to_string(config.fault_rates.partitions) + " --clogs " +
           std::to_string(config.fault_rates.clogs) + " --send-window-ms " +
           std::to_string(config.send_window_ms) + (config.swarm ? " --swarm" : "") +
           (config.plant_bug_skip_sync ? " --plant-bug skip-sync" : "") +
           (config.scheduler == simnet::SchedulerKind::heap ? " --scheduler heap" : "") +
           (config.disk_latency_us != 0
                ? " --disk-latency-us " + std::to_string(config.disk_latency_us)
                : "") +
           (config.disk_jitter_us != 0
                ? " --disk-jitter-us " + std::to_string(config.disk_jitter_us)
                : "");
}

}  // namespace scenarios
