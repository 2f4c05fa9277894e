#include "hub/core/d2c_log.hpp"

#include <charconv>
#include <cstdio>
#include <optional>

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
    if (config.segment_bytes == 0 || config.retention < Duration{0}) {
        return Status(Code::invalid_argument, "segment_bytes must be > 0, retention >= 0");
    }
    std::unique_ptr<D2cLog> log(new D2cLog(env, config));
    log->retention_timer_ = std::make_unique<DeadlineTimer>(env);
    log->partitions_.resize(config.partitions);
    for (uint32_t p = 0; p < config.partitions; ++p) {
        Status s = log->recover_partition(p);
        if (!s.ok()) {
            return s;
        }
    }
    log->enforce_retention();
    return log;
}

std::string D2cLog::partition_file(uint32_t p) const {
    return config_.file_prefix + "-" + std::to_string(p) + ".log";
}

std::string D2cLog::segment_file(uint32_t p, uint64_t first_sequence_number) const {
    std::string digits = std::to_string(first_sequence_number);
    // Zero-padded to 20 digits: names sort like the numbers (Disk::list() is sorted).
    return config_.file_prefix + "-" + std::to_string(p) + "-" +
           std::string(20 - digits.size(), '0') + digits + ".log";
}

namespace {

// The first sequence number in a segment file name "<prefix>-<p>-<20 digits>.log".
std::optional<uint64_t> segment_first(std::string_view name, std::string_view stem) {
    if (!name.starts_with(stem) || !name.ends_with(".log") || name.size() != stem.size() + 24) {
        return std::nullopt;
    }
    uint64_t value = 0;
    const std::string_view digits = name.substr(stem.size(), 20);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc() || end != digits.data() + digits.size()) {
        return std::nullopt;
    }
    return value;
}

}  // namespace

Result<D2cLog::Segment> D2cLog::open_segment(uint32_t p, uint64_t first_sequence_number) {
    Segment segment;
    segment.first_sequence_number = first_sequence_number;
    segment.end_sequence_number = first_sequence_number;
    segment.file = std::make_unique<store::RecordLog>(
        env_.disk(), segment_file(p, first_sequence_number), env_.random().next_u64());
    return segment;
}

// Recovers one segment's events into the partition. Sets *gap when the segment does not start
// where the previous one ended (its events, and all later ones, were never acknowledged).
Status D2cLog::recover_segment(uint32_t p, Segment& segment, bool* gap) {
    Partition& part = partitions_[p];
    const std::string& name = segment.file->file_name();
    if (!part.segments.empty() && segment.first_sequence_number != part.next_sequence_number) {
        if (segment.first_sequence_number < part.next_sequence_number) {
            return Status(Code::corruption, name + ": overlaps the segment before it");
        }
        *gap = true;
        return Status::ok_status();
    }
    Result<std::vector<Bytes>> records = segment.file->recover();
    if (!records.ok()) {
        return records.status();
    }
    part.next_sequence_number = segment.first_sequence_number;
    uint64_t offset = store::kFileHeaderBytes;  // frames follow the header back to back
    for (const Bytes& record : *records) {
        const IndexEntry where{segment.file.get(), offset, 0,
                               static_cast<uint32_t>(store::kRecordHeaderBytes + record.size())};
        offset += where.frame_bytes;
        Result<StoredEvent> event = decode_event(record);
        if (!event.ok()) {
            return Status(Code::corruption, name + ": " + event.status().message());
        }
        if (event->partition != p || event->sequence_number != part.next_sequence_number) {
            return Status(Code::corruption, name + ": sequence numbers out of order");
        }
        part.next_sequence_number = event->sequence_number + 1;
        segment.newest_enqueued_ms = event->enqueued_time_ms;
        IndexEntry entry = where;
        entry.enqueued_ms = event->enqueued_time_ms;
        retain(part, std::move(*event), entry);
    }
    segment.end_sequence_number = part.next_sequence_number;
    segment.header_durable = segment.file->size_bytes() > 0;
    return Status::ok_status();
}

Status D2cLog::recover_partition(uint32_t p) {
    Partition& part = partitions_[p];
    const std::string stem = config_.file_prefix + "-" + std::to_string(p) + "-";
    std::vector<uint64_t> firsts;
    for (const std::string& name : env_.disk().list()) {  // sorted: oldest segment first
        if (name == partition_file(p)) {
            return Status(Code::failed_precondition,
                          name + ": written by an older version (one file per partition); "
                                 "move it away");
        }
        if (std::optional<uint64_t> first = segment_first(name, stem)) {
            firsts.push_back(*first);
        }
    }
    bool gap = false;
    for (size_t i = 0; i < firsts.size(); ++i) {
        Result<Segment> segment = open_segment(p, firsts[i]);
        if (Status s = recover_segment(p, *segment, &gap); !s.ok()) {
            return s;
        }
        if (gap) {
            // Newest first: a crash during this cleanup leaves a gap at the same place.
            for (size_t j = firsts.size(); j-- > i;) {
                if (Status s = env_.disk().remove(segment_file(p, firsts[j])); !s.ok()) {
                    return s;
                }
            }
            env_.trace("d2c.recovery-gap", segment_file(p, firsts[i]) + " removed with " +
                                               std::to_string(firsts.size() - i - 1) + " after it");
            break;
        }
        part.segments.push_back(std::move(*segment));
    }
    if (part.segments.empty()) {
        Result<Segment> first = open_segment(p, part.next_sequence_number);
        if (Status s = first->file->recover().status(); !s.ok()) {
            return s;
        }
        part.segments.push_back(std::move(*first));
    }
    part.committed_end = part.next_sequence_number;
    env_.trace("d2c.recovered", stem + " segments=" + std::to_string(part.segments.size()) +
                                    " events=" + std::to_string(part.index.size()));
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

const std::deque<StoredEvent>& D2cLog::events(uint32_t partition) const {
    HUB_ASSERT(partition < partitions_.size());
    return partitions_[partition].committed;
}

uint64_t D2cLog::first_sequence_number(uint32_t partition) const {
    HUB_ASSERT(partition < partitions_.size());
    const Partition& part = partitions_[partition];
    HUB_ASSERT(part.committed.empty() ||
               part.committed.back().sequence_number + 1 == part.committed_end);
    return part.committed_end - part.index.size();
}

uint64_t D2cLog::end_sequence_number(uint32_t partition) const {
    HUB_ASSERT(partition < partitions_.size());
    return partitions_[partition].committed_end;
}

const StoredEvent* D2cLog::event_at(uint32_t partition, uint64_t sequence_number) const {
    const uint64_t first = first_sequence_number(partition);
    if (sequence_number < first || sequence_number >= end_sequence_number(partition)) {
        return nullptr;
    }
    const Partition& part = partitions_[partition];
    const uint64_t cached_first = part.committed_end - part.committed.size();
    if (sequence_number >= cached_first) {
        const StoredEvent& e = part.committed[sequence_number - cached_first];
        HUB_ASSERT(e.sequence_number == sequence_number);
        return &e;
    }
    // Older than the RAM cache: read it back from its segment.
    const IndexEntry& where = part.index[sequence_number - first];
    Result<Bytes> record = where.file->read_record(where.offset, where.frame_bytes);
    Result<StoredEvent> event =
        record.ok() ? decode_event(*record) : Result<StoredEvent>(record.status());
    if (!event.ok() || event->sequence_number != sequence_number) {
        env_.trace("d2c.read-failed", where.file->file_name() + " seq=" +
                                          std::to_string(sequence_number) + " " +
                                          event.status().to_string());
        return nullptr;
    }
    part.read_back = std::move(*event);
    return &part.read_back;
}

uint64_t D2cLog::first_enqueued_from(uint32_t partition, int64_t utc_ms, bool inclusive) const {
    const Partition& part = partitions_[partition];
    uint64_t seq = first_sequence_number(partition);
    for (const IndexEntry& where : part.index) {
        if (where.enqueued_ms > utc_ms || (inclusive && where.enqueued_ms == utc_ms)) break;
        ++seq;
    }
    return seq;
}

// Records a committed event: indexed, and decoded in the RAM cache (which sheds its oldest
// events past cache_bytes, keeping at least the newest).
void D2cLog::retain(Partition& part, StoredEvent event, const IndexEntry& where) {
    part.index.push_back(where);
    part.committed.push_back(std::move(event));
    part.committed_frames.push_back(where.frame_bytes);
    part.cached_bytes += where.frame_bytes;
    while (part.cached_bytes > config_.cache_bytes && part.committed.size() > 1) {
        part.cached_bytes -= part.committed_frames.front();
        part.committed_frames.pop_front();
        part.committed.pop_front();
    }
}

std::vector<std::string> D2cLog::segment_files(uint32_t partition) const {
    HUB_ASSERT(partition < partitions_.size());
    std::vector<std::string> names;
    for (const Segment& segment : partitions_[partition].segments) {
        names.push_back(segment.file->file_name());
    }
    return names;
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
    if (framed.bytes().size() - store::kRecordHeaderBytes > store::kRecordPayloadBytesMax) {
        fail_later(std::move(done), Status(Code::invalid_argument, "event record too large"));
        return;
    }
    Status s = roll_if_full(p, framed.bytes().size());
    if (s.ok()) {
        Segment& active = part.segments.back();
        active.file->seal(framed.bytes());
        s = active.file->append_sealed(framed.bytes());
    }
    if (!s.ok()) {
        failed_ = true;  // a file may hold part of the record: only recovery can tell
        fail_later(std::move(done), s);
        return;
    }
    Segment& active = part.segments.back();
    part.next_sequence_number++;
    active.end_sequence_number = part.next_sequence_number;
    active.newest_enqueued_ms = event.enqueued_time_ms;
    mark_dirty(part);
    const auto frame_bytes = static_cast<uint32_t>(framed.bytes().size());
    const IndexEntry where{active.file.get(), active.file->size_bytes() - frame_bytes,
                           event.enqueued_time_ms, frame_bytes};
    pending_.push_back(Pending{std::move(event), std::move(done), where});
    schedule_commit(env_.now() + config_.group_commit_delay);
}

// Starts a new segment when the record would push the newest one past segment_bytes (a
// segment always takes at least one record, however large).
Status D2cLog::roll_if_full(uint32_t p, size_t record_bytes) {
    Partition& part = partitions_[p];
    const Segment& active = part.segments.back();
    if (active.end_sequence_number == active.first_sequence_number ||
        active.file->size_bytes() + record_bytes <= config_.segment_bytes) {
        return Status::ok_status();
    }
    Result<Segment> next = open_segment(p, part.next_sequence_number);
    if (Status s = next->file->recover().status(); !s.ok()) {
        return s;
    }
    env_.trace("d2c.roll", next->file->file_name());
    part.segments.push_back(std::move(*next));
    return Status::ok_status();
}

void D2cLog::mark_dirty(Partition& part) {
    const store::RecordLog* file = part.segments.back().file.get();
    if (part.dirty_files.empty() || part.dirty_files.back() != file) {
        part.dirty_files.push_back(file);
    }
}

// The group commit timer: starts syncing every partition written since the last commit. At
// most one commit is in flight; appends that arrive meanwhile wait for the next one, so a slow
// disk makes batches larger instead of queueing syncs.
void D2cLog::commit() {
    commit_scheduled_ = false;
    HUB_ASSERT(!commit_in_flight_ && in_flight_.empty());
    commit_in_flight_ = true;
    in_flight_.swap(pending_);  // both keep their capacity: no allocation per commit
    in_flight_status_ = failed_ ? Status(Code::unavailable, "d2c log failed; restart the hub")
                                : Status::ok_status();
    size_t dirty = 0;
    for (const Partition& part : partitions_) {
        dirty += part.dirty_files.size();
    }
    if (!in_flight_status_.ok() || config_.planted_bug_skip_sync || dirty == 0) {
        for (Partition& part : partitions_) {
            part.dirty_files.clear();
        }
        finish_commit();
        return;
    }
    syncs_outstanding_ = dirty;
    for (Partition& part : partitions_) {
        for (const store::RecordLog* file : part.dirty_files) {
            sync_ids_.push_back(
                env_.disk().sync_async(file->file_name(), [this](Status s) { on_synced(s); }));
        }
        part.dirty_files.clear();
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
    std::vector<Pending> batch;
    batch.swap(in_flight_);
    char detail[48];  // no heap string per commit: this runs once per durable batch
    std::snprintf(detail, sizeof detail, "events=%zu ok=%d", batch.size(), status.ok() ? 1 : 0);
    env_.trace("d2c.commit", detail);
    std::vector<std::pair<AppendDone, Result<EventPosition>>> calls;
    calls.swap(calls_);
    for (Pending& item : batch) {
        if (status.ok()) {
            const EventPosition pos{item.event.partition, item.event.sequence_number};
            Partition& part = partitions_[item.event.partition];
            HUB_ASSERT(pos.sequence_number == part.committed_end);
            part.committed_end = pos.sequence_number + 1;
            retain(part, std::move(item.event), item.where);
            calls.emplace_back(std::move(item.done), pos);
        } else {
            calls.emplace_back(std::move(item.done), status);
        }
    }
    const bool delivered = !batch.empty();
    batch.clear();
    in_flight_.swap(batch);  // hand the capacity back; no commit can start during callbacks
    // State is final before any callback runs: a callback may append again.
    for (auto& [done, result] : calls) {
        done(result);
    }
    calls.clear();
    calls_.swap(calls);
    if (status.ok() && delivered) {
        notify_listeners();
    }
    schedule_commit(env_.now());  // what arrived during the sync goes at once
    if (status.ok() && retention_check_due()) {
        enforce_retention();
    }
}

// After a commit: whether retention could act now. Expiry by time is the timer's job unless it
// is not armed (first events) or a due segment waited for this commit; size needs a check only
// when a partition has an older segment to drop.
bool D2cLog::retention_check_due() const {
    if (retention_waits_for_commit_ || !retention_timer_->armed_at().has_value()) {
        return true;
    }
    if (config_.retention_bytes == kUnlimitedRetentionBytes) {
        return false;
    }
    for (const Partition& part : partitions_) {
        if (part.segments.size() > 1) {
            return true;
        }
    }
    return false;
}

void D2cLog::schedule_commit(Instant at) {
    if (commit_scheduled_ || commit_in_flight_ || pending_.empty()) {
        return;
    }
    commit_scheduled_ = true;
    commit_timer_ = env_.schedule(at, [this] { commit(); });
}

// Drops the oldest segment if it is due (expired or over the byte limit) and holds nothing
// uncommitted. Never the newest segment: its name carries the next sequence number.
bool D2cLog::drop_oldest_if_due(uint32_t p, int64_t cutoff_ms) {
    Partition& part = partitions_[p];
    if (part.segments.size() < 2) {
        return false;
    }
    const Segment& oldest = part.segments.front();
    const Segment& successor = part.segments[1];
    if (oldest.end_sequence_number > part.committed_end) {
        return false;  // its sync is in flight; the next commit re-checks
    }
    if (!successor.header_durable && part.committed_end <= successor.first_sequence_number) {
        return false;  // its file may not survive a crash yet: its name keeps the numbering
    }
    uint64_t total_bytes = 0;
    for (const Segment& segment : part.segments) {
        total_bytes += segment.file->size_bytes();
    }
    const bool empty = oldest.end_sequence_number == oldest.first_sequence_number;
    const bool expired = empty || oldest.newest_enqueued_ms < cutoff_ms;
    const bool excess = config_.retention_bytes != kUnlimitedRetentionBytes &&
                        total_bytes > config_.retention_bytes;
    if (!expired && !excess) {
        return false;
    }
    const std::string name = oldest.file->file_name();
    if (Status s = env_.disk().remove(name); !s.ok() && s.code() != Code::not_found) {
        env_.trace("d2c.retention-failed", name + " " + s.to_string());
        return false;  // tried again at the next check
    }
    while (!part.committed.empty() &&
           part.committed.front().sequence_number < oldest.end_sequence_number) {
        part.cached_bytes -= part.committed_frames.front();
        part.committed_frames.pop_front();
        part.committed.pop_front();
    }
    for (uint64_t seq = part.committed_end - part.index.size(); seq < oldest.end_sequence_number;
         ++seq) {
        part.index.pop_front();
    }
    env_.trace("d2c.retention", name + (expired ? " expired" : " over-size"));
    part.segments.pop_front();
    return true;
}

// When the newest segment's events have all expired, starts an empty segment after it (made
// durable at once: its name keeps the next sequence number) so the old one can go.
Status D2cLog::roll_expired_active(uint32_t p, int64_t cutoff_ms) {
    Partition& part = partitions_[p];
    const Segment& active = part.segments.back();
    if (active.end_sequence_number == active.first_sequence_number ||
        active.newest_enqueued_ms >= cutoff_ms || part.next_sequence_number != part.committed_end) {
        return Status::ok_status();
    }
    Result<Segment> next = open_segment(p, part.next_sequence_number);
    if (Status s = next->file->recover().status(); !s.ok()) {
        return s;
    }
    if (Status s = next->file->create(); !s.ok()) {
        return s;
    }
    next->header_durable = true;
    env_.trace("d2c.roll", next->file->file_name() + " (expired)");
    part.segments.push_back(std::move(*next));
    return Status::ok_status();
}

void D2cLog::enforce_retention() {
    if (failed_) {
        return;
    }
    const int64_t cutoff_ms = env_.utc_now_ms() - config_.retention.to_millis();
    for (uint32_t p = 0; p < partitions_.size(); ++p) {
        while (drop_oldest_if_due(p, cutoff_ms)) {
        }
        if (Status s = roll_expired_active(p, cutoff_ms); !s.ok()) {
            failed_ = true;  // the disk refused a new file: appends would fail the same way
            env_.trace("d2c.retention-failed", s.to_string());
            return;
        }
        while (drop_oldest_if_due(p, cutoff_ms)) {
        }
    }
    arm_retention_timer();
}

// Arms the timer for the next instant a segment expires (already-due ones wait for the commit
// that holds them up, which re-checks).
void D2cLog::arm_retention_timer() {
    const int64_t now_ms = env_.utc_now_ms();
    std::optional<int64_t> next_ms;
    retention_waits_for_commit_ = false;
    for (const Partition& part : partitions_) {
        for (const Segment& segment : part.segments) {
            if (segment.end_sequence_number == segment.first_sequence_number) {
                continue;
            }
            const int64_t due_ms = segment.newest_enqueued_ms + config_.retention.to_millis() + 1;
            if (due_ms <= now_ms) {
                retention_waits_for_commit_ = true;  // due, held up by uncommitted events
            } else if (!next_ms || due_ms < *next_ms) {
                next_ms = due_ms;
            }
            break;  // later segments expire later
        }
    }
    if (next_ms == retention_due_ms_ && retention_timer_->armed_at().has_value()) {
        return;  // the usual case after a commit: nothing new can expire first
    }
    retention_due_ms_ = next_ms;
    if (!next_ms) {
        retention_timer_->cancel();
        return;
    }
    retention_timer_->arm(instant_at_utc(env_, *next_ms), [this] { enforce_retention(); });
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
