#include "hub/core/c2d_store.hpp"

#include <algorithm>
#include <cstdio>

#include "hub/store/codec.hpp"

namespace hub {

namespace {

// Decoding bounds: a corrupt count must not ask for unbounded memory. Properties are bounded
// by the 64 KB size accounting; purge lists by the queue depth; receipts by a purge.
constexpr uint32_t kRecordPropertiesMax = 1024;
constexpr uint32_t kRecordListMax = 4096;
// Pending receipts per abandon record that carries them into a compacted log: one feedback
// batch's worth, so a record stays far below kRecordPayloadBytesMax (see the static_assert in
// the header for the size of 64 receipts).
constexpr size_t kReceiptsPerMarkRecordMax = 64;
static_assert(kReceiptsPerMarkRecordMax <= kRecordListMax);
// What the sequence-number marks of a compacted log take, at most (two small records each).
constexpr uint64_t kMarkRecordsBytes = 4 * store::record_bytes(128);

}  // namespace

Result<AckMode> parse_ack_mode(std::string_view text) {
    if (text.empty() || text == "none") {
        return AckMode::none;
    }
    if (text == "positive") {
        return AckMode::positive;
    }
    if (text == "negative") {
        return AckMode::negative;
    }
    if (text == "full") {
        return AckMode::full;
    }
    return Status(Code::invalid_argument, "iothub-ack must be none, positive, negative or full");
}

const char* ack_mode_name(AckMode mode) {
    switch (mode) {
        case AckMode::none: return "none";
        case AckMode::positive: return "positive";
        case AckMode::negative: return "negative";
        case AckMode::full: return "full";
    }
    HUB_ASSERT(false);
    return "";
}

const char* outcome_status_code(Outcome outcome) {
    switch (outcome) {
        case Outcome::completed: return "Success";
        case Outcome::expired: return "Expired";
        case Outcome::delivery_count_exceeded: return "DeliveryCountExceeded";
        case Outcome::rejected: return "Rejected";
        case Outcome::purged: return "Purged";
    }
    HUB_ASSERT(false);
    return "";
}

bool ack_requests(AckMode mode, Outcome outcome) {
    switch (mode) {
        case AckMode::none: return false;
        case AckMode::positive: return outcome == Outcome::completed;
        case AckMode::negative: return outcome != Outcome::completed;
        case AckMode::full: return true;
    }
    HUB_ASSERT(false);
    return false;
}

size_t c2d_message_size_bytes(const C2dMessage& m) {
    size_t n = m.body.size() + m.message_id.size() + m.correlation_id.size() + m.user_id.size() +
               m.content_type.size() + m.content_encoding.size();
    for (const auto& [key, value] : m.properties) {
        n += key.size() + value.size();
    }
    return n;
}

std::string random_uuid(Random& random) {
    const uint64_t hi = (random.next_u64() & ~0xF000ULL) | 0x4000ULL;  // version 4
    const uint64_t lo = (random.next_u64() & ~(0x3ULL << 62)) | (0x2ULL << 62);  // variant 10
    char text[37];
    std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx",
                  static_cast<unsigned>(hi >> 32), static_cast<unsigned>((hi >> 16) & 0xFFFF),
                  static_cast<unsigned>(hi & 0xFFFF), static_cast<unsigned>(lo >> 48),
                  static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
    return std::string(text, 36);
}

// ---------------------------------------------------------------------------------------------
// LockedQueue

LockedQueue::LockedQueue(Limits limits) : limits_(limits) {
    HUB_ASSERT(limits_.depth_max > 0);
    HUB_ASSERT(limits_.lock_duration > Duration{});
    HUB_ASSERT(limits_.max_delivery_count >= kDeliveryCountLimitMin);
    HUB_ASSERT(limits_.max_delivery_count <= kDeliveryCountLimitMax);
}

void LockedQueue::check_invariants() const {
    HUB_ASSERT(entries_.size() <= limits_.depth_max);
    HUB_ASSERT(available_.size() == expiries_.size());
    HUB_ASSERT(locks_.size() == lock_deadlines_.size());
    HUB_ASSERT(available_.size() + locks_.size() <= entries_.size());
}

void LockedQueue::leave_state(uint64_t seq, Entry& entry) {
    switch (entry.state) {
        case State::staged: break;
        case State::available:
            HUB_ASSERT(available_.erase(seq) == 1);
            HUB_ASSERT(expiries_.erase({entry.queued.expiry_time_utc_ms, seq}) == 1);
            break;
        case State::locked:
            HUB_ASSERT(locks_.erase(entry.lock_token) == 1);
            HUB_ASSERT(lock_deadlines_.erase({entry.locked_until, seq}) == 1);
            entry.lock_token.clear();
            break;
    }
    entry.state = State::staged;
}

void LockedQueue::enter_available(uint64_t seq, Entry& entry) {
    HUB_ASSERT(entry.state == State::staged);
    entry.state = State::available;
    HUB_ASSERT(available_.insert(seq).second);
    HUB_ASSERT(expiries_.insert({entry.queued.expiry_time_utc_ms, seq}).second);
}

void LockedQueue::stage(QueuedMessage message) {
    HUB_ASSERT(!full());
    HUB_ASSERT(entries_.empty() || entries_.rbegin()->first < message.sequence_number);
    const uint64_t seq = message.sequence_number;
    entries_.emplace(seq, Entry{std::move(message), State::staged, {}, {}});
    check_invariants();
}

bool LockedQueue::make_available(uint64_t seq) {
    auto it = entries_.find(seq);
    if (it == entries_.end()) {
        return false;
    }
    enter_available(seq, it->second);
    check_invariants();
    return true;
}

LockedQueue::Advanced LockedQueue::advance(Instant now, int64_t utc_now_ms) {
    Advanced out;
    // Lock expiry re-enqueues WITHOUT touching the delivery count (reference §3).
    while (!lock_deadlines_.empty() && lock_deadlines_.begin()->first <= now) {
        const uint64_t seq = lock_deadlines_.begin()->second;
        Entry& entry = entries_.at(seq);
        leave_state(seq, entry);
        enter_available(seq, entry);
        ++out.unlocked;
    }
    while (!expiries_.empty() && expiries_.begin()->first <= utc_now_ms) {
        const uint64_t seq = expiries_.begin()->second;
        std::optional<QueuedMessage> gone = remove(seq);
        HUB_ASSERT(gone.has_value());
        out.expired.push_back(Removed{std::move(*gone), Outcome::expired});
    }
    check_invariants();
    return out;
}

std::optional<LockedMessage> LockedQueue::lock_oldest(Instant now, std::string lock_token) {
    HUB_ASSERT(lock_deadlines_.empty() || lock_deadlines_.begin()->first > now);
    if (available_.empty()) {
        return std::nullopt;
    }
    const uint64_t seq = *available_.begin();
    Entry& entry = entries_.at(seq);
    leave_state(seq, entry);
    entry.state = State::locked;
    entry.lock_token = lock_token;
    entry.locked_until = now + limits_.lock_duration;
    HUB_ASSERT(locks_.emplace(lock_token, seq).second);
    HUB_ASSERT(lock_deadlines_.insert({entry.locked_until, seq}).second);
    check_invariants();
    return LockedMessage{std::move(lock_token), entry.queued};
}

Result<LockedQueue::Settled> LockedQueue::settle(std::string_view lock_token, Settle how,
                                                 Instant now) {
    auto lock = locks_.find(lock_token);
    if (lock == locks_.end() || entries_.at(lock->second).locked_until <= now) {
        return Status(Code::not_found,
                      "message-lock-lost: the lock token is unknown or its lock expired");
    }
    const uint64_t seq = lock->second;
    Entry& entry = entries_.at(seq);
    HUB_ASSERT(entry.state == State::locked);
    Settled out;
    out.sequence_number = seq;
    if (how == Settle::abandon) {
        // Only an explicit abandon counts a delivery (reference §3).
        out.delivery_count = ++entry.queued.delivery_count;
        if (out.delivery_count < limits_.max_delivery_count) {
            leave_state(seq, entry);
            enter_available(seq, entry);
            check_invariants();
            return out;
        }
    }
    const Outcome outcome = how == Settle::complete  ? Outcome::completed
                            : how == Settle::reject ? Outcome::rejected
                                                    : Outcome::delivery_count_exceeded;
    std::optional<QueuedMessage> gone = remove(seq);
    HUB_ASSERT(gone.has_value());
    out.delivery_count = gone->delivery_count;
    out.removed = Removed{std::move(*gone), outcome};
    return out;
}

std::optional<QueuedMessage> LockedQueue::remove(uint64_t seq) {
    auto it = entries_.find(seq);
    if (it == entries_.end()) {
        return std::nullopt;
    }
    leave_state(seq, it->second);
    QueuedMessage queued = std::move(it->second.queued);
    entries_.erase(it);
    check_invariants();
    return queued;
}

bool LockedQueue::set_delivery_count(uint64_t seq, uint32_t delivery_count) {
    auto it = entries_.find(seq);
    if (it == entries_.end()) {
        return false;
    }
    it->second.queued.delivery_count = delivery_count;
    return true;
}

std::optional<Instant> LockedQueue::next_lock_deadline() const {
    if (lock_deadlines_.empty()) {
        return std::nullopt;
    }
    return lock_deadlines_.begin()->first;
}

std::optional<int64_t> LockedQueue::next_expiry_utc_ms() const {
    if (expiries_.empty()) {
        return std::nullopt;
    }
    return expiries_.begin()->first;
}

std::vector<QueuedMessage> LockedQueue::messages() const {
    std::vector<QueuedMessage> out;
    out.reserve(entries_.size());
    for (const auto& [seq, entry] : entries_) {
        out.push_back(entry.queued);
    }
    return out;
}

std::vector<uint64_t> LockedQueue::sequence_numbers() const {
    std::vector<uint64_t> out;
    out.reserve(entries_.size());
    for (const auto& [seq, entry] : entries_) {
        out.push_back(seq);
    }
    return out;
}

bool LockedQueue::is_locked(uint64_t seq) const {
    auto it = entries_.find(seq);
    return it != entries_.end() && it->second.state == State::locked;
}

// ---------------------------------------------------------------------------------------------
// Record codec

namespace {

void put_message(store::Writer& w, const QueuedMessage& q) {
    w.u64(q.sequence_number);
    w.str(q.device_id);
    w.str(q.device_generation_id);
    w.i64(q.enqueued_time_utc_ms);
    w.i64(q.expiry_time_utc_ms);
    w.u32(q.delivery_count);
    const C2dMessage& m = q.message;
    w.str(m.message_id);
    w.str(m.correlation_id);
    w.str(m.user_id);
    w.str(m.content_type);
    w.str(m.content_encoding);
    w.str(std::string_view(reinterpret_cast<const char*>(m.body.data()), m.body.size()));
    w.u32(static_cast<uint32_t>(m.ack));
    w.u32(m.expiry_time_utc_ms.has_value() ? 1 : 0);
    w.i64(m.expiry_time_utc_ms.value_or(0));
    w.u32(static_cast<uint32_t>(m.properties.size()));
    for (const auto& [key, value] : m.properties) {
        w.str(key);
        w.str(value);
    }
}

bool get_message(store::Reader& r, QueuedMessage* q) {
    q->sequence_number = r.u64();
    q->device_id = r.str();
    q->device_generation_id = r.str();
    q->enqueued_time_utc_ms = r.i64();
    q->expiry_time_utc_ms = r.i64();
    q->delivery_count = r.u32();
    C2dMessage& m = q->message;
    m.message_id = r.str();
    m.correlation_id = r.str();
    m.user_id = r.str();
    m.content_type = r.str();
    m.content_encoding = r.str();
    const std::string body = r.str();
    m.body.assign(body.begin(), body.end());
    const uint32_t ack = r.u32();
    const uint32_t has_expiry = r.u32();
    const int64_t expiry = r.i64();
    if (ack > static_cast<uint32_t>(AckMode::full) || has_expiry > 1) {
        return false;
    }
    m.ack = static_cast<AckMode>(ack);
    if (has_expiry == 1) {
        m.expiry_time_utc_ms = expiry;
    }
    const uint32_t count = r.u32();
    if (count > kRecordPropertiesMax) {
        return false;
    }
    for (uint32_t i = 0; i < count && r.ok(); ++i) {
        std::string key = r.str();
        std::string value = r.str();
        m.properties.emplace_back(std::move(key), std::move(value));
    }
    return r.ok();
}

void put_receipt(store::Writer& w, const Receipt& receipt) {
    w.str(receipt.original_message_id);
    w.str(receipt.device_id);
    w.str(receipt.device_generation_id);
    w.i64(receipt.enqueued_time_utc_ms);
    w.u32(static_cast<uint32_t>(receipt.outcome));
}

bool get_receipt(store::Reader& r, Receipt* receipt) {
    receipt->original_message_id = r.str();
    receipt->device_id = r.str();
    receipt->device_generation_id = r.str();
    receipt->enqueued_time_utc_ms = r.i64();
    const uint32_t outcome = r.u32();
    if (outcome > static_cast<uint32_t>(Outcome::purged)) {
        return false;
    }
    receipt->outcome = static_cast<Outcome>(outcome);
    return r.ok();
}

}  // namespace

Bytes encode_c2d_record(const C2dRecord& record) {
    HUB_ASSERT(record.purged.size() <= kRecordListMax);
    HUB_ASSERT(record.receipts.size() <= kRecordListMax);
    store::Writer w;
    w.u32(static_cast<uint32_t>(record.op));
    w.u32(static_cast<uint32_t>(record.queue));
    w.str(record.device_id);
    w.i64(record.at_utc_ms);
    switch (record.op) {
        case C2dRecord::Op::enqueue:
            put_message(w, record.message);
            w.u32(record.receipts_consumed);
            break;
        case C2dRecord::Op::remove:
            w.u64(record.sequence_number);
            w.u32(static_cast<uint32_t>(record.outcome));
            break;
        case C2dRecord::Op::abandon:
            w.u64(record.sequence_number);
            w.u32(record.delivery_count);
            break;
        case C2dRecord::Op::purge:
            w.u32(static_cast<uint32_t>(record.purged.size()));
            for (uint64_t seq : record.purged) {
                w.u64(seq);
            }
            break;
    }
    w.u32(static_cast<uint32_t>(record.receipts.size()));
    for (const Receipt& receipt : record.receipts) {
        put_receipt(w, receipt);
    }
    return std::move(w.bytes());
}

namespace {

bool get_body(store::Reader& r, C2dRecord* record) {
    switch (record->op) {
        case C2dRecord::Op::enqueue:
            if (!get_message(r, &record->message)) {
                return false;
            }
            record->receipts_consumed = r.u32();
            return record->receipts_consumed <= kRecordListMax;
        case C2dRecord::Op::remove: {
            record->sequence_number = r.u64();
            const uint32_t outcome = r.u32();
            record->outcome = static_cast<Outcome>(outcome);
            return outcome <= static_cast<uint32_t>(Outcome::purged);
        }
        case C2dRecord::Op::abandon:
            record->sequence_number = r.u64();
            record->delivery_count = r.u32();
            return true;
        case C2dRecord::Op::purge: {
            const uint32_t count = r.u32();
            if (count > kRecordListMax) {
                return false;
            }
            for (uint32_t i = 0; i < count && r.ok(); ++i) {
                record->purged.push_back(r.u64());
            }
            return true;
        }
    }
    return false;
}

}  // namespace

Result<C2dRecord> decode_c2d_record(ByteView bytes) {
    store::Reader r(bytes);
    C2dRecord record;
    const uint32_t op = r.u32();
    const uint32_t queue = r.u32();
    if (op < 1 || op > 4 || queue < 1 || queue > 2) {
        return Status(Code::corruption, "c2d record: bad op or queue");
    }
    record.op = static_cast<C2dRecord::Op>(op);
    record.queue = static_cast<C2dRecord::Queue>(queue);
    record.device_id = r.str();
    record.at_utc_ms = r.i64();
    if (!get_body(r, &record)) {
        return Status(Code::corruption, "c2d record: malformed body");
    }
    const uint32_t receipts = r.u32();
    if (receipts > kRecordListMax) {
        return Status(Code::corruption, "c2d record: too many receipts");
    }
    for (uint32_t i = 0; i < receipts && r.ok(); ++i) {
        Receipt receipt;
        if (!get_receipt(r, &receipt)) {
            return Status(Code::corruption, "c2d record: malformed receipt");
        }
        record.receipts.push_back(std::move(receipt));
    }
    if (!r.ok() || !r.at_end()) {
        return Status(Code::corruption, "c2d record: malformed");
    }
    return record;
}

// ---------------------------------------------------------------------------------------------
// C2dStore

Result<std::unique_ptr<C2dStore>> C2dStore::open(Env& env, C2dStoreConfig config,
                                                 std::vector<C2dRecord>* records) {
    HUB_ASSERT(records != nullptr && records->empty());
    std::unique_ptr<C2dStore> store(new C2dStore(env, std::move(config)));
    Status removed = store::remove_stray_compaction(env.disk(), store->config_.file_name);
    if (!removed.ok()) {
        return removed;
    }
    // A salt from the Env's Random: C2D bodies are chosen by the sender (see record_log.hpp).
    store->file_ = std::make_unique<store::RecordLog>(env.disk(), store->config_.file_name,
                                                      env.random().next_u64());
    Result<std::vector<Bytes>> raw = store->file_->recover();
    if (!raw.ok()) {
        return raw.status();
    }
    for (const Bytes& bytes : *raw) {
        Result<C2dRecord> record = decode_c2d_record(bytes);
        if (!record.ok()) {
            return Status(Code::corruption, store->config_.file_name + ": " +
                                                record.status().message());
        }
        store->index_.apply(*record, store::record_bytes(bytes.size()));
        records->push_back(std::move(*record));
    }
    store->log_bytes_ = store->file_->size_bytes();  // the file's size, header included
    env.trace("c2d.recovered", store->config_.file_name + " records=" +
                                   std::to_string(records->size()));
    return store;
}

C2dStore::~C2dStore() {
    env_.cancel(commit_timer_);
    if (sync_in_flight_) {
        env_.disk().cancel_sync(sync_id_);
    }
    for (const auto& [ticket, id] : deferred_) {
        env_.cancel(id);
    }
}

void C2dStore::defer(std::function<void()> fn) {
    const uint64_t ticket = next_ticket_++;
    deferred_[ticket] = env_.schedule(env_.now(), [this, ticket, fn = std::move(fn)] {
        deferred_.erase(ticket);
        fn();
    });
}

void C2dStore::write(const C2dRecord& record, Callback apply, Callback done) {
    Status status = Status::ok_status();
    if (failed_) {
        status = Status(Code::unavailable, "c2d store failed; restart the hub");
    } else {
        const Bytes encoded = encode_c2d_record(record);
        status = file_->append(encoded);
        if (!status.ok()) {
            failed_ = true;
        } else {
            log_bytes_ = file_->size_bytes();
            index_.apply(record, store::record_bytes(encoded.size()));
        }
    }
    if (!status.ok()) {
        defer([apply = std::move(apply), done = std::move(done), status] {
            if (apply) {
                apply(status);
            }
            if (done) {
                done(status);
            }
        });
        return;
    }
    ++records_written_;
    pending_.push_back(Pending{std::move(apply), std::move(done)});
    schedule_commit(env_.now() + config_.group_commit_delay);
}

void C2dStore::schedule_commit(Instant at) {
    if (commit_scheduled_ || sync_in_flight_ || pending_.empty()) {
        return;
    }
    commit_scheduled_ = true;
    commit_timer_ = env_.schedule(at, [this] { commit(); });
}

// One sync in flight at a time: writes that arrive during it share the next one.
void C2dStore::commit() {
    HUB_ASSERT(commit_scheduled_ && !sync_in_flight_);
    HUB_ASSERT(!pending_.empty());
    commit_scheduled_ = false;
    std::vector<Pending> batch = std::move(pending_);
    pending_.clear();
    if (failed_) {
        finish_commit(std::move(batch), Status(Code::unavailable, "c2d store failed; restart the hub"));
        return;
    }
    if (config_.planted_bug_skip_sync) {
        finish_commit(std::move(batch), Status::ok_status());
        return;
    }
    sync_in_flight_ = true;
    sync_id_ = env_.disk().sync_async(
        file_->file_name(), [this, batch = std::move(batch)](Status status) mutable {
            sync_in_flight_ = false;
            finish_commit(std::move(batch), std::move(status));
        });
}

void C2dStore::finish_commit(std::vector<Pending> batch, Status status) {
    if (!status.ok()) {
        failed_ = true;
    }
    env_.trace("c2d.commit", "records=" + std::to_string(batch.size()) + " ok=" +
                                 (status.ok() ? "1" : "0"));
    // Every state change of the batch lands before any acknowledgement runs: a `done` may
    // call back into the queues and must see the committed state.
    for (Pending& item : batch) {
        if (item.apply) {
            item.apply(status);
        }
    }
    for (Pending& item : batch) {
        if (item.done) {
            item.done(status);
        }
    }
    maybe_compact();
    schedule_commit(env_.now());  // what arrived during the sync goes at once
}

// ---------------------------------------------------------------------------------------------
// Compaction

namespace {

uint64_t receipt_bytes(const Receipt& r) {
    return 3 * 4 + r.original_message_id.size() + r.device_id.size() +
           r.device_generation_id.size() + 8 + 4;
}

void forget(std::map<uint64_t, C2dLiveIndex::Live>& live, uint64_t seq, uint64_t* bytes) {
    auto it = live.find(seq);
    if (it != live.end()) {
        *bytes -= it->second.record_bytes;
        live.erase(it);
    }
}

// A message that only carries a sequence number into a compacted log; removed right after.
C2dRecord mark_record(C2dRecord::Op op, C2dRecord::Queue queue, std::string device_id,
                      uint64_t seq, int64_t at_utc_ms) {
    C2dRecord r;
    r.op = op;
    r.queue = queue;
    r.device_id = std::move(device_id);
    r.at_utc_ms = at_utc_ms;
    r.sequence_number = seq;
    r.outcome = Outcome::purged;
    r.message.sequence_number = seq;
    r.message.device_id = r.device_id;
    return r;
}

}  // namespace

void C2dLiveIndex::apply(const C2dRecord& r, uint64_t record_bytes) {
    // Receipts first, as FeedbackQueue::replay takes them.
    for (const Receipt& receipt : r.receipts) {
        pending_.push_back(PendingReceipt{receipt, r.at_utc_ms});
        pending_bytes_ += receipt_bytes(receipt);
    }
    std::map<uint64_t, Live>& live = live_mutable(r.queue);
    switch (r.op) {
        case C2dRecord::Op::enqueue: {
            const uint64_t seq = r.message.sequence_number;
            uint64_t& max = r.queue == C2dRecord::Queue::device ? device_seq_max_
                                                                 : feedback_seq_max_;
            max = std::max(max, seq);
            forget(live, seq, &live_record_bytes_);
            live[seq] = Live{r.device_id, r.message.delivery_count, record_bytes};
            live_record_bytes_ += record_bytes;
            for (uint32_t i = 0; i < r.receipts_consumed && !pending_.empty(); ++i) {
                pending_bytes_ -= receipt_bytes(pending_.front().receipt);
                pending_.pop_front();
            }
            break;
        }
        case C2dRecord::Op::remove: forget(live, r.sequence_number, &live_record_bytes_); break;
        case C2dRecord::Op::abandon:
            if (auto it = live.find(r.sequence_number); it != live.end()) {
                it->second.delivery_count = r.delivery_count;
            }
            break;
        case C2dRecord::Op::purge:
            for (uint64_t seq : r.purged) {
                forget(live, seq, &live_record_bytes_);
            }
            break;
    }
}

uint64_t C2dLiveIndex::live_bytes() const {
    return live_record_bytes_ + pending_bytes_ + kMarkRecordsBytes;
}

void C2dStore::maybe_compact() {
    // A safe point: every appended record is synced and acknowledged (nothing in flight). The
    // planted bug must keep losing unsynced records, so no compaction syncs them behind its back.
    if (failed_ || !pending_.empty() || commit_scheduled_ || sync_in_flight_ ||
        config_.planted_bug_skip_sync ||
        log_bytes_ < compaction_retry_bytes_ ||
        !store::compaction_due(config_.compaction, log_bytes_, index_.live_bytes())) {
        return;
    }
    Status s = compact();
    if (!s.ok()) {
        env_.trace("c2d.compaction_failed", s.to_string());
    }
}

Status C2dStore::compact() {
    const uint64_t old_bytes = log_bytes_;
    store::CompactionWriter writer(env_.disk(), config_.file_name, env_.random().next_u64());
    Status s = copy_live_records(writer);
    if (s.ok()) {
        s = add_marks(writer);
    }
    Result<std::unique_ptr<store::RecordLog>> log =
        s.ok() ? writer.finish() : Result<std::unique_ptr<store::RecordLog>>(s);
    if (!log.ok()) {
        if (writer.replaced()) {
            failed_ = true;  // memory no longer knows which file the next record extends
        } else {
            compaction_retry_bytes_ = log_bytes_ + config_.compaction.floor_bytes;
        }
        return log.status();
    }
    file_ = std::move(*log);
    log_bytes_ = file_->size_bytes();  // the records plus the file header
    compaction_retry_bytes_ = 0;
    ++compactions_;
    env_.trace("c2d.compacted", config_.file_name + " " + std::to_string(old_bytes) + " -> " +
                                    std::to_string(log_bytes_) + " bytes");
    return Status::ok_status();
}

// The enqueue records of live messages, read back from the log in log order (so sequence
// numbers ascend as replay requires), with their current delivery counts.
Status C2dStore::copy_live_records(store::CompactionWriter& writer) {
    store::RecordLog reader(env_.disk(), config_.file_name);
    Result<std::vector<Bytes>> raw = reader.recover();
    if (!raw.ok()) {
        return raw.status();
    }
    size_t copied = 0;
    for (const Bytes& bytes : *raw) {
        Result<C2dRecord> record = decode_c2d_record(bytes);
        if (!record.ok()) {
            return Status(Code::corruption, config_.file_name + ": " + record.status().message());
        }
        if (record->op != C2dRecord::Op::enqueue) {
            continue;
        }
        const auto& live = index_.live(record->queue);
        auto it = live.find(record->message.sequence_number);
        if (it == live.end()) {
            continue;
        }
        record->message.delivery_count = it->second.delivery_count;
        record->receipts.clear();  // (never set on enqueues; receipts ride on the marks)
        record->receipts_consumed = 0;
        Status s = writer.add(encode_c2d_record(*record));
        if (!s.ok()) {
            return s;
        }
        ++copied;
    }
    const size_t live = index_.live(C2dRecord::Queue::device).size() +
                        index_.live(C2dRecord::Queue::feedback).size();
    if (copied != live) {
        return Status(Code::corruption, config_.file_name + ": " + std::to_string(live) +
                                            " live messages but " + std::to_string(copied) +
                                            " enqueue records");
    }
    return Status::ok_status();
}

// Sequence-number marks and the pending receipts (see the header comment).
Status C2dStore::add_marks(store::CompactionWriter& writer) {
    using Op = C2dRecord::Op;
    using Queue = C2dRecord::Queue;
    const int64_t now_ms = env_.utc_now_ms();
    Status s = Status::ok_status();
    const uint64_t feedback_max = index_.sequence_max(Queue::feedback);
    if (feedback_max > 0 && !index_.live(Queue::feedback).contains(feedback_max)) {
        s = writer.add(encode_c2d_record(mark_record(Op::enqueue, Queue::feedback, "",
                                                     feedback_max, now_ms)));
        if (s.ok()) {
            s = writer.add(encode_c2d_record(
                mark_record(Op::remove, Queue::feedback, "", feedback_max, now_ms)));
        }
    }
    const auto& pending = index_.pending_receipts();
    const uint64_t device_max = index_.sequence_max(Queue::device);
    if (!s.ok() || device_max == 0) {
        return s.ok() && !pending.empty()
                   ? Status(Code::corruption, "c2d log: receipts without any message")
                   : s;
    }
    auto carrier = index_.live(Queue::device).find(device_max);
    const bool mark = carrier == index_.live(Queue::device).end();
    const std::string device = mark ? std::string(kSequenceMarkDevice) : carrier->second.device_id;
    if (mark) {
        s = writer.add(encode_c2d_record(
            mark_record(Op::enqueue, Queue::device, device, device_max, now_ms)));
    }
    // Abandons that repeat the carrier's delivery count change nothing but add their receipts,
    // each group with the time it was logged (the feedback batch timer reads it).
    for (size_t i = 0; s.ok() && i < pending.size();) {
        C2dRecord carry = mark_record(Op::abandon, Queue::device, device, device_max,
                                      pending[i].at_utc_ms);
        carry.delivery_count = mark ? 0 : carrier->second.delivery_count;
        for (; i < pending.size() && pending[i].at_utc_ms == carry.at_utc_ms &&
               carry.receipts.size() < kReceiptsPerMarkRecordMax;
             ++i) {
            carry.receipts.push_back(pending[i].receipt);
        }
        s = writer.add(encode_c2d_record(carry));
    }
    if (s.ok() && mark) {
        s = writer.add(encode_c2d_record(
            mark_record(Op::remove, Queue::device, device, device_max, now_ms)));
    }
    return s;
}

// ---------------------------------------------------------------------------------------------
// DeadlineTimer

void DeadlineTimer::arm(Instant at, std::function<void()> fn) {
    cancel();
    armed_at_ = at;
    id_ = env_.schedule(at, [this, fn = std::move(fn)] {
        armed_at_.reset();
        fn();
    });
}

void DeadlineTimer::cancel() {
    if (armed_at_.has_value()) {
        env_.cancel(id_);
        armed_at_.reset();
    }
}

Instant instant_at_utc(const Env& env, int64_t utc_ms) {
    // Far deadlines (an expiry years ahead) are capped so nanoseconds cannot overflow; the
    // timer then fires early, finds nothing due by the UTC clock, and re-arms.
    constexpr int64_t kWaitMsMax = 24 * 3600 * 1000;
    const int64_t wait_ms = std::clamp<int64_t>(utc_ms - env.utc_now_ms(), 0, kWaitMsMax);
    return env.now() + Duration::millis(wait_ms);
}

}  // namespace hub
