// C2D storage: the message types, the LockedQueue engine and the durable C2dStore log shared by
// the per-device cloud-to-device queues (c2d_queue.hpp) and the feedback queue (feedback.hpp).
//
// LockedQueue is the in-memory state machine of ONE queue with Azure IoT Hub's C2D semantics
// (reference §3): Enqueued -> (receive) Invisible/locked -> Completed | Dead lettered, abandon ->
// Enqueued. It is pure: it reads no clock and writes no file; time is passed in, and every
// operation returns what changed so that its owner can log it. C2D uses one per device (lock 60 s,
// depth 50); the feedback queue uses one for the whole hub (configurable lock and delivery count).
//
// C2dStore is the durable side: one RecordLog ("c2d.log") of state-change records (C2dRecord)
// for both uses. write() appends a record; after a group commit syncs the file (Disk::sync_async,
// one in flight at a time) it runs every record's `apply` callback of that commit, then every
// `done` callback, always later and never inside write(). A failed append or sync makes the store fail-stop: later writes
// fail with unavailable and the hub must restart and recover. Recovery replays the records in log
// order. Locks are never logged: after a crash every locked message is available again with its
// logged delivery count.
//
// Compaction (hub/store/compaction.hpp): the store keeps a small index of what replaying its
// log would leave (C2dLiveIndex: the live messages of both queues by sequence number with their
// delivery counts, the receipts not yet batched, the highest sequence numbers), fed by every
// record it recovers or writes. Right after a commit, with nothing appended since, when the log
// exceeds max(live_factor x live, floor) bytes, it reads the log back, copies the enqueue records
// of live messages (delivery count patched in, batching bookkeeping dropped), and adds what else
// replay needs, all in existing record kinds: pending receipts ride on abandon records that
// repeat a live message's delivery count, and a sequence-number mark (enqueue + remove of a
// message to kSequenceMarkDevice, or of a feedback message) keeps sequence numbers from going
// back after a restart. The message bodies stay only in the queues, not twice in memory; the
// price is one read of the log per compaction. A failed compaction before the file swap keeps
// the old log (retried after the log grows by the floor); after the swap it fails the store.
//
// Ownership: C2dStore borrows the Env (which must outlive it) and cancels its timers in its
// destructor. Determinism: single-threaded; ordering comes from std::map/std::set only; the
// only randomness is Env::random() (lock tokens and feedback message ids).
//
// Example:
//   std::vector<C2dRecord> records;
//   Result<std::unique_ptr<C2dStore>> store = C2dStore::open(env, C2dStoreConfig{}, &records);
//   (*store)->write(record, [](const Status&) { /* state */ }, [](const Status& s) { ack(s); });
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hub/env/env.hpp"
#include "hub/store/compaction.hpp"
#include "hub/store/record_log.hpp"

namespace hub {

// "Maximum C2D message size 64 KB" (reference §3, quotas doc); counted as body + system property
// values + application property names and values ("Size accounting", reference §3).
constexpr size_t kC2dMessageBytesMax = 64 * 1024;
// "message-id: <= 128 chars" (reference §3). Receipts carry it, so it also bounds feedback records.
constexpr size_t kC2dMessageIdBytesMax = 128;
// Generation ids are the registry's short strings; bounded so every record stays small.
constexpr size_t kGenerationIdBytesMax = 128;
// A feedback batch record, worst case: 64 receipts of bounded ids plus JSON overhead, twice
// (body and receipts), must fit one RecordLog record.
static_assert(2 * 64 * (kC2dMessageIdBytesMax + 128 + kGenerationIdBytesMax + 256) <
              store::kRecordPayloadBytesMax);
// "Maximum pending messages for delivery is 50 per device" (reference §3, 403004).
constexpr size_t kC2dQueueDepthMax = 50;
// "Lock/visibility timeout: 1 minute, not configurable" (reference §3).
constexpr Duration kC2dLockDuration = Duration::seconds(60);
// maxDeliveryCount and feedback.maxDeliveryCount: 1-100 (reference §3).
constexpr uint32_t kDeliveryCountLimitMin = 1;
constexpr uint32_t kDeliveryCountLimitMax = 100;

// The `iothub-ack` application property (reference §1.7).
enum class AckMode : uint8_t { none = 0, positive = 1, negative = 2, full = 3 };
// Parses "none" | "positive" | "negative" | "full"; an empty string is none.
Result<AckMode> parse_ack_mode(std::string_view text);
const char* ack_mode_name(AckMode mode);

// How a message left its queue. For C2D these are the feedback status codes (reference §1.7:
// Success=0, Expired=1, DeliveryCountExceeded=2, Rejected=3, Purged=4).
enum class Outcome : uint8_t {
    completed = 0,
    expired = 1,
    delivery_count_exceeded = 2,
    rejected = 3,
    purged = 4,
};
// The feedback `statusCode` string: "Success", "Expired", "DeliveryCountExceeded", ...
const char* outcome_status_code(Outcome outcome);
// positive -> Success only; negative -> every other outcome; full -> all; none -> nothing.
bool ack_requests(AckMode mode, Outcome outcome);

struct C2dMessage {
    std::string message_id;
    std::string correlation_id;
    std::string user_id;
    std::string content_type;
    std::string content_encoding;
    Bytes body;
    std::vector<std::pair<std::string, std::string>> properties;  // application properties
    AckMode ack = AckMode::none;
    // AMQP absolute-expiry-time; overrides the default TTL when set (reference §3 "Expiry").
    std::optional<int64_t> expiry_time_utc_ms;
};

// Bytes the message counts against kC2dMessageBytesMax.
size_t c2d_message_size_bytes(const C2dMessage& message);

// A message as a queue holds it: the sender's message plus what the hub assigned.
struct QueuedMessage {
    uint64_t sequence_number = 0;
    std::string device_id;             // the target device (empty in the feedback queue)
    std::string device_generation_id;  // of the target device at enqueue time
    int64_t enqueued_time_utc_ms = 0;
    int64_t expiry_time_utc_ms = 0;
    uint32_t delivery_count = 0;  // explicit abandons so far
    C2dMessage message;
};

// What receive() hands out: a copy of the message and the token that settles it.
struct LockedMessage {
    std::string lock_token;
    QueuedMessage queued;
};

// One feedback record (reference §1.7), before it is batched into a feedback message.
struct Receipt {
    std::string original_message_id;
    std::string device_id;
    std::string device_generation_id;
    int64_t enqueued_time_utc_ms = 0;  // the original message's enqueued time
    Outcome outcome = Outcome::completed;
};

// A lowercase RFC 4122 version-4 UUID string drawn from `random` (lock tokens, message ids).
std::string random_uuid(Random& random);

enum class Settle : uint8_t { complete, reject, abandon };

// A message that left a queue, with why.
struct Removed {
    QueuedMessage message;
    Outcome outcome = Outcome::completed;
};

class LockedQueue {
  public:
    struct Limits {
        size_t depth_max = kC2dQueueDepthMax;
        Duration lock_duration = kC2dLockDuration;
        uint32_t max_delivery_count = 10;
    };
    // What settle() did: `removed` is set when the message left the queue; otherwise it was
    // abandoned back to the queue with `delivery_count`.
    struct Settled {
        uint64_t sequence_number = 0;
        uint32_t delivery_count = 0;
        std::optional<Removed> removed;
    };
    // What advance() did: locks that lapsed (delivery count unchanged) and messages whose TTL
    // passed while they were available (removed, outcome expired), oldest first.
    struct Advanced {
        size_t unlocked = 0;
        std::vector<Removed> expired;
    };

    explicit LockedQueue(Limits limits);
    LockedQueue(const LockedQueue&) = delete;
    LockedQueue& operator=(const LockedQueue&) = delete;
    LockedQueue(LockedQueue&&) = default;
    LockedQueue& operator=(LockedQueue&&) = default;

    size_t size() const { return entries_.size(); }
    bool empty() const { return entries_.empty(); }
    bool full() const { return entries_.size() >= limits_.depth_max; }
    const Limits& limits() const { return limits_; }

    // Adds a message that is not yet durable: it counts against the depth but cannot be
    // received until make_available(). REQUIRES: !full(), sequence number above all present.
    void stage(QueuedMessage message);
    // The staged message became durable. False if it is gone (purged meanwhile).
    bool make_available(uint64_t sequence_number);
    // Releases lapsed locks, then removes available messages with expiry <= utc_now_ms.
    Advanced advance(Instant now, int64_t utc_now_ms);
    // Locks the oldest available message until now + lock_duration under `lock_token`.
    // REQUIRES: advance() ran at `now`; the token is unique.
    std::optional<LockedMessage> lock_oldest(Instant now, std::string lock_token);
    // Settles the message locked under `lock_token`. Errors: not_found (no such lock, or it
    // lapsed: "message-lock-lost"). Abandon increments the delivery count; at the limit the
    // message is removed with outcome delivery_count_exceeded.
    Result<Settled> settle(std::string_view lock_token, Settle how, Instant now);
    // Removes a message in any state (purge, replay, dropping). Nullopt if absent.
    std::optional<QueuedMessage> remove(uint64_t sequence_number);
    // Replay of a logged abandon. False if absent.
    bool set_delivery_count(uint64_t sequence_number, uint32_t delivery_count);

    std::optional<Instant> next_lock_deadline() const;
    std::optional<int64_t> next_expiry_utc_ms() const;
    // Every message (any state), oldest first.
    std::vector<QueuedMessage> messages() const;
    std::vector<uint64_t> sequence_numbers() const;
    bool is_locked(uint64_t sequence_number) const;

  private:
    enum class State : uint8_t { staged, available, locked };
    struct Entry {
        QueuedMessage queued;
        State state = State::staged;
        std::string lock_token;
        Instant locked_until;
    };

    void leave_state(uint64_t sequence_number, Entry& entry);
    void enter_available(uint64_t sequence_number, Entry& entry);
    void check_invariants() const;

    Limits limits_;
    std::map<uint64_t, Entry> entries_;  // by sequence number: oldest first
    std::set<uint64_t> available_;
    std::set<std::pair<int64_t, uint64_t>> expiries_;        // (expiry utc ms, seq), available
    std::set<std::pair<Instant, uint64_t>> lock_deadlines_;  // (locked until, seq), locked
    std::map<std::string, uint64_t, std::less<>> locks_;     // lock token -> seq, locked
};

// One logged state change. Which fields matter depends on `op`.
struct C2dRecord {
    enum class Op : uint8_t { enqueue = 1, remove = 2, abandon = 3, purge = 4 };
    enum class Queue : uint8_t { device = 1, feedback = 2 };

    Op op = Op::enqueue;
    Queue queue = Queue::device;
    std::string device_id;  // Queue::device
    int64_t at_utc_ms = 0;  // when the change happened
    QueuedMessage message;  // enqueue
    uint32_t receipts_consumed = 0;  // enqueue to Queue::feedback: pending receipts it batched
    uint64_t sequence_number = 0;    // remove, abandon
    Outcome outcome = Outcome::completed;  // remove
    uint32_t delivery_count = 0;           // abandon
    std::vector<uint64_t> purged;          // purge: the sequence numbers dropped
    std::vector<Receipt> receipts;         // remove, purge: feedback this change produced
};

Bytes encode_c2d_record(const C2dRecord& record);
Result<C2dRecord> decode_c2d_record(ByteView bytes);

// The device of the sequence-number mark a compaction writes (see the header comment): a space
// is not allowed in registry device ids, so no real device can collide with it.
constexpr std::string_view kSequenceMarkDevice = " sequence-mark";

// What replaying a C2D log leaves, kept without the message bodies (see the header comment).
class C2dLiveIndex {
  public:
    struct Live {
        std::string device_id;  // empty in the feedback queue
        uint32_t delivery_count = 0;
        uint64_t record_bytes = 0;  // of its enqueue record in the log
    };
    struct PendingReceipt {
        Receipt receipt;
        int64_t at_utc_ms = 0;
    };

    // Follows one record that is in the log (recovered or just appended), taking
    // `record_bytes` in it.
    void apply(const C2dRecord& record, uint64_t record_bytes);
    // Bytes the live state takes as records: what a compacted log would hold, roughly.
    uint64_t live_bytes() const;
    const std::map<uint64_t, Live>& live(C2dRecord::Queue queue) const {
        return queue == C2dRecord::Queue::device ? device_ : feedback_;
    }
    const std::deque<PendingReceipt>& pending_receipts() const { return pending_; }
    uint64_t sequence_max(C2dRecord::Queue queue) const {
        return queue == C2dRecord::Queue::device ? device_seq_max_ : feedback_seq_max_;
    }

  private:
    std::map<uint64_t, Live>& live_mutable(C2dRecord::Queue queue) {
        return queue == C2dRecord::Queue::device ? device_ : feedback_;
    }

    std::map<uint64_t, Live> device_;    // by sequence number (global across devices)
    std::map<uint64_t, Live> feedback_;  // by sequence number
    std::deque<PendingReceipt> pending_;
    uint64_t device_seq_max_ = 0;
    uint64_t feedback_seq_max_ = 0;
    uint64_t live_record_bytes_ = 0;
    uint64_t pending_bytes_ = 0;
};

struct C2dStoreConfig {
    std::string file_name = "c2d.log";
    store::CompactionPolicy compaction;
    // How long writes wait to share one sync (group commit).
    Duration group_commit_delay = Duration::millis(1);
    // A planted bug for proving the checkers: acknowledge without syncing. Tests only.
    bool planted_bug_skip_sync = false;
};

class C2dStore {
  public:
    using Callback = std::function<void(const Status&)>;

    // Recovers the log from env.disk() into *records (log order). Errors: corruption, io_error.
    static Result<std::unique_ptr<C2dStore>> open(Env& env, C2dStoreConfig config,
                                                  std::vector<C2dRecord>* records);
    ~C2dStore();
    C2dStore(const C2dStore&) = delete;
    C2dStore& operator=(const C2dStore&) = delete;

    // Appends `record`; once a commit has synced it (or failed), runs apply(status) and then
    // done(status), later, in write order. Either callback may be empty.
    void write(const C2dRecord& record, Callback apply, Callback done);
    // Runs fn later from an Env timer (for errors and notifications: never inside the call).
    void defer(std::function<void()> fn);
    bool failed() const { return failed_; }
    uint64_t records_written() const { return records_written_; }
    Env& env() { return env_; }
    // The log's size, its live state's, and how often it was compacted (tests, benchmarks).
    uint64_t log_bytes() const { return log_bytes_; }
    uint64_t live_bytes() const { return index_.live_bytes(); }
    uint64_t compactions() const { return compactions_; }

  private:
    struct Pending {
        Callback apply;
        Callback done;
    };

    C2dStore(Env& env, C2dStoreConfig config) : env_(env), config_(std::move(config)) {}
    void commit();
    void schedule_commit(Instant at);
    void finish_commit(std::vector<Pending> batch, Status status);
    void maybe_compact();
    Status compact();
    Status copy_live_records(store::CompactionWriter& writer);
    Status add_marks(store::CompactionWriter& writer);

    Env& env_;
    C2dStoreConfig config_;
    std::unique_ptr<store::RecordLog> file_;
    std::vector<Pending> pending_;
    TimerId commit_timer_ = 0;
    bool commit_scheduled_ = false;
    bool sync_in_flight_ = false;  // Disk::sync_async of a batch; acks wait for it
    uint64_t sync_id_ = 0;
    bool failed_ = false;
    uint64_t records_written_ = 0;
    C2dLiveIndex index_;
    uint64_t log_bytes_ = 0;
    uint64_t compaction_retry_bytes_ = 0;  // after a failed compaction: wait for this log size
    uint64_t compactions_ = 0;
    std::map<uint64_t, TimerId> deferred_;  // deferred calls waiting to run, by ticket
    uint64_t next_ticket_ = 0;
};

// A single Env timer that is re-armed to the earliest wanted deadline. Cancels on destruction.
class DeadlineTimer {
  public:
    explicit DeadlineTimer(Env& env) : env_(env) {}
    ~DeadlineTimer() { cancel(); }
    DeadlineTimer(const DeadlineTimer&) = delete;
    DeadlineTimer& operator=(const DeadlineTimer&) = delete;

    // Arms for `at` (replacing any earlier arming); fn runs once then.
    void arm(Instant at, std::function<void()> fn);
    void cancel();
    std::optional<Instant> armed_at() const { return armed_at_; }

  private:
    Env& env_;
    TimerId id_ = 0;
    std::optional<Instant> armed_at_;
};

// The monotonic instant at which UTC time `utc_ms` arrives, seen from now (never in the past).
Instant instant_at_utc(const Env& env, int64_t utc_ms);

}  // namespace hub
