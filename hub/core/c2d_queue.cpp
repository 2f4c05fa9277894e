#include "hub/core/c2d_queue.hpp"

#include "hub/core/registry.hpp"

namespace hub {

namespace {

// defaultTtlAsIso8601 bounds (reference §3).
constexpr Duration kDefaultTtlMin = Duration::seconds(60);
constexpr Duration kDefaultTtlMax = Duration::seconds(2 * 24 * 3600);

LockedQueue::Limits device_limits(const C2dConfig& config) {
    return LockedQueue::Limits{kC2dQueueDepthMax, kC2dLockDuration, config.max_delivery_count};
}

}  // namespace

Status validate_c2d_config(const C2dConfig& config) {
    if (config.default_ttl < kDefaultTtlMin || config.default_ttl > kDefaultTtlMax) {
        return Status(Code::invalid_argument, "c2d default ttl must be within 1 minute - 2 days");
    }
    if (config.max_delivery_count < kDeliveryCountLimitMin ||
        config.max_delivery_count > kDeliveryCountLimitMax) {
        return Status(Code::invalid_argument, "c2d max delivery count must be 1 - 100");
    }
    if (config.store.group_commit_delay < Duration{}) {
        return Status(Code::invalid_argument, "c2d group commit delay must not be negative");
    }
    return validate_feedback_config(config.feedback);
}

C2dQueues::C2dQueues(Env& env, C2dConfig config)
    : env_(env), config_(std::move(config)), timer_(env) {}

C2dQueues::~C2dQueues() = default;

Result<std::unique_ptr<C2dQueues>> C2dQueues::open(Env& env, C2dConfig config) {
    Status valid = validate_c2d_config(config);
    if (!valid.ok()) {
        return valid;
    }
    std::unique_ptr<C2dQueues> q(new C2dQueues(env, std::move(config)));
    std::vector<C2dRecord> records;
    Result<std::unique_ptr<C2dStore>> store = C2dStore::open(env, q->config_.store, &records);
    if (!store.ok()) {
        return store.status();
    }
    q->store_ = std::move(*store);
    q->feedback_ = std::make_unique<FeedbackQueue>(env, *q->store_, q->config_.feedback);
    for (const C2dRecord& record : records) {
        Status s = q->replay(record);
        if (!s.ok()) {
            return s;
        }
    }
    std::vector<std::string> ids;
    for (const auto& [id, device] : q->devices_) {
        ids.push_back(id);
    }
    for (const std::string& id : ids) {
        q->finish(id);  // deadlines for locks never logged and for expiries
    }
    q->feedback_->start();
    env.trace("c2d.open", "devices=" + std::to_string(q->devices_.size()) +
                              " messages=" + std::to_string(q->total_pending()));
    return q;
}

Status C2dQueues::replay(const C2dRecord& record) {
    Status s = feedback_->replay(record);
    if (!s.ok() || record.queue != C2dRecord::Queue::device) {
        return s;
    }
    if (record.device_id.empty()) {
        return Status(Code::corruption, "c2d log: device record without a device id");
    }
    s = replay_device(record);
    auto it = devices_.find(record.device_id);
    if (it != devices_.end() && it->second.queue.empty()) {
        devices_.erase(it);
    }
    return s;
}

Status C2dQueues::replay_device(const C2dRecord& record) {
    const auto bad = [](const char* what) {
        return Status(Code::corruption, std::string("c2d log: ") + what);
    };
    switch (record.op) {
        case C2dRecord::Op::enqueue: {
            const uint64_t seq = record.message.sequence_number;
            DeviceQueue& dq = device_queue(record.device_id);
            if (seq < next_sequence_number_ || dq.queue.full()) {
                return bad("enqueue out of order or beyond the queue depth");
            }
            next_sequence_number_ = seq + 1;
            dq.queue.stage(record.message);
            HUB_ASSERT(dq.queue.make_available(seq));
            return Status::ok_status();
        }
        case C2dRecord::Op::remove:
        case C2dRecord::Op::abandon:
        case C2dRecord::Op::purge: break;
    }
    auto it = devices_.find(record.device_id);
    if (it == devices_.end()) {
        return bad("change to a device without messages");
    }
    LockedQueue& queue = it->second.queue;
    if (record.op == C2dRecord::Op::remove) {
        return queue.remove(record.sequence_number).has_value() ? Status::ok_status()
                                                                : bad("removes an unknown message");
    }
    if (record.op == C2dRecord::Op::abandon) {
        return queue.set_delivery_count(record.sequence_number, record.delivery_count)
                   ? Status::ok_status()
                   : bad("abandons an unknown message");
    }
    for (uint64_t seq : record.purged) {
        if (!queue.remove(seq).has_value()) {
            return bad("purges an unknown message");
        }
    }
    return Status::ok_status();
}

C2dQueues::DeviceQueue& C2dQueues::device_queue(const std::string& device_id) {
    auto it = devices_.find(device_id);
    if (it == devices_.end()) {
        it = devices_.emplace(device_id, DeviceQueue{LockedQueue(device_limits(config_)), {}})
                 .first;
    }
    return it->second;
}

void C2dQueues::fail_later(Done done, Status status) {
    HUB_ASSERT(!status.ok());
    store_->defer([done = std::move(done), status = std::move(status)] { done(status); });
}

Status C2dQueues::check_enqueue(const std::string& device_id, const C2dMessage& message) {
    if (store_->failed()) {
        return Status(Code::unavailable, "c2d store failed; restart the hub");
    }
    if (device_id.empty() || device_id.size() > kDeviceIdBytesMax) {
        return Status(Code::invalid_argument, "device id must be 1 - 128 characters");
    }
    if (message.message_id.size() > kC2dMessageIdBytesMax) {
        return Status(Code::invalid_argument, "message id longer than 128 characters");
    }
    if (c2d_message_size_bytes(message) > kC2dMessageBytesMax) {
        return Status(Code::invalid_argument, "message exceeds 64 KB");
    }
    const std::optional<int64_t>& expiry = message.expiry_time_utc_ms;
    if (expiry.has_value() && *expiry <= env_.utc_now_ms()) {
        return Status(Code::invalid_argument,
                      "InvalidMessageExpiryTime (403009): the expiry time is in the past");
    }
    advance(device_id);  // expired messages no longer count against the depth
    auto it = devices_.find(device_id);
    if (it != devices_.end() && it->second.queue.full()) {
        return Status(Code::resource_exhausted,
                      "DeviceMaximumQueueDepthExceeded (403004): the device already has 50 "
                      "messages pending for delivery");
    }
    return Status::ok_status();
}

void C2dQueues::enqueue(const std::string& device_id, std::string device_generation_id,
                        C2dMessage message, EnqueueDone done) {
    HUB_ASSERT(device_generation_id.size() <= kGenerationIdBytesMax);
    Status refused = check_enqueue(device_id, message);
    if (!refused.ok()) {
        store_->defer([done = std::move(done), refused] { done(refused); });
        finish(device_id);
        return;
    }
    const int64_t now_ms = env_.utc_now_ms();
    C2dRecord record;
    record.op = C2dRecord::Op::enqueue;
    record.device_id = device_id;
    record.at_utc_ms = now_ms;
    QueuedMessage& queued = record.message;
    queued.sequence_number = next_sequence_number_++;
    queued.device_id = device_id;
    queued.device_generation_id = std::move(device_generation_id);
    queued.enqueued_time_utc_ms = now_ms;
    queued.expiry_time_utc_ms =
        message.expiry_time_utc_ms.value_or(now_ms + config_.default_ttl.to_millis());
    queued.message = std::move(message);
    const uint64_t seq = queued.sequence_number;
    device_queue(device_id).queue.stage(queued);
    store_->write(
        record,
        [this, device_id, seq](const Status& s) {
            auto it = devices_.find(device_id);
            if (it == devices_.end()) {
                return;  // purged before it became durable
            }
            if (!s.ok()) {
                (void)it->second.queue.remove(seq);
            } else if (it->second.queue.make_available(seq)) {
                notify(device_id);
            }
            finish(device_id);
        },
        [done = std::move(done), seq](const Status& s) {
            done(s.ok() ? Result<uint64_t>(seq) : Result<uint64_t>(s));
        });
    env_.trace("c2d.enqueue", device_id + " seq=" + std::to_string(seq));
}

std::optional<LockedMessage> C2dQueues::receive(const std::string& device_id) {
    if (store_->failed() || !devices_.contains(device_id)) {
        return std::nullopt;
    }
    advance(device_id);
    std::optional<LockedMessage> locked;
    auto it = devices_.find(device_id);
    if (it != devices_.end()) {
        locked = it->second.queue.lock_oldest(env_.now(), random_uuid(env_.random()));
    }
    finish(device_id);
    return locked;
}

void C2dQueues::complete(const std::string& device_id, std::string_view lock_token, Done done) {
    settle(device_id, lock_token, Settle::complete, std::move(done));
}

void C2dQueues::reject(const std::string& device_id, std::string_view lock_token, Done done) {
    settle(device_id, lock_token, Settle::reject, std::move(done));
}

void C2dQueues::abandon(const std::string& device_id, std::string_view lock_token, Done done) {
    settle(device_id, lock_token, Settle::abandon, std::move(done));
}

void C2dQueues::settle(const std::string& device_id, std::string_view lock_token, Settle how,
                       Done done) {
    if (store_->failed()) {
        fail_later(std::move(done), Status(Code::unavailable, "c2d store failed; restart the hub"));
        return;
    }
    advance(device_id);
    auto it = devices_.find(device_id);
    if (it == devices_.end()) {
        fail_later(std::move(done), Status(Code::not_found, "message-lock-lost: no message is "
                                                            "locked for this device"));
        return;
    }
    Result<LockedQueue::Settled> settled = it->second.queue.settle(lock_token, how, env_.now());
    if (!settled.ok()) {
        fail_later(std::move(done), settled.status());
    } else if (settled->removed.has_value()) {
        log_removal(device_id, *settled->removed, std::move(done));
    } else {
        C2dRecord record;
        record.op = C2dRecord::Op::abandon;
        record.device_id = device_id;
        record.at_utc_ms = env_.utc_now_ms();
        record.sequence_number = settled->sequence_number;
        record.delivery_count = settled->delivery_count;
        store_->write(record, nullptr, [done = std::move(done)](const Status& s) { done(s); });
        notify(device_id);
    }
    finish(device_id);
}

// Logs a message's departure with its receipt (if its ack asks for one), then hands the receipt
// to the feedback queue: the receipt is durable exactly when the departure is.
void C2dQueues::log_removal(const std::string& device_id, const Removed& removed, Done done) {
    const QueuedMessage& m = removed.message;
    C2dRecord record;
    record.op = C2dRecord::Op::remove;
    record.device_id = device_id;
    record.at_utc_ms = env_.utc_now_ms();
    record.sequence_number = m.sequence_number;
    record.outcome = removed.outcome;
    if (ack_requests(m.message.ack, removed.outcome)) {
        record.receipts.push_back(Receipt{m.message.message_id, m.device_id,
                                          m.device_generation_id, m.enqueued_time_utc_ms,
                                          removed.outcome});
    }
    C2dStore::Callback acknowledge;
    if (done) {
        acknowledge = [done = std::move(done)](const Status& s) { done(s); };
    }
    store_->write(record, nullptr, std::move(acknowledge));
    feedback_->add_receipts(record.receipts, record.at_utc_ms);
    env_.trace("c2d.removed", device_id + " seq=" + std::to_string(m.sequence_number) + " " +
                                  outcome_status_code(removed.outcome));
}

void C2dQueues::purge(const std::string& device_id, Done done) {
    if (store_->failed()) {
        fail_later(std::move(done), Status(Code::unavailable, "c2d store failed; restart the hub"));
        return;
    }
    auto it = devices_.find(device_id);
    if (it == devices_.end()) {
        store_->defer([done = std::move(done)] { done(Status::ok_status()); });
        return;
    }
    C2dRecord record;
    record.op = C2dRecord::Op::purge;
    record.device_id = device_id;
    record.at_utc_ms = env_.utc_now_ms();
    record.purged = it->second.queue.sequence_numbers();
    for (uint64_t seq : record.purged) {
        std::optional<QueuedMessage> m = it->second.queue.remove(seq);
        HUB_ASSERT(m.has_value());
        if (ack_requests(m->message.ack, Outcome::purged)) {
            record.receipts.push_back(Receipt{m->message.message_id, m->device_id,
                                              m->device_generation_id, m->enqueued_time_utc_ms,
                                              Outcome::purged});
        }
    }
    store_->write(record, nullptr, [done = std::move(done)](const Status& s) { done(s); });
    feedback_->add_receipts(record.receipts, record.at_utc_ms);
    env_.trace("c2d.purge", device_id + " messages=" + std::to_string(record.purged.size()));
    finish(device_id);
}

// Lapsed locks come back (no delivery counted); messages whose TTL passed while enqueued are
// dead-lettered with feedback Expired.
void C2dQueues::advance(const std::string& device_id) {
    auto it = devices_.find(device_id);
    if (it == devices_.end() || store_->failed()) {
        return;
    }
    LockedQueue::Advanced advanced = it->second.queue.advance(env_.now(), env_.utc_now_ms());
    for (const Removed& gone : advanced.expired) {
        log_removal(device_id, gone, nullptr);
    }
    if (advanced.unlocked > 0) {
        notify(device_id);
    }
}

// After any change to a device: drop an empty queue, refresh its deadline, re-arm the timer.
void C2dQueues::finish(const std::string& device_id) {
    auto it = devices_.find(device_id);
    if (it == devices_.end()) {
        return;
    }
    DeviceQueue& dq = it->second;
    if (dq.deadline.has_value()) {
        HUB_ASSERT(deadlines_.erase({*dq.deadline, device_id}) == 1);
        dq.deadline.reset();
    }
    if (dq.queue.empty()) {
        devices_.erase(it);
    } else {
        std::optional<Instant> next = dq.queue.next_lock_deadline();
        if (std::optional<int64_t> expiry = dq.queue.next_expiry_utc_ms()) {
            const Instant at = instant_at_utc(env_, *expiry);
            next = next.has_value() ? std::min(*next, at) : at;
        }
        if (next.has_value()) {
            dq.deadline = next;
            deadlines_.insert({*next, device_id});
        }
    }
    rearm();
}

void C2dQueues::rearm() {
    // A failed store stops all changes; a lapsed deadline would otherwise re-fire forever.
    if (deadlines_.empty() || store_->failed()) {
        timer_.cancel();
        return;
    }
    const Instant next = deadlines_.begin()->first;
    if (timer_.armed_at() != next) {
        timer_.arm(next, [this] { on_timer(); });
    }
}

void C2dQueues::on_timer() {
    std::vector<std::string> due;
    for (const auto& [at, device_id] : deadlines_) {
        if (at > env_.now()) {
            break;
        }
        due.push_back(device_id);
    }
    for (const std::string& device_id : due) {
        advance(device_id);
        finish(device_id);
    }
    rearm();
}

void C2dQueues::notify(const std::string& device_id) {
    const bool first = to_notify_.empty();
    to_notify_.insert(device_id);
    if (!first) {
        return;  // a flush is already scheduled
    }
    store_->defer([this] {
        std::set<std::string> devices = std::move(to_notify_);
        to_notify_.clear();
        for (const std::string& id : devices) {
            if (listener_) {
                listener_(id);
            }
        }
    });
}

size_t C2dQueues::pending_count(std::string_view device_id) const {
    auto it = devices_.find(device_id);
    return it == devices_.end() ? 0 : it->second.queue.size();
}

size_t C2dQueues::total_pending() const {
    size_t n = 0;
    for (const auto& [id, device] : devices_) {
        n += device.queue.size();
    }
    return n;
}

std::vector<QueuedMessage> C2dQueues::messages(std::string_view device_id) const {
    auto it = devices_.find(device_id);
    return it == devices_.end() ? std::vector<QueuedMessage>{} : it->second.queue.messages();
}

}  // namespace hub
