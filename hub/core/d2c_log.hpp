// D2cLog: the partitioned device-to-cloud event log, with durable (group-committed) appends.
//
// Each partition is a RecordLog file "d2c-<p>.log" (the prefix is configurable). append() assigns the event its partition
// (a stable hash of the device id), sequence number and enqueued time, writes the record, and
// calls `done` only after a group commit has synced the partition file (Disk::sync_async, one
// commit in flight at a time: a slow disk delays acks and grows batches): an acknowledged
// event survives any crash. Readers see committed events only. A failed sync makes the log fail-stop
// (every later append fails with unavailable): the hub must restart and recover.
//
// Callbacks always run later from an Env timer, never inside append(). Single-threaded; the Env
// must outlive the log.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <map>
#include <string>
#include <utility>
#include <vector>

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

struct D2cLogConfig {
    uint32_t partitions = 4;
    // Partition p lives in "<file_prefix>-<p>.log" (other streams, e.g. monitoring, reuse the log).
    std::string file_prefix = "d2c";
    // How long appends wait to share one sync (group commit).
    Duration group_commit_delay = Duration::millis(1);
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
    // Committed events of one partition, in sequence order.
    const std::vector<StoredEvent>& events(uint32_t partition) const;
    size_t uncommitted_count() const { return pending_.size() + in_flight_.size(); }

  private:
    struct Partition {
        std::unique_ptr<store::RecordLog> file;
        std::vector<StoredEvent> committed;
        uint64_t next_sequence_number = 0;
        bool dirty = false;
    };
    struct Pending {
        StoredEvent event;
        AppendDone done;
    };

    D2cLog(Env& env, D2cLogConfig config) : env_(env), config_(config) {}
    Status recover_partition(uint32_t p);
    std::string partition_file(uint32_t p) const;
    void fail_later(AppendDone done, Status status);
    void commit();
    void on_synced(Status status);
    void finish_commit();
    void schedule_commit(Instant at);
    void notify_listeners();

    Env& env_;
    D2cLogConfig config_;
    std::vector<Partition> partitions_;
    std::vector<Pending> pending_;    // appended, waiting for the next commit
    std::vector<Pending> in_flight_;  // appended, their commit's syncs in flight
    Status in_flight_status_;
    size_t syncs_outstanding_ = 0;
    std::vector<uint64_t> sync_ids_;  // of the commit in flight, for cancel_sync()
    bool commit_in_flight_ = false;
    TimerId commit_timer_ = 0;
    bool commit_scheduled_ = false;
    bool failed_ = false;
    std::map<uint64_t, TimerId> deferred_;
    std::map<uint64_t, CommitListener> listeners_;
    uint64_t next_listener_ = 1;  // error callbacks waiting to run, by ticket
    uint64_t next_ticket_ = 0;
};

Bytes encode_event(const StoredEvent& event);
Result<StoredEvent> decode_event(ByteView bytes);

}  // namespace hub
