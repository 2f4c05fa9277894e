// D2cLog: the partitioned device-to-cloud event log, with durable (group-committed) appends
// and retention by time and size.
//
// Each partition is a run of segment files "<prefix>-<p>-<first sequence number, 20 digits>.log"
// (RecordLog files; the prefix is configurable). append() assigns the event its partition (a
// stable hash of the device id), sequence number and enqueued time, writes the record to the
// newest segment (rolling to a new one when it would pass `segment_bytes`), and calls `done`
// only after a group commit has synced every file written (Disk::sync_async, one commit in
// flight at a time: a slow disk delays acks and grows batches): an acknowledged event survives
// any crash. Readers see committed events only. A failed sync makes the log fail-stop (every
// later append fails with unavailable): the hub must restart and recover.
//
// Retention: whole oldest segments are removed once every event in them is committed and
// either the partition's files exceed `retention_bytes` or the segment's newest event is older
// than `retention` (checked after each commit and by a timer armed for the next expiry). The
// newest segment is never removed (its name keeps the next sequence number); when it expires
// too, the log first rolls to an empty one. Sequence numbers never restart: events(p) begins at
// first_sequence_number(p), which readers must use instead of assuming 0.
//
// Memory: every retained committed event is kept in RAM (readers serve from it), so a
// partition holds at most retention_bytes + segment_bytes of records when retention_bytes is
// set, else one `retention` period of traffic.
//
// Recovery lists the segments, recovers each (torn tails cut), and requires contiguous
// sequence numbers. A gap means the segment before it lost its unsynced tail in a crash while
// the next one's bytes survived (mid-roll): every event after a gap was never acknowledged
// (acks wait for all files of a commit, commits are serial), so recovery removes them. A crash
// mid-retention leaves old segments that the next check removes.
//
// Callbacks always run later from an Env timer or disk completion, never inside append().
// Single-threaded; the Env must outlive the log.
//
// Example:
//   auto log = std::move(*D2cLog::open(env, D2cLogConfig{}));
//   log->append(message, [](Result<EventPosition> r) { /* durable: ack it */ });
//   for (const StoredEvent& e : log->events(0)) { /* e.sequence_number >= first_sequence_number(0) */ }
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hub/core/c2d_store.hpp"  // DeadlineTimer, instant_at_utc
#include "hub/env/env.hpp"
#include "hub/store/record_log.hpp"

namespace hub {

// D2C messages are at most 256 KB (reference §3).
constexpr size_t kD2cMessageBytesMax = 256 * 1024;

struct D2cMessage {
    std::string device_id;  // stamped by the hub: iothub-connection-device-id
    std::string message_id;
    Bytes body;
    std::vector<std::pair<std::string, std::string>> properties;  // application properties
    // Stamped by the hub from the sender's identity: iothub-connection-auth-generation-id.
    std::string generation_id = {};
};

struct StoredEvent {
    uint32_t partition = 0;
    uint64_t sequence_number = 0;
    int64_t enqueued_time_ms = 0;
    D2cMessage message;
};

struct EventPosition {
    uint32_t partition = 0;
    uint64_t sequence_number = 0;
};

constexpr uint64_t kUnlimitedRetentionBytes = UINT64_MAX;

struct D2cLogConfig {
    uint32_t partitions = 4;
    // Partition p lives in "<file_prefix>-<p>-<first seq>.log" segments (other streams, e.g.
    // monitoring, reuse the log with another prefix).
    std::string file_prefix = "d2c";
    // How long appends wait to share one sync (group commit).
    Duration group_commit_delay = Duration::millis(1);
    // Segment files roll when the next record would make the newest one larger than this
    // (Event Hubs and Kafka use segments of this order; one record may overshoot it).
    uint64_t segment_bytes = 64ull << 20;
    // Oldest segments go when a partition's files exceed this. kUnlimitedRetentionBytes: never.
    uint64_t retention_bytes = kUnlimitedRetentionBytes;
    // Oldest segments go when their newest event is older than this (IoT Hub's default D2C
    // retention is one day).
    Duration retention = Duration::seconds(24 * 3600);
    // Records (frame bytes) of the newest committed events kept decoded in RAM per partition;
    // older retained events are read back from disk on demand. UINT64_MAX: all of them.
    uint64_t cache_bytes = UINT64_MAX;
    // A planted bug for proving the checkers: acknowledge without syncing. Never set it
    // outside tests and `hubsim --plant-bug skip-sync`.
    bool planted_bug_skip_sync = false;
};

class D2cLog {
  public:
    using AppendDone = std::function<void(Result<EventPosition>)>;

    // Recovers every partition from env.disk(). Errors: corruption, io_error.
    static Result<std::unique_ptr<D2cLog>> open(Env& env, D2cLogConfig config);
    ~D2cLog();
    D2cLog(const D2cLog&) = delete;
    D2cLog& operator=(const D2cLog&) = delete;

    // Appends and, once durable, calls done with the event's position. Errors (through done):
    // invalid_argument (too large), unavailable (the log failed).
    void append(D2cMessage message, AppendDone done);

    // Called after each group commit that made events readable (readers tailing the log).
    // Listeners may add or remove listeners, and append, from inside the call.
    using CommitListener = std::function<void()>;
    uint64_t add_commit_listener(CommitListener listener);
    void remove_commit_listener(uint64_t id);

    uint32_t partition_of(std::string_view device_id) const;
    uint32_t partition_count() const { return config_.partitions; }
    // The committed events of one partition kept decoded in RAM, in sequence order: the newest
    // retained ones (all retained ones unless `cache_bytes` limits them). Readers that must see
    // every retained event use event_at() from first_sequence_number().
    const std::deque<StoredEvent>& events(uint32_t partition) const;
    // The oldest retained committed event's sequence number; end_sequence_number() when none is
    // retained (then the next event gets it).
    uint64_t first_sequence_number(uint32_t partition) const;
    // One past the newest committed event (0 for a partition that never had one).
    uint64_t end_sequence_number(uint32_t partition) const;
    // The committed event with this sequence number, or nullptr (not yet committed, gone, or
    // unreadable from disk). The pointer is valid until the next event_at() for the partition
    // or the next change to the log. Not in the RAM cache: read back from its segment.
    const StoredEvent* event_at(uint32_t partition, uint64_t sequence_number) const;
    // The first retained sequence number whose event was enqueued at or after `utc_ms` (after
    // it, when `inclusive` is false); end_sequence_number() when none was.
    uint64_t first_enqueued_from(uint32_t partition, int64_t utc_ms, bool inclusive) const;
    size_t uncommitted_count() const { return pending_.size() + in_flight_.size(); }
    // Segment files of one partition, oldest first (tests, reports).
    std::vector<std::string> segment_files(uint32_t partition) const;
    // Removes expired and excess segments now (also runs after commits and on a timer).
    void enforce_retention();

  private:
    struct Segment {
        uint64_t first_sequence_number = 0;
        uint64_t end_sequence_number = 0;  // one past the last event appended to it
        int64_t newest_enqueued_ms = 0;    // meaningless while it holds no event
        bool header_durable = false;       // its file exists durably (recovered or created)
        std::unique_ptr<store::RecordLog> file;
    };
    // Where a retained committed event lives on disk.
    struct IndexEntry {
        const store::RecordLog* file = nullptr;  // its segment's (owned by `segments`)
        uint64_t offset = 0;                     // of its frame in that file
        int64_t enqueued_ms = 0;
        uint32_t frame_bytes = 0;
    };
    struct Partition {
        std::deque<Segment> segments;  // oldest first; back() takes appends
        // Every retained committed event: index i is sequence number committed_end - size + i.
        std::deque<IndexEntry> index;
        std::deque<StoredEvent> committed;     // the newest of them, decoded (the RAM cache)
        std::deque<uint32_t> committed_frames;  // their frame bytes
        uint64_t cached_bytes = 0;              // sum of committed_frames
        mutable StoredEvent read_back;          // the last event event_at() read from disk
        uint64_t next_sequence_number = 0;
        uint64_t committed_end = 0;            // one past the newest committed event
        // Written since the last commit started. Never dangling: a segment holding an
        // uncommitted event is not dropped.
        std::vector<const store::RecordLog*> dirty_files;
    };
    struct Pending {
        StoredEvent event;
        AppendDone done;
        IndexEntry where;
    };

    D2cLog(Env& env, D2cLogConfig config) : env_(env), config_(config) {}
    Status recover_partition(uint32_t p);
    Status recover_segment(uint32_t p, Segment& segment, bool* gap);
    Result<Segment> open_segment(uint32_t p, uint64_t first_sequence_number);
    Status roll_if_full(uint32_t p, size_t record_bytes);
    void mark_dirty(Partition& part);
    void retain(Partition& part, StoredEvent event, const IndexEntry& where);
    bool drop_oldest_if_due(uint32_t p, int64_t cutoff_ms);
    Status roll_expired_active(uint32_t p, int64_t cutoff_ms);
    void arm_retention_timer();
    bool retention_check_due() const;
    std::string partition_file(uint32_t p) const;  // the pre-segment name, refused if found
    std::string segment_file(uint32_t p, uint64_t first_sequence_number) const;
    void fail_later(AppendDone done, Status status);
    void commit();
    void on_synced(Status status);
    void finish_commit();
    void schedule_commit(Instant at);
    void notify_listeners();

    Env& env_;
    D2cLogConfig config_;
    std::deque<Partition> partitions_;  // a deque: Partition is move-only and never relocates
    std::vector<Pending> pending_;    // appended, waiting for the next commit
    std::vector<Pending> in_flight_;  // appended, their commit's syncs in flight
    Status in_flight_status_;
    size_t syncs_outstanding_ = 0;
    std::vector<uint64_t> sync_ids_;  // of the commit in flight, for cancel_sync()
    std::vector<std::pair<AppendDone, Result<EventPosition>>> calls_;  // reused by finish_commit
    bool commit_in_flight_ = false;
    TimerId commit_timer_ = 0;
    bool commit_scheduled_ = false;
    bool failed_ = false;
    std::map<uint64_t, TimerId> deferred_;
    std::map<uint64_t, CommitListener> listeners_;
    std::unique_ptr<DeadlineTimer> retention_timer_;
    std::optional<int64_t> retention_due_ms_;  // UTC ms the timer is armed for
    bool retention_waits_for_commit_ = false;  // a due segment held uncommitted events
    uint64_t next_listener_ = 1;  // error callbacks waiting to run, by ticket
    uint64_t next_ticket_ = 0;
};

Bytes encode_event(const StoredEvent& event);
Result<StoredEvent> decode_event(ByteView bytes);

}  // namespace hub
