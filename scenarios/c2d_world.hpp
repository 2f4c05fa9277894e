// Internal to scenarios/: the world of the C2D scenario. c2d_scenario.cpp builds and drives it
// (devices, the service, their plans and callbacks); c2d_checker.cpp judges what it left (the
// recovered C2D log, the hand-outs the hub traced, the receipts the service got). The concept is
// in c2d_scenario.hpp. Single-threaded and deterministic, like every simulated world.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "conformance/amqp_device_client.hpp"
#include "conformance/amqp_service_client.hpp"
#include "hub/core/c2d_store.hpp"
#include "scenarios/sim_world.hpp"

namespace scenarios::c2d {

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
std::string message_id(uint32_t device, uint32_t n);
std::string device_name(uint32_t device);
// The outcome a feedback record's statusCode names, if any.
std::optional<Outcome> parse_status_code(const std::string& code);

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

}  // namespace scenarios::c2d
