// The C2D scenario's checker: after the run, the recovered C2D log is replayed into its enqueued
// copies, and every copy, every hand-out and every receipt is held against what the service
// sent and what its device's plan allows (c2d_world.hpp).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hub/store/record_log.hpp"
#include "scenarios/c2d_world.hpp"

namespace scenarios::c2d {

namespace {

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
}  // namespace

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
}  // namespace scenarios::c2d
