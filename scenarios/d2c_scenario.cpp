#include "scenarios/d2c_scenario.hpp"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>

#include "conformance/amqp_device_client.hpp"
#include "scenarios/sim_world.hpp"

namespace scenarios {

namespace {

using hub::Instant;
using simnet::SimNode;

std::string message_id(uint32_t device, uint32_t n) {
    return "dev-" + std::to_string(device) + "/" + std::to_string(n);
}

// Everything one run owns, torn down in order (devices and hub before network and simulator).
class World : public SimWorld {
  public:
    explicit World(const ScenarioConfig& config);
    ScenarioResult run();

  private:
    void boot_devices();
    bool all_delivered();
    bool check_log(ScenarioResult* result);
    void count_commit(const simnet::TraceEvent& e);

    std::set<std::string> sent_;
    std::set<std::string> acknowledged_;
    std::vector<std::unique_ptr<SimNode>> device_nodes_;
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

World::World(const ScenarioConfig& config) : SimWorld(config) {
    sim_.add_trace_sink([this](const simnet::TraceEvent& e) { count_commit(e); });
    boot_hub();
}

void World::boot_devices() {
    for (uint32_t d = 0; d < config_.devices; ++d) {
        const hub::DeviceSpec& spec = hub_config_.devices[d];
        auto node = std::make_unique<SimNode>(sim_, net_, spec.id);
        const conformance::DeviceClientConfig client_config = device_client_config(spec);
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

bool World::all_delivered() {
    for (const auto& node : device_nodes_) {
        if (static_cast<DeviceProcess*>(node->process())->client.pending() > 0) {
            return false;
        }
    }
    return sent_.size() == static_cast<size_t>(config_.devices) * config_.messages_per_device;
}

bool World::check_log(ScenarioResult* result) {
    HubProcess* process = recover_hub(&result->verdict);
    if (process == nullptr) {
        return false;
    }
    std::set<std::string> logged;
    const hub::D2cLog& log = process->hub->d2c();
    for (uint32_t p = 0; p < log.partition_count(); ++p) {
        for (uint64_t seq = log.first_sequence_number(p); seq < log.end_sequence_number(p); ++seq) {
            const hub::StoredEvent* read = log.event_at(p, seq);
            if (read == nullptr) {
                result->verdict = "FAIL: the recovered log cannot read back event " +
                                  std::to_string(seq) + " of partition " + std::to_string(p);
                return false;
            }
            const hub::StoredEvent& event = *read;
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
    std::vector<std::string> hosts;
    for (const hub::DeviceSpec& device : hub_config_.devices) hosts.push_back(device.id);
    schedule_faults(hosts);
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
    result.d2c_commits = d2c_commits_;
    result.d2c_events_committed = d2c_events_committed_;
    finish(&result);
    return result;
}

}  // namespace

ScenarioResult run_d2c_scenario(const ScenarioConfig& config) {
    World world(config);
    return world.run();
}

}  // namespace scenarios
