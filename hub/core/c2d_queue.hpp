// C2dQueues: every device's cloud-to-device queue, with Azure IoT Hub's semantics (reference §3).
//
// Concept: one LockedQueue per device (a std::map keyed by device id; an empty queue is erased),
// holding at most 50 messages of at most 64 KB. A message is Enqueued once durable; receive()
// locks the oldest for 1 minute (not configurable) under a fresh lock token; complete() removes
// it, reject() dead-letters it (feedback Rejected), abandon() puts it back and counts one
// delivery; at max_delivery_count it is dead-lettered (DeliveryCountExceeded). A lapsed lock puts
// the message back WITHOUT counting a delivery. A message whose expiry passes while Enqueued is
// dead-lettered (Expired), found lazily by every call and by a timer, so feedback is produced
// even if the device never polls. A message that expires while locked can still be completed;
// it expires once it is back in the queue. purge() (device deleted) drops the device's queue
// with feedback Purged. Each outcome yields at most one Receipt, per the message's `iothub-ack`,
// into feedback() (FeedbackQueue).
//
// Durability: every state change except locking is a record in the C2dStore "c2d.log",
// group-committed; `done` runs only after the sync. open() replays the log. After a crash all
// locks are gone: every message is receivable again, with its last logged delivery count.
// Enqueued-but-not-yet-synced messages count against the 50 but are not receivable.
//
// Ownership: owns its C2dStore and FeedbackQueue; borrows the Env, which must outlive it.
// Determinism: single-threaded, time from the Env only, ordered containers only, lock tokens from
// Env::random(). Callbacks (done, listener) never run inside the call that caused them.
//
// Example:
//   Result<std::unique_ptr<C2dQueues>> c2d = C2dQueues::open(env, C2dConfig{});
//   (*c2d)->enqueue("dev1", "gen1", message, [](Result<uint64_t> seq) { ... });
//   if (std::optional<LockedMessage> m = (*c2d)->receive("dev1")) {
//       (*c2d)->complete("dev1", m->lock_token, [](Status s) { ... });
//   }
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "hub/core/c2d_store.hpp"
#include "hub/core/feedback.hpp"

namespace hub {

// The cloudToDevice options (reference §3 "Cloud-to-device configuration options").
struct C2dConfig {
    Duration default_ttl = Duration::seconds(3600);  // defaultTtlAsIso8601: 1 min - 2 days
    uint32_t max_delivery_count = 10;                // maxDeliveryCount: 1 - 100
    FeedbackConfig feedback;
    C2dStoreConfig store;
};

// Errors: invalid_argument naming the field and its bounds.
Status validate_c2d_config(const C2dConfig& config);

class C2dQueues {
  public:
    using EnqueueDone = std::function<void(Result<uint64_t>)>;  // the sequence number
    using Done = std::function<void(Status)>;
    using Listener = std::function<void(const std::string& device_id)>;

    // Validates the config and recovers the queues from env.disk().
    // Errors: invalid_argument, corruption, io_error.
    static Result<std::unique_ptr<C2dQueues>> open(Env& env, C2dConfig config);
    ~C2dQueues();
    C2dQueues(const C2dQueues&) = delete;
    C2dQueues& operator=(const C2dQueues&) = delete;

    // Queues `message` for `device_id` (REQUIRES: non-empty; the caller checked the registry).
    // `device_generation_id` goes into its receipts. done gets the sequence number once durable.
    // Errors (through done): invalid_argument "message exceeds 64 KB" or
    // "InvalidMessageExpiryTime (403009)"; resource_exhausted "DeviceMaximumQueueDepthExceeded
    // (403004)"; unavailable, io_error.
    void enqueue(const std::string& device_id, std::string device_generation_id,
                 C2dMessage message, EnqueueDone done);
    // Locks and returns the oldest receivable message, if any (nullopt also if the store failed).
    std::optional<LockedMessage> receive(const std::string& device_id);
    // Errors (through done): not_found "message-lock-lost: ..." (unknown token or lapsed lock:
    // the AMQP adapter maps it to com.microsoft:message-lock-lost), unavailable, io_error.
    void complete(const std::string& device_id, std::string_view lock_token, Done done);
    void reject(const std::string& device_id, std::string_view lock_token, Done done);
    void abandon(const std::string& device_id, std::string_view lock_token, Done done);
    // Drops every message of the device (it was deleted): feedback Purged where acks ask for it.
    void purge(const std::string& device_id, Done done);

    // Messages queued for the device in any state: the registry's cloudToDeviceMessageCount.
    size_t pending_count(std::string_view device_id) const;
    size_t total_pending() const;
    size_t device_count() const { return devices_.size(); }
    // The device's messages (any state), oldest first.
    std::vector<QueuedMessage> messages(std::string_view device_id) const;
    FeedbackQueue& feedback() { return *feedback_; }
    const C2dConfig& config() const { return config_; }
    C2dStore& store() { return *store_; }
    // Runs (deferred) for each device whose queue may have a receivable message now.
    void set_available_listener(Listener listener) { listener_ = std::move(listener); }

  private:
    struct DeviceQueue {
        LockedQueue queue;
        std::optional<Instant> deadline;  // as entered in deadlines_
    };

    C2dQueues(Env& env, C2dConfig config);
    Status replay(const C2dRecord& record);
    Status replay_device(const C2dRecord& record);
    Status check_enqueue(const std::string& device_id, const C2dMessage& message);
    void settle(const std::string& device_id, std::string_view lock_token, Settle how,
                Done done);
    DeviceQueue& device_queue(const std::string& device_id);
    void advance(const std::string& device_id);
    void log_removal(const std::string& device_id, const Removed& removed, Done done);
    void finish(const std::string& device_id);
    void rearm();
    void on_timer();
    void notify(const std::string& device_id);
    void fail_later(Done done, Status status);

    Env& env_;
    C2dConfig config_;
    std::unique_ptr<C2dStore> store_;
    std::unique_ptr<FeedbackQueue> feedback_;
    std::map<std::string, DeviceQueue, std::less<>> devices_;
    // (next lock or expiry deadline, device): one Env timer serves every device.
    std::set<std::pair<Instant, std::string>> deadlines_;
    DeadlineTimer timer_;
    uint64_t next_sequence_number_ = 1;
    std::set<std::string> to_notify_;
    Listener listener_;
};

}  // namespace hub
