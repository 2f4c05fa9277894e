#include "hub/core/feedback.hpp"
#include "hub/core/json_text.hpp"

#include <nlohmann/json.hpp>

#include "hub/core/time_format.hpp"

namespace hub {

namespace {

// Bounds of the feedback.* options (reference §3).
constexpr Duration kTtlMin = Duration::seconds(60);
constexpr Duration kTtlMax = Duration::seconds(2 * 24 * 3600);
constexpr Duration kLockMin = Duration::seconds(5);
constexpr Duration kLockMax = Duration::seconds(300);

LockedQueue::Limits feedback_limits(const FeedbackConfig& config) {
    return LockedQueue::Limits{kFeedbackQueueDepthMax, config.lock_duration,
                               config.max_delivery_count};
}

}  // namespace

Status validate_feedback_config(const FeedbackConfig& config) {
    if (config.ttl < kTtlMin || config.ttl > kTtlMax) {
        return Status(Code::invalid_argument, "feedback ttl must be within 1 minute - 2 days");
    }
    if (config.lock_duration < kLockMin || config.lock_duration > kLockMax) {
        return Status(Code::invalid_argument, "feedback lock duration must be within 5 - 300 s");
    }
    if (config.max_delivery_count < kDeliveryCountLimitMin ||
        config.max_delivery_count > kDeliveryCountLimitMax) {
        return Status(Code::invalid_argument, "feedback max delivery count must be 1 - 100");
    }
    return Status::ok_status();
}

const char* outcome_description(Outcome outcome) {
    switch (outcome) {
        case Outcome::completed: return "Success";
        case Outcome::expired: return "Message expired";
        case Outcome::delivery_count_exceeded: return "Message delivery count exceeded";
        case Outcome::rejected: return "Message rejected";
        case Outcome::purged: return "Message purged";
    }
    HUB_ASSERT(false);
    return "";
}

std::string feedback_json(const std::vector<Receipt>& receipts) {
    HUB_ASSERT(receipts.size() <= kFeedbackBatchRecordsMax);
    // ordered_json keeps Azure's field order (plain json would sort the keys).
    nlohmann::ordered_json array = nlohmann::ordered_json::array();
    for (const Receipt& r : receipts) {
        nlohmann::ordered_json item;
        item["originalMessageId"] = r.original_message_id;
        item["enqueuedTimeUtc"] = format_utc_ms(r.enqueued_time_utc_ms);
        item["statusCode"] = outcome_status_code(r.outcome);
        item["description"] = outcome_description(r.outcome);
        item["deviceId"] = r.device_id;
        item["deviceGenerationId"] = r.device_generation_id;
        array.push_back(std::move(item));
    }
    // Invalid UTF-8 in an id becomes U+FFFD instead of throwing (core never throws).
    return json_text(array);
}

FeedbackQueue::FeedbackQueue(Env& env, C2dStore& store, FeedbackConfig config)
    : env_(env),
      store_(store),
      config_(std::move(config)),
      queue_(feedback_limits(config_)),
      batch_timer_(env),
      deadline_timer_(env) {
    HUB_ASSERT(validate_feedback_config(config_).ok());
}

FeedbackQueue::~FeedbackQueue() = default;

std::vector<Receipt> FeedbackQueue::pending() const {
    std::vector<Receipt> out;
    for (const PendingReceipt& p : pending_) {
        out.push_back(p.receipt);
    }
    return out;
}

Status FeedbackQueue::replay(const C2dRecord& record) {
    HUB_ASSERT(!started_);
    for (const Receipt& receipt : record.receipts) {
        if (pending_.size() >= kFeedbackPendingMax) {
            return Status(Code::corruption, "c2d log: more pending receipts than possible");
        }
        pending_.push_back(PendingReceipt{receipt, record.at_utc_ms});
    }
    if (record.queue != C2dRecord::Queue::feedback) {
        return Status::ok_status();
    }
    switch (record.op) {
        case C2dRecord::Op::enqueue: return replay_enqueue(record);
        case C2dRecord::Op::remove:
            if (!queue_.remove(record.sequence_number).has_value()) {
                return Status(Code::corruption, "c2d log: removes an unknown feedback message");
            }
            return Status::ok_status();
        case C2dRecord::Op::abandon:
            if (!queue_.set_delivery_count(record.sequence_number, record.delivery_count)) {
                return Status(Code::corruption, "c2d log: abandons an unknown feedback message");
            }
            return Status::ok_status();
        case C2dRecord::Op::purge: break;
    }
    return Status(Code::corruption, "c2d log: purge of the feedback queue");
}

Status FeedbackQueue::replay_enqueue(const C2dRecord& record) {
    const uint64_t seq = record.message.sequence_number;
    if (seq < next_sequence_number_ || queue_.full() ||
        record.receipts_consumed > pending_.size() ||
        record.receipts_consumed > kFeedbackBatchRecordsMax) {
        return Status(Code::corruption, "c2d log: feedback batch does not fit the replayed state");
    }
    pending_.erase(pending_.begin(), pending_.begin() + record.receipts_consumed);
    next_sequence_number_ = seq + 1;
    queue_.stage(record.message);
    HUB_ASSERT(queue_.make_available(seq));
    return Status::ok_status();
}

void FeedbackQueue::start() {
    HUB_ASSERT(!started_);
    started_ = true;
    env_.trace("feedback.recovered", "messages=" + std::to_string(queue_.size()) +
                                         " pending_receipts=" + std::to_string(pending_.size()));
    // A crash may have cut the log between a C2D record and the batch it completed.
    while (pending_.size() >= kFeedbackBatchRecordsMax) {
        seal_batch();
    }
    advance();
    rearm();
    if (!queue_.empty()) {
        notify_later();
    }
}

void FeedbackQueue::add_receipts(const std::vector<Receipt>& receipts, int64_t at_utc_ms) {
    HUB_ASSERT(started_);
    if (store_.failed()) {
        return;  // the record carrying them failed too
    }
    for (const Receipt& receipt : receipts) {
        pending_.push_back(PendingReceipt{receipt, at_utc_ms});
        if (pending_.size() >= kFeedbackBatchRecordsMax) {
            seal_batch();
        }
    }
    HUB_ASSERT(pending_.size() < kFeedbackBatchRecordsMax);
    rearm();
}

void FeedbackQueue::seal_batch() {
    HUB_ASSERT(!pending_.empty());
    if (queue_.full()) {
        drop_oldest_batch();
    }
    const size_t n = std::min(pending_.size(), kFeedbackBatchRecordsMax);
    std::vector<Receipt> receipts;
    for (size_t i = 0; i < n; ++i) {
        receipts.push_back(pending_[i].receipt);
    }
    const int64_t now_ms = env_.utc_now_ms();
    C2dRecord record;
    record.op = C2dRecord::Op::enqueue;
    record.queue = C2dRecord::Queue::feedback;
    record.at_utc_ms = now_ms;
    record.receipts_consumed = static_cast<uint32_t>(n);
    QueuedMessage& batch = record.message;
    batch.sequence_number = next_sequence_number_++;
    batch.enqueued_time_utc_ms = now_ms;
    batch.expiry_time_utc_ms = now_ms + config_.ttl.to_millis();
    batch.message.message_id = random_uuid(env_.random());
    batch.message.user_id = config_.user_id;
    batch.message.content_type = std::string(kFeedbackContentType);
    const std::string body = feedback_json(receipts);
    batch.message.body.assign(body.begin(), body.end());
    const uint64_t seq = batch.sequence_number;
    queue_.stage(batch);
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
    env_.trace("feedback.batch", "seq=" + std::to_string(seq) + " receipts=" + std::to_string(n));
    // Receivable once durable, like a C2D message.
    store_.write(record, [this, seq](const Status& s) {
        if (s.ok() && queue_.make_available(seq)) {
            notify_later();
            rearm();
        }
    }, nullptr);
}

void FeedbackQueue::drop_oldest_batch() {
    const uint64_t oldest = queue_.sequence_numbers().front();
    HUB_ASSERT(queue_.remove(oldest).has_value());
    env_.trace("feedback.dropped", "seq=" + std::to_string(oldest) + " (queue full)");
    C2dRecord record;
    record.op = C2dRecord::Op::remove;
    record.queue = C2dRecord::Queue::feedback;
    record.at_utc_ms = env_.utc_now_ms();
    record.sequence_number = oldest;
    record.outcome = Outcome::purged;
    store_.write(record, nullptr, nullptr);
}

// Lapsed locks come back; expired feedback messages are dropped (logged, no receipts).
void FeedbackQueue::advance() {
    if (store_.failed()) {
        return;
    }
    LockedQueue::Advanced advanced = queue_.advance(env_.now(), env_.utc_now_ms());
    for (const Removed& gone : advanced.expired) {
        C2dRecord record;
        record.op = C2dRecord::Op::remove;
        record.queue = C2dRecord::Queue::feedback;
        record.at_utc_ms = env_.utc_now_ms();
        record.sequence_number = gone.message.sequence_number;
        record.outcome = Outcome::expired;
        store_.write(record, nullptr, nullptr);
    }
    if (advanced.unlocked > 0) {
        notify_later();
    }
}

void FeedbackQueue::rearm() {
    if (!started_) {
        return;
    }
    if (store_.failed()) {  // fail-stop: nothing may change until the hub restarts
        batch_timer_.cancel();
        deadline_timer_.cancel();
        return;
    }
    if (pending_.empty()) {
        batch_timer_.cancel();
    } else {
        const int64_t due = pending_.front().added_utc_ms + kFeedbackBatchDelay.to_millis();
        const Instant at = instant_at_utc(env_, due);
        if (batch_timer_.armed_at() != at) {
            batch_timer_.arm(at, [this] {
                // Seal only batches whose first receipt is 15 s old (the clock may have lagged).
                while (!pending_.empty() &&
                       pending_.front().added_utc_ms + kFeedbackBatchDelay.to_millis() <=
                           env_.utc_now_ms()) {
                    seal_batch();
                }
                rearm();
            });
        }
    }
    std::optional<Instant> next = queue_.next_lock_deadline();
    if (std::optional<int64_t> expiry = queue_.next_expiry_utc_ms()) {
        const Instant at = instant_at_utc(env_, *expiry);
        next = next.has_value() ? std::min(*next, at) : at;
    }
    if (!next.has_value()) {
        deadline_timer_.cancel();
    } else if (deadline_timer_.armed_at() != next) {
        deadline_timer_.arm(*next, [this] {
            advance();
            rearm();
        });
    }
}

void FeedbackQueue::notify_later() {
    if (notify_scheduled_) {
        return;
    }
    notify_scheduled_ = true;
    store_.defer([this] {
        notify_scheduled_ = false;
        if (listener_) {
            listener_();
        }
    });
}

std::optional<LockedMessage> FeedbackQueue::receive() {
    HUB_ASSERT(started_);
    if (store_.failed()) {
        return std::nullopt;
    }
    advance();
    std::optional<LockedMessage> locked =
        queue_.lock_oldest(env_.now(), random_uuid(env_.random()));
    rearm();
    return locked;
}

void FeedbackQueue::complete(std::string_view lock_token, Done done) {
    settle(lock_token, Settle::complete, std::move(done));
}

void FeedbackQueue::reject(std::string_view lock_token, Done done) {
    settle(lock_token, Settle::reject, std::move(done));
}

void FeedbackQueue::abandon(std::string_view lock_token, Done done) {
    settle(lock_token, Settle::abandon, std::move(done));
}

void FeedbackQueue::settle(std::string_view lock_token, Settle how, Done done) {
    HUB_ASSERT(started_);
    if (store_.failed()) {
        store_.defer([done = std::move(done)] {
            done(Status(Code::unavailable, "c2d store failed; restart the hub"));
        });
        return;
    }
    advance();
    Result<LockedQueue::Settled> settled = queue_.settle(lock_token, how, env_.now());
    if (!settled.ok()) {
        store_.defer([done = std::move(done), status = settled.status()] { done(status); });
        return;
    }
    C2dRecord record;
    record.queue = C2dRecord::Queue::feedback;
    record.at_utc_ms = env_.utc_now_ms();
    record.sequence_number = settled->sequence_number;
    if (settled->removed.has_value()) {
        record.op = C2dRecord::Op::remove;
        record.outcome = settled->removed->outcome;
    } else {
        record.op = C2dRecord::Op::abandon;
        record.delivery_count = settled->delivery_count;
        notify_later();
    }
    store_.write(record, nullptr, [done = std::move(done)](const Status& s) { done(s); });
    rearm();
}

}  // namespace hub
