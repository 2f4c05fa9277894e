#include "hub/core/d2c_log.hpp"

#include "hub/store/codec.hpp"

namespace hub {

namespace {

// Properties per message: bounded so a corrupt count cannot ask for unbounded memory.
constexpr uint32_t kPropertiesMax = 1024;

size_t encoded_size(const StoredEvent& e) {
    size_t n = 4 + 8 + 8 + 4 + e.message.device_id.size() + 4 + e.message.message_id.size() + 4 +
               e.message.body.size() + 4 + 4 + e.message.generation_id.size();
    for (const auto& [key, value] : e.message.properties) {
        n += 8 + key.size() + value.size();
    }
    return n;
}

void encode_event_into(store::Writer& w, const StoredEvent& event) {
    w.u32(event.partition);
    w.u64(event.sequence_number);
    w.i64(event.enqueued_time_ms);
    w.str(event.message.device_id);
    w.str(event.message.message_id);
    w.str(std::string_view(reinterpret_cast<const char*>(event.message.body.data()),
                           event.message.body.size()));
    w.u32(static_cast<uint32_t>(event.message.properties.size()));
    for (const auto& [key, value] : event.message.properties) {
        w.str(key);
        w.str(value);
    }
    w.str(event.message.generation_id);
}

}  // namespace

Bytes encode_event(const StoredEvent& event) {
    store::Writer w(encoded_size(event));
    encode_event_into(w, event);
    return std::move(w.bytes());
}

Result<StoredEvent> decode_event(ByteView bytes) {
    store::Reader r(bytes);
    StoredEvent e;
    e.partition = r.u32();
    e.sequence_number = r.u64();
    e.enqueued_time_ms = r.i64();
    e.message.device_id = r.str();
    e.message.message_id = r.str();
    const std::string body = r.str();
    e.message.body.assign(body.begin(), body.end());
    const uint32_t count = r.u32();
    if (count > kPropertiesMax) {
        return Status(Code::corruption, "event record: too many properties");
    }
    for (uint32_t i = 0; i < count && r.ok(); ++i) {
        std::string key = r.str();
        std::string value = r.str();
        e.message.properties.emplace_back(std::move(key), std::move(value));
    }
    e.message.generation_id = r.str();
    if (!r.ok() || !r.at_end()) {
        return Status(Code::corruption, "event record: malformed");
    }
    return e;
}

Result<std::unique_ptr<D2cLog>> D2cLog::open(Env& env, D2cLogConfig config) {
    if (config.partitions == 0 || config.partitions > 128) {
        return Status(Code::invalid_argument, "partitions must be 1..128");
    }
    std::unique_ptr<D2cLog> log(new D2cLog(env, config));
    log->partitions_.resize(config.partitions);
    for (uint32_t p = 0; p < config.partitions; ++p) {
        Status s = log->recover_partition(p);
        if (!s.ok()) {
            return s;
        }
    }
    return log;
}

std::string D2cLog::partition_file(uint32_t p) const {
    return config_.file_prefix + "-" + std::to_string(p) + ".log";
}

Status D2cLog::recover_partition(uint32_t p) {
    Partition& part = partitions_[p];
    part.file = std::make_unique<store::RecordLog>(env_.disk(), partition_file(p),
                                                   env_.random().next_u64());
    Result<std::vector<Bytes>> records = part.file->recover();
    if (!records.ok()) {
        return records.status();
    }
    for (const Bytes& record : *records) {
        Result<StoredEvent> event = decode_event(record);
        if (!event.ok()) {
            return event.status();
        }
        if (event->partition != p || event->sequence_number != part.next_sequence_number) {
            return Status(Code::corruption, partition_file(p) + ": sequence numbers out of order");
        }
        part.next_sequence_number = event->sequence_number + 1;
        part.committed.push_back(std::move(*event));
    }
    env_.trace("d2c.recovered", partition_file(p) + " events=" +
                                    std::to_string(part.committed.size()));
    return Status::ok_status();
}

D2cLog::~D2cLog() {
    env_.cancel(commit_timer_);
    for (uint64_t id : sync_ids_) {
        env_.disk().cancel_sync(id);
    }
    for (const auto& [ticket, id] : deferred_) {
        env_.cancel(id);
    }
}

uint32_t D2cLog::partition_of(std::string_view device_id) const {
    uint32_t h = 2166136261u;  // FNV-1a: stable across runs, platforms and restarts
    for (char c : device_id) {
        h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
    }
    return h % config_.partitions;
}

const std::vector<StoredEvent>& D2cLog::events(uint32_t partition) const {
    HUB_ASSERT(partition < partitions_.size());
    return partitions_[partition].committed;
}

void D2cLog::fail_later(AppendDone done, Status status) {
    // Keep the promise that callbacks never run inside append().
    const uint64_t ticket = next_ticket_++;
    deferred_[ticket] = env_.schedule(env_.now(), [this, ticket, done = std::move(done), status] {
        deferred_.erase(ticket);
        done(status);
    });
}

void D2cLog::append(D2cMessage message, AppendDone done) {
    if (failed_) {
        fail_later(std::move(done), Status(Code::unavailable, "d2c log failed; restart the hub"));
        return;
    }
    if (message.body.size() > kD2cMessageBytesMax) {
        fail_later(std::move(done), Status(Code::invalid_argument, "message exceeds 256 KB"));
        return;
    }
    const uint32_t p = partition_of(message.device_id);
    Partition& part = partitions_[p];
    StoredEvent event{p, part.next_sequence_number, env_.utc_now_ms(), std::move(message)};
    // Encode straight into the framed record: one buffer, sized once.
    store::Writer framed(store::kRecordHeaderBytes + encoded_size(event));
    framed.u32(0);
    framed.u32(0);
    encode_event_into(framed, event);
    Status s = framed.bytes().size() - store::kRecordHeaderBytes > store::kRecordPayloadBytesMax
                   ? Status(Code::invalid_argument, "event record too large")
                   : Status();
    if (s.ok()) {
        part.file->seal(framed.bytes());
        s = part.file->append_sealed(framed.bytes());
    }
    if (!s.ok()) {
        failed_ = true;
        fail_later(std::move(done), s);
        return;
    }
    part.next_sequence_number++;
    part.dirty = true;
    pending_.push_back(Pending{std::move(event), std::move(done)});
    schedule_commit(env_.now() + config_.group_commit_delay);
}

// The group commit timer: starts syncing every partition written since the last commit. At
// most one commit is in flight; appends that arrive meanwhile wait for the next one, so a slow
// disk makes batches larger instead of queueing syncs.
void D2cLog::commit() {
    commit_scheduled_ = false;
    HUB_ASSERT(!commit_in_flight_ && in_flight_.empty());
    commit_in_flight_ = true;
    in_flight_ = std::move(pending_);
    pending_.clear();
    in_flight_status_ = failed_ ? Status(Code::unavailable, "d2c log failed; restart the hub")
                                : Status::ok_status();
    std::vector<uint32_t> dirty;
    for (uint32_t p = 0; p < partitions_.size(); ++p) {
        if (partitions_[p].dirty) {
            dirty.push_back(p);
            partitions_[p].dirty = false;
        }
    }
    if (!in_flight_status_.ok() || config_.planted_bug_skip_sync || dirty.empty()) {
        finish_commit();
        return;
    }
    syncs_outstanding_ = dirty.size();
    for (uint32_t p : dirty) {
        sync_ids_.push_back(env_.disk().sync_async(partitions_[p].file->file_name(),
                                                   [this](Status s) { on_synced(s); }));
    }
}

void D2cLog::on_synced(Status status) {
    HUB_ASSERT(commit_in_flight_ && syncs_outstanding_ > 0);
    if (!status.ok() && in_flight_status_.ok()) {
        in_flight_status_ = std::move(status);
    }
    if (--syncs_outstanding_ == 0) {
        finish_commit();
    }
}

void D2cLog::finish_commit() {
    HUB_ASSERT(commit_in_flight_ && syncs_outstanding_ == 0);
    commit_in_flight_ = false;
    sync_ids_.clear();
    const Status status = in_flight_status_;
    if (!status.ok()) {
        failed_ = true;
    }
    std::vector<Pending> batch = std::move(in_flight_);
    in_flight_.clear();
    env_.trace("d2c.commit", "events=" + std::to_string(batch.size()) + " ok=" +
                                 (status.ok() ? "1" : "0"));
    std::vector<std::pair<AppendDone, Result<EventPosition>>> calls;
    for (Pending& item : batch) {
        if (status.ok()) {
            const EventPosition pos{item.event.partition, item.event.sequence_number};
            partitions_[item.event.partition].committed.push_back(std::move(item.event));
            calls.emplace_back(std::move(item.done), pos);
        } else {
            calls.emplace_back(std::move(item.done), status);
        }
    }
    // State is final before any callback runs: a callback may append again.
    for (auto& [done, result] : calls) {
        done(result);
    }
    if (status.ok() && !batch.empty()) {
        notify_listeners();
    }
    schedule_commit(env_.now());  // what arrived during the sync goes at once
}

void D2cLog::schedule_commit(Instant at) {
    if (commit_scheduled_ || commit_in_flight_ || pending_.empty()) {
        return;
    }
    commit_scheduled_ = true;
    commit_timer_ = env_.schedule(at, [this] { commit(); });
}

uint64_t D2cLog::add_commit_listener(CommitListener listener) {
    const uint64_t id = next_listener_++;
    listeners_.emplace(id, std::move(listener));
    return id;
}

void D2cLog::remove_commit_listener(uint64_t id) { listeners_.erase(id); }

void D2cLog::notify_listeners() {
    std::vector<uint64_t> ids;  // a listener may remove itself or others while we iterate
    for (const auto& [id, listener] : listeners_) ids.push_back(id);
    for (uint64_t id : ids) {
        auto it = listeners_.find(id);
        if (it != listeners_.end()) {
            CommitListener copy = it->second;
            copy();
        }
    }
}

}  // namespace hub
