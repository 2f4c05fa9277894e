#include "scenarios/c2d_scenario.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "scenarios/c2d_world.hpp"

namespace scenarios {
namespace c2d {

namespace {

constexpr std::array<const char*, 5> kAcks = {"", "none", "positive", "negative", "full"};
// Short TTLs: shorter than most offline periods and partitions, longer than a healthy delivery.
constexpr int64_t kShortTtlMsMin = 300;
constexpr int64_t kShortTtlMsMax = 4000;
constexpr int64_t kLongTtlMs = 3'600'000;
// A device's offline period (client stopped), when it has one.
constexpr int64_t kOfflineMsMin = 1000;
constexpr int64_t kOfflineMsMax = 6000;
// After the queues drain: time for the last settlements' group commits to reach the disk before the
// checker's crash (nothing acknowledges them, so nothing else waits for them).
constexpr Duration kSettleTime = Duration::seconds(5);

struct ServiceProcess : simnet::Process {
    ServiceProcess(SimNode& node, conformance::ServiceClientConfig config)
        : client(node, std::move(config)) {}
    conformance::AmqpServiceClient client;
};

}  // namespace

std::string message_id(uint32_t device, uint32_t n) {
    return "c2d-" + std::to_string(device) + "/" + std::to_string(n);
}

std::string device_name(uint32_t device) {
    return "dev-" + std::to_string(device);
}
std::optional<Outcome> parse_status_code(const std::string& code) {
    for (Outcome o : {Outcome::completed, Outcome::expired, Outcome::delivery_count_exceeded,
                      Outcome::rejected, Outcome::purged}) {
        if (code == hub::outcome_status_code(o)) return o;
    }
    return std::nullopt;
}

World::World(const ScenarioConfig& config) : SimWorld(config) {
    hub::Random keys = sim_.random_for("service-key");
    service_key_ = hub::generate_device_key(keys);
    hub_config_.policy_keys.push_back({"service", service_key_});
    // The checker reads the whole outcome history from the log: never compact it here
    // (c2d_store_compaction_test covers compaction, crashes included).
    hub_config_.c2d.store.compaction.floor_bytes = std::numeric_limits<uint64_t>::max();
    HUB_ASSERT(hub_config_.c2d.max_delivery_count == kDeliveryCountMax);
    sim_.add_trace_sink([this](const simnet::TraceEvent& e) { on_trace(e); });
    boot_hub();
    plan_messages();
}

void World::plan_messages() {
    hub::Random random = sim_.random_for("c2d-plan");
    for (uint32_t d = 0; d < config_.devices; ++d) {
        for (uint32_t n = 0; n < config_.messages_per_device; ++n) {
            Planned p;
            p.device = d;
            p.send_at_ms = random.uniform_between(0, config_.send_window_ms);
            p.ack = kAcks[random.uniform_between(0, kAcks.size() - 1)];
            p.ack_mode = *hub::parse_ack_mode(p.ack);
            const int64_t send_utc_ms = sim_.utc_epoch_ms() + p.send_at_ms;
            const int64_t expiry_kind = random.uniform_between(0, 7);
            if (expiry_kind == 1 || expiry_kind == 2) {
                p.expiry_utc_ms =
                    send_utc_ms + random.uniform_between(kShortTtlMsMin, kShortTtlMsMax);
            } else if (expiry_kind != 0) {
                p.expiry_utc_ms = send_utc_ms + kLongTtlMs;
            }
            const int64_t plan = random.uniform_between(0, 19);
            p.plan = plan < 12   ? Plan::complete
                     : plan < 15 ? Plan::reject
                     : plan < 18 ? Plan::abandon_then_complete
                                 : Plan::abandon_forever;
            if (p.plan == Plan::abandon_then_complete) {
                p.abandons = static_cast<uint32_t>(random.uniform_between(1, 3));
            }
            planned_.emplace(message_id(d, n), std::move(p));
        }
    }
}

void World::boot_devices() {
    hub::Random offline = sim_.random_for("c2d-offline");
    for (uint32_t d = 0; d < config_.devices; ++d) {
        const hub::DeviceSpec& spec = hub_config_.devices[d];
        auto node = std::make_unique<SimNode>(sim_, net_, spec.id);
        std::optional<std::pair<int64_t, int64_t>> off;  // (from, until) ms
        if (offline.chance(1, 2)) {
            const int64_t from = offline.uniform_between(0, config_.send_window_ms);
            off = {from, from + offline.uniform_between(kOfflineMsMin, kOfflineMsMax)};
        }
        const conformance::DeviceClientConfig client_config = device_client_config(spec);
        node->boot([this, d, client_config, off](SimNode& n) {
            auto process = std::make_unique<DeviceProcess>(n, client_config);
            conformance::AmqpDeviceClient* client = &process->client;
            client->on_c2d = [this, d](const conformance::ReceivedC2d& m) { return on_c2d(d, m); };
            if (off) {
                n.schedule(Instant{Duration::millis(off->first).ns}, [client, &n] {
                    n.trace("device.offline", "");
                    client->stop();
                });
                n.schedule(Instant{Duration::millis(off->second).ns}, [client, &n] {
                    n.trace("device.online", "");
                    client->start();
                });
            }
            client->start();
            return process;
        });
        device_nodes_.push_back(std::move(node));
    }
}

void World::boot_service() {
    service_node_ = std::make_unique<SimNode>(sim_, net_, "service");
    conformance::ServiceClientConfig client_config;
    client_config.hub_address = kHubAddress;
    client_config.host_name = hub_config_.host_name;
    client_config.policy_name = "service";
    client_config.policy_key = service_key_;
    client_config.receive_feedback = true;
    client_config.reconnect = true;
    service_node_->boot([this, client_config](SimNode& n) {
        auto process = std::make_unique<ServiceProcess>(n, client_config);
        conformance::AmqpServiceClient* client = &process->client;
        client->on_sent = [this](const std::string& id, const hub::Status& s) { on_sent(id, s); };
        client->on_feedback = [this](const std::string& json) { on_feedback(json); };
        for (const auto& [id, p] : planned_) {
            conformance::C2dToSend out{device_name(p.device), id, hub::Bytes(id.begin(), id.end()),
                                       p.ack, p.expiry_utc_ms};
            n.schedule(Instant{Duration::millis(p.send_at_ms).ns},
                       [client, out = std::move(out)]() mutable { client->send(std::move(out)); });
        }
        client->start();
        return process;
    });
}

conformance::AmqpServiceClient* World::service() {
    return &static_cast<ServiceProcess*>(service_node_->process())->client;
}

void World::violation(const std::string& what) {
    if (violation_.empty()) {
        violation_ = what;
        sim_.trace("checker", "violation", what);
    }
}

C2dOutcome World::on_c2d(uint32_t device, const conformance::ReceivedC2d& m) {
    auto it = planned_.find(m.message_id);
    if (it == planned_.end() || it->second.device != device) {
        violation("FAIL: " + device_name(device) + " received message '" + m.message_id +
                  "' that the service never sent to it");
        return C2dOutcome::complete;
    }
    if (std::string(m.body.begin(), m.body.end()) != m.message_id) {
        violation("FAIL: message " + m.message_id + " reached its device with another body");
    }
    const uint32_t n = ++received_[m.message_id];
    const Planned& p = it->second;
    switch (p.plan) {
        case Plan::complete:
            return C2dOutcome::complete;
        case Plan::reject:
            return C2dOutcome::reject;
        case Plan::abandon_then_complete:
            return n <= p.abandons ? C2dOutcome::abandon : C2dOutcome::complete;
        case Plan::abandon_forever:
            return C2dOutcome::abandon;
    }
    return C2dOutcome::complete;
}

void World::on_sent(const std::string& id, const hub::Status& outcome) {
    HUB_ASSERT(planned_.contains(id));
    if (outcome.ok()) {
        accepted_.insert(id);
    } else {
        refused_.emplace(id, outcome.to_string());
    }
}

void World::on_feedback(const std::string& json) {
    ++feedback_messages_;
    const nlohmann::json parsed = nlohmann::json::parse(json, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_array()) {
        violation("FAIL: a feedback message is not a JSON array: " + json);
        return;
    }
    for (const nlohmann::json& r : parsed) {
        ++receipt_records_;
        const std::string id = r.value("originalMessageId", "");
        const std::string code = r.value("statusCode", "");
        auto it = planned_.find(id);
        const std::optional<Outcome> outcome = parse_status_code(code);
        if (it == planned_.end() || !outcome) {
            violation("FAIL: feedback names message '" + id + "' (statusCode '" + code +
                      "') that the service never sent, or an unknown status");
            continue;
        }
        if (!hub::ack_requests(it->second.ack_mode, *outcome)) {
            violation("FAIL: feedback " + code + " for " + id + " whose ack '" + it->second.ack +
                      "' does not ask for it");
        }
        if (r.value("deviceId", "") != device_name(it->second.device)) {
            violation("FAIL: feedback for " + id + " names device '" + r.value("deviceId", "") +
                      "'");
        }
        receipts_.emplace(id, code);
    }
}

// "amqp#N dev-3 c2d-3/7" from the hub's AMQP adapter as it hands a locked message out.
void World::on_trace(const simnet::TraceEvent& e) {
    if (e.node != "hub" || e.kind != "c2d.deliver") {
        return;
    }
    const size_t space = e.detail.rfind(' ');
    const std::string id = space == std::string::npos ? e.detail : e.detail.substr(space + 1);
    deliveries_.emplace_back(id, sim_.utc_epoch_ms() + e.time_ns / 1'000'000);
}

// What keeps drained() false, for the liveness verdict.
std::string World::undrained() {
    std::string text = "sends unsettled=" + std::to_string(service()->pending());
    HubProcess* process = hub_process();
    if (process == nullptr || process->hub == nullptr) {
        return text + " (hub down)";
    }
    hub::C2dQueues& c2d = process->hub->c2d();
    text += " messages pending=" + std::to_string(c2d.total_pending()) +
            " receipts unbatched=" + std::to_string(c2d.feedback().pending_receipts()) +
            " feedback messages=" + std::to_string(c2d.feedback().size());
    int listed = 0;
    for (const hub::DeviceSpec& device : hub_config_.devices) {
        for (const hub::QueuedMessage& m : c2d.messages(device.id)) {
            if (listed++ < 5) {
                text += (listed == 1 ? " (first:" : ",") + std::string(" ") + m.message.message_id +
                        " seq " + std::to_string(m.sequence_number);
            }
        }
    }
    return text + (listed > 0 ? ")" : "");
}

bool World::drained() {
    if (accepted_.size() + refused_.size() < planned_.size() || service()->pending() > 0) {
        return false;
    }
    HubProcess* process = hub_process();
    if (process == nullptr || process->hub == nullptr) {
        return false;
    }
    hub::C2dQueues& c2d = process->hub->c2d();
    return c2d.total_pending() == 0 && c2d.feedback().pending_receipts() == 0 &&
           c2d.feedback().size() == 0;
}
ScenarioResult World::run() {
    ScenarioResult result;
    std::vector<std::string> hosts;
    for (const hub::DeviceSpec& device : hub_config_.devices) hosts.push_back(device.id);
    hosts.push_back("service");
    schedule_faults(hosts);
    boot_devices();
    boot_service();
    const Instant safety_end{Duration::millis(config_.send_window_ms).ns};
    sim_.run_until([] { return false; }, safety_end);
    const Instant deadline = safety_end + Duration::millis(config_.c2d_liveness_deadline_ms);
    // Liveness: no new faults after the window; a hub still down is restarted by its timer.
    const bool live = sim_.run_until([this] { return drained(); }, deadline);
    result.hub_crashes = hub_node_->crashes();  // the nemesis's, not the checker's own below
    if (live) {
        // A few of the slowest flushes on top (disk jitter is capped at 20x its mean).
        const Duration slowest_flush =
            Duration::micros(config_.disk_latency_us + 20 * config_.disk_jitter_us);
        sim_.run_until([] { return false; }, sim_.now() + kSettleTime + slowest_flush * 4);
        result.ok = check(&result);
    } else {
        result.verdict = "FAIL: liveness: " + std::to_string(config_.c2d_liveness_deadline_ms) +
                         " ms after faults stopped: " + undrained();
        if (!violation_.empty()) {
            result.verdict += "; also " + violation_;
        }
    }
    if (result.ok) {
        result.verdict =
            "PASS: every accepted C2D message reached one allowed outcome, none was delivered "
            "after its expiry, and the feedback matches the outcomes";
    }
    result.sent = planned_.size();
    result.acknowledged = accepted_.size();
    finish(&result);
    return result;
}
}  // namespace c2d

ScenarioResult run_c2d_scenario(const ScenarioConfig& config) {
    c2d::World world(config);
    return world.run();
}

}  // namespace scenarios
