// FeedbackQueue: C2D delivery receipts, batched into feedback messages the service receives.
//
// Concept (reference §1.7, §3): when a C2D message leaves its device queue and its `iothub-ack`
// asks for that outcome (positive: Success; negative: Expired, DeliveryCountExceeded, Rejected,
// Purged; full: all), exactly one Receipt is produced. Receipts wait in a pending batch; a batch
// is sealed into one feedback message when it reaches 64 receipts or 15 s after its first
// receipt, whichever comes first. The body is the JSON array Azure sends:
//   [{"originalMessageId":"m1","enqueuedTimeUtc":"2026-01-01T00:00:00.000Z","statusCode":
//     "Success","description":"Success","deviceId":"d1","deviceGenerationId":"g1"}]
// with content type application/vnd.microsoft.iothub.feedback.json and UserId = the hub name.
// Feedback messages sit in one hub-wide LockedQueue with the feedback TTL, lock duration and
// max delivery count; the service receives, completes, rejects or abandons them like C2D.
//
// Durability: a receipt is part of the C2D record that removed its message (one atomic record,
// so a crash can never produce a receipt twice or lose one of a logged outcome); sealing a batch
// and every settlement of a feedback message are records in the same C2dStore. When that log
// is compacted (c2d_store.hpp), live feedback messages keep their enqueue records and the
// receipts not yet batched move, with their logged times, onto records replay already reads.
//
// Ownership: C2dQueues owns its FeedbackQueue; the Env and the C2dStore must outlive it. Timers
// are cancelled in the destructor. Determinism: single-threaded; time only from the Env; message
// ids and lock tokens from Env::random(). Callbacks never run inside the call.
//
// Example (service side):
//   if (std::optional<LockedMessage> m = hub.c2d().feedback().receive()) {
//       parse(m->queued.message.body);
//       hub.c2d().feedback().complete(m->lock_token, [](Status s) { ... });
//   }
#pragma once

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hub/core/c2d_store.hpp"

namespace hub {

// "Feedback batching: 64 records or 15 s" (reference §3).
constexpr size_t kFeedbackBatchRecordsMax = 64;
constexpr Duration kFeedbackBatchDelay = Duration::seconds(15);
// Receipts pending outside a batch: below 64 except right after a purge (up to 50 more at
// once) or a recovery that replays such a purge; sealing brings it back below 64.
constexpr size_t kFeedbackPendingMax = kFeedbackBatchRecordsMax + kC2dQueueDepthMax;
// Feedback messages kept for the service. The reference gives no limit (the feedback TTL, at
// most 2 days, bounds it in time); this bounds memory: 16384 x 64 = 1M receipts. When full,
// sealing a new batch drops the oldest one (logged with outcome purged, traced).
constexpr size_t kFeedbackQueueDepthMax = 16384;
constexpr std::string_view kFeedbackContentType = "application/vnd.microsoft.iothub.feedback.json";

// feedback.* configuration (reference §3 "Cloud-to-device configuration options").
struct FeedbackConfig {
    Duration ttl = Duration::seconds(3600);           // 1 min - 2 days
    Duration lock_duration = Duration::seconds(60);   // 5 - 300 s
    uint32_t max_delivery_count = 10;                 // 1 - 100
    std::string user_id = "localhost";                // UserId of feedback messages: the hub name
};

// Errors: invalid_argument naming the field and its bounds.
Status validate_feedback_config(const FeedbackConfig& config);

// The `description` of a receipt: "Success" for Success (reference example); the others are
// our wording [inference: the reference does not quote them].
const char* outcome_description(Outcome outcome);
// The feedback message body for `receipts` (fields in Azure's order).
std::string feedback_json(const std::vector<Receipt>& receipts);

class FeedbackQueue {
  public:
    using Done = std::function<void(Status)>;

    // REQUIRES: validate_feedback_config(config).ok(). Call replay() for each recovered record,
    // then start().
    FeedbackQueue(Env& env, C2dStore& store, FeedbackConfig config);
    ~FeedbackQueue();
    FeedbackQueue(const FeedbackQueue&) = delete;
    FeedbackQueue& operator=(const FeedbackQueue&) = delete;

    // Replays one recovered record (feedback records and receipts carried by C2D records).
    // Errors: corruption when the record does not fit the replayed state.
    Status replay(const C2dRecord& record);
    // After replay: seals what is due, arms the timers.
    void start();

    // Receipts carried by a record the caller has just written to the store (in log order).
    void add_receipts(const std::vector<Receipt>& receipts, int64_t at_utc_ms);

    // The oldest available feedback message, locked for the feedback lock duration.
    std::optional<LockedMessage> receive();
    // Errors (through done, later): not_found "message-lock-lost", unavailable.
    void complete(std::string_view lock_token, Done done);
    void reject(std::string_view lock_token, Done done);
    void abandon(std::string_view lock_token, Done done);

    size_t pending_receipts() const { return pending_.size(); }
    std::vector<Receipt> pending() const;
    size_t size() const { return queue_.size(); }
    // Every feedback message (any state), oldest first.
    std::vector<QueuedMessage> messages() const { return queue_.messages(); }
    // Runs (deferred) whenever a feedback message may have become receivable.
    void set_available_listener(std::function<void()> listener) {
        listener_ = std::move(listener);
    }

  private:
    struct PendingReceipt {
        Receipt receipt;
        int64_t added_utc_ms = 0;
    };

    Status replay_enqueue(const C2dRecord& record);
    void settle(std::string_view lock_token, Settle how, Done done);
    void seal_batch();
    void drop_oldest_batch();
    void advance();
    void rearm();
    void notify_later();

    Env& env_;
    C2dStore& store_;
    FeedbackConfig config_;
    LockedQueue queue_;
    std::deque<PendingReceipt> pending_;
    uint64_t next_sequence_number_ = 1;
    bool started_ = false;
    bool notify_scheduled_ = false;
    std::function<void()> listener_;
    DeadlineTimer batch_timer_;
    DeadlineTimer deadline_timer_;
};

}  // namespace hub
