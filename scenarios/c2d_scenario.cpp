#include "scenarios/c2d_scenario.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "conformance/amqp_device_client.hpp"
#include "conformance/amqp_service_client.hpp"
#include "hub/core/c2d_store.hpp"
#include "hub/store/record_log.hpp"
#include "scenarios/sim_world.hpp"

namespace scenarios {

namespace {

using conformance::C2dOutcome;
using hub::Instant;
using hub::Outcome;
using simnet::SimNode;

// How a device settles one message, every time it gets it.
enum class Plan : uint8_t { complete, reject, abandon_then_complete, abandon_forever };

struct Planned {
    uint32_t device = 0;
    std::string ack;  // as sent; empty: no iothub-ack property (ack none)
    hub::AckMode ack_mode = hub::AckMode::none;
    std::optional<int64_t> expiry_utc_ms;  // nullopt: the hub's default TTL
    Plan plan = Plan::complete;
    uint32_t abandons = 0;  // abandon_then_complete: abandons before the completion
    int64_t send_at_ms = 0;
};

// One enqueued copy of a message in the recovered log (a resend can make two).
struct Copy {
    std::string device_id;
    std::string message_id;
    hub::AckMode ack = hub::AckMode::none;
    int64_t enqueued_utc_ms = 0;
    int64_t expiry_utc_ms = 0;
    std::optional<Outcome> outcome;
    int64_t removed_utc_ms = 0;
    uint32_t delivery_count = 0;  // of its last abandon record (explicit abandons so far)
};

// The hub's max delivery count (C2dConfig default, reference §3): the 10th abandon dead-letters.
constexpr uint32_t kDeliveryCountMax = 10;
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

bool plan_allows(Plan plan, Outcome outcome) {
    switch (outcome) {
        case Outcome::completed:
            return plan == Plan::complete || plan == Plan::abandon_then_complete;
        case Outcome::rejected:
            return plan == Plan::reject;
        case Outcome::delivery_count_exceeded:
            return plan == Plan::abandon_forever;
        case Outcome::expired:
            return true;  // any message can expire before its settlement
        case Outcome::purged:
            return false;  // no device is deleted here
    }
    return false;
}

class World : public SimWorld {
  public:
    explicit World(const ScenarioConfig& config);
    ScenarioResult run();

  private:
    void plan_messages();
    void boot_devices();
    void boot_service();
    C2dOutcome on_c2d(uint32_t device, const conformance::ReceivedC2d& m);
    void on_sent(const std::string& id, const hub::Status& outcome);
    void on_feedback(const std::string& json);
    void on_trace(const simnet::TraceEvent& e);
    bool drained();
    std::string undrained();
    void violation(const std::string& what);
    bool read_log(std::map<uint64_t, Copy>* copies, std::string* verdict);
    bool check_copy(uint64_t seq, const Copy& copy, std::string* verdict);
    bool check_copies(const std::map<uint64_t, Copy>& copies, std::string* verdict);
    bool check_deliveries(const std::map<uint64_t, Copy>& copies, std::string* verdict);
    bool check_feedback(const std::map<uint64_t, Copy>& copies, std::string* verdict);
    bool check(ScenarioResult* result);
    void report(const std::map<uint64_t, Copy>& copies, ScenarioResult* result);
    conformance::AmqpServiceClient* service();

    std::map<std::string, Planned> planned_;
    std::set<std::string> accepted_;
    std::map<std::string, std::string> refused_;               // id -> why
    std::map<std::string, uint32_t> received_;                 // id -> deliveries to the device
    std::vector<std::pair<std::string, int64_t>> deliveries_;  // hub c2d.deliver: id, utc ms
    std::set<std::pair<std::string, std::string>> receipts_;   // (id, statusCode), deduplicated
    uint64_t feedback_messages_ = 0;
    uint64_t receipt_records_ = 0;
    std::string violation_;  // the first one the streaming checks saw
    std::string service_key_;
    std::vector<std::unique_ptr<SimNode>> device_nodes_;
    std::unique_ptr<SimNode> service_node_;
};

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

// Replays the recovered C2D log (device queues only) into its copies, by sequence number.
bool World::read_log(std::map<uint64_t, Copy>* copies, std::string* verdict) {
    hub::store::RecordLog log(hub_node_->disk(), hub_config_.c2d.store.file_name);
    hub::Result<std::vector<hub::Bytes>> records = log.recover();
    if (!records.ok()) {
        *verdict = "FAIL: the C2D log does not read back: " + records.status().to_string();
        return false;
    }
    for (const hub::Bytes& bytes : *records) {
        hub::Result<hub::C2dRecord> r = hub::decode_c2d_record(bytes);
        if (!r.ok()) {
            *verdict = "FAIL: a C2D log record does not decode: " + r.status().to_string();
            return false;
        }
        if (r->queue != hub::C2dRecord::Queue::device) {
            continue;
        }
        if (r->op == hub::C2dRecord::Op::enqueue) {
            const hub::QueuedMessage& m = r->message;
            Copy& copy = (*copies)[m.sequence_number];
            copy.device_id = m.device_id;
            copy.message_id = m.message.message_id;
            copy.ack = m.message.ack;
            copy.enqueued_utc_ms = m.enqueued_time_utc_ms;
            copy.expiry_utc_ms = m.expiry_time_utc_ms;
        } else if (r->op == hub::C2dRecord::Op::remove) {
            auto it = copies->find(r->sequence_number);
            if (it == copies->end() || it->second.outcome) {
                *verdict = "FAIL: the C2D log removes seq " + std::to_string(r->sequence_number) +
                           " that is not enqueued (or a second time)";
                return false;
            }
            it->second.outcome = r->outcome;
            it->second.removed_utc_ms = r->at_utc_ms;
        } else if (r->op == hub::C2dRecord::Op::abandon) {
            // Lost records are only ever a tail (a crash drops unsynced bytes), so the durable
            // abandons of a copy count 1, 2, 3... with no gap and no repeat.
            auto it = copies->find(r->sequence_number);
            if (it == copies->end() || it->second.outcome ||
                r->delivery_count != it->second.delivery_count + 1) {
                *verdict = "FAIL: the C2D log abandons seq " + std::to_string(r->sequence_number) +
                           " with delivery count " + std::to_string(r->delivery_count) +
                           " (not enqueued, removed, or not the next count)";
                return false;
            }
            it->second.delivery_count = r->delivery_count;
        } else if (r->op == hub::C2dRecord::Op::purge) {
            *verdict = "FAIL: the C2D log purges " + r->device_id + ", which nobody deleted";
            return false;
        }
    }
    return true;
}

// One copy against what the service sent and what its device's plan allows.
bool World::check_copy(uint64_t seq, const Copy& c, std::string* verdict) {
    const std::string name = c.message_id + " (seq " + std::to_string(seq) + ")";
    auto it = planned_.find(c.message_id);
    if (it == planned_.end() || device_name(it->second.device) != c.device_id) {
        *verdict = "FAIL: the hub enqueued " + name + " for '" + c.device_id +
                   "', which the service never sent";
        return false;
    }
    const Planned& p = it->second;
    const int64_t expiry =
        p.expiry_utc_ms.value_or(c.enqueued_utc_ms + hub_config_.c2d.default_ttl.to_millis());
    if (c.ack != p.ack_mode || c.expiry_utc_ms != expiry) {
        *verdict = "FAIL: the hub enqueued " + name + " with another ack or expiry than sent";
        return false;
    }
    if (!c.outcome) {
        *verdict = "FAIL: " + name + " has no final outcome " +
                   std::to_string(config_.c2d_liveness_deadline_ms) + " ms after faults stopped";
        return false;
    }
    if (!plan_allows(p.plan, *c.outcome)) {
        *verdict = "FAIL: " + name + " ended " + hub::outcome_status_code(*c.outcome) +
                   ", which its device's settlements do not allow";
        return false;
    }
    // The device abandons only by its plan; the hub dead-letters at its max delivery count.
    const uint32_t abandons_max = p.plan == Plan::abandon_forever         ? kDeliveryCountMax - 1
                                  : p.plan == Plan::abandon_then_complete ? p.abandons
                                                                          : 0;
    if (c.delivery_count > abandons_max || (*c.outcome == Outcome::delivery_count_exceeded &&
                                            c.delivery_count != kDeliveryCountMax - 1)) {
        *verdict = "FAIL: " + name + " ended " + hub::outcome_status_code(*c.outcome) + " after " +
                   std::to_string(c.delivery_count) + " logged abandons";
        return false;
    }
    if (*c.outcome == Outcome::expired && c.removed_utc_ms < c.expiry_utc_ms) {
        *verdict = "FAIL: " + name + " expired at " + std::to_string(c.removed_utc_ms) +
                   ", before its expiry " + std::to_string(c.expiry_utc_ms);
        return false;
    }
    return true;
}

bool World::check_copies(const std::map<uint64_t, Copy>& copies, std::string* verdict) {
    std::set<std::string> logged;
    for (const auto& [seq, copy] : copies) {
        if (!check_copy(seq, copy, verdict)) {
            return false;
        }
        logged.insert(copy.message_id);
    }
    for (const std::string& id : accepted_) {
        if (!logged.contains(id)) {
            *verdict = "FAIL: message " + id +
                       " the hub accepted from the service is missing from its recovered log";
            return false;
        }
    }
    return true;
}

// Every hand-out of a message to a device came before the expiry of a copy of it.
bool World::check_deliveries(const std::map<uint64_t, Copy>& copies, std::string* verdict) {
    std::map<std::string, int64_t> expiry_max;  // id -> latest expiry over its copies
    for (const auto& [seq, copy] : copies) {
        int64_t& e = expiry_max[copy.message_id];
        e = std::max(e, copy.expiry_utc_ms);
    }
    for (const auto& [id, utc_ms] : deliveries_) {
        auto it = expiry_max.find(id);
        if (it == expiry_max.end()) {
            *verdict = "FAIL: the hub delivered " + id + ", which its recovered log never held";
            return false;
        }
        if (utc_ms >= it->second) {
            *verdict = "FAIL: the hub delivered " + id + " at utc " + std::to_string(utc_ms) +
                       " ms, at or after its expiry " + std::to_string(it->second);
            return false;
        }
    }
    return true;
}

// The receipts the service got (deduplicated) are exactly those the logged outcomes ask for.
bool World::check_feedback(const std::map<uint64_t, Copy>& copies, std::string* verdict) {
    std::set<std::pair<std::string, std::string>> expected;
    for (const auto& [seq, copy] : copies) {
        if (copy.outcome && hub::ack_requests(copy.ack, *copy.outcome)) {
            expected.emplace(copy.message_id, hub::outcome_status_code(*copy.outcome));
        }
    }
    for (const auto& [id, code] : expected) {
        if (!receipts_.contains({id, code})) {
            *verdict = "FAIL: the service never got feedback " + code + " for " + id;
            return false;
        }
    }
    for (const auto& [id, code] : receipts_) {
        if (!expected.contains({id, code})) {
            *verdict = "FAIL: the service got feedback " + code + " for " + id +
                       ", an outcome no logged copy of it had";
            return false;
        }
    }
    return true;
}

void World::report(const std::map<uint64_t, Copy>& copies, ScenarioResult* result) {
    std::map<std::string, uint64_t> outcomes;
    for (const auto& [seq, copy] : copies) {
        ++outcomes[copy.outcome ? hub::outcome_status_code(*copy.outcome) : "pending"];
    }
    std::string text = "copies=" + std::to_string(copies.size());
    for (const auto& [name, n] : outcomes) {
        text += " " + name + "=" + std::to_string(n);
    }
    text += " refused=" + std::to_string(refused_.size()) +
            " deliveries=" + std::to_string(deliveries_.size()) +
            " feedback_messages=" + std::to_string(feedback_messages_) +
            " receipts=" + std::to_string(receipt_records_) + " (distinct " +
            std::to_string(receipts_.size()) + ")";
    if (service_node_->running()) {
        text += " service_connects=" + std::to_string(service()->connects());
    }
    result->c2d_report = text;
    result->in_log = copies.size();
}

bool World::check(ScenarioResult* result) {
    HubProcess* process = recover_hub(&result->verdict);
    if (process == nullptr) {
        return false;
    }
    std::map<uint64_t, Copy> copies;
    if (!read_log(&copies, &result->verdict)) {
        return false;
    }
    report(copies, result);
    if (!violation_.empty()) {
        result->verdict = violation_;
        return false;
    }
    return check_copies(copies, &result->verdict) && check_deliveries(copies, &result->verdict) &&
           check_feedback(copies, &result->verdict);
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

}  // namespace

ScenarioResult run_c2d_scenario(const ScenarioConfig& config) {
    World world(config);
    return world.run();
}

}  // namespace scenarios
