// Compaction: replace an ever-growing RecordLog file by one holding only the live state.
//
// Concept. A store that logs every change replays the whole history at open and its file
// grows without bound. When the log is much larger than the state it describes, the store
// writes its live state as records (record kinds its replay already understands, so replaying
// the compact file gives the same state as replaying the old one) and swaps the file:
//   1. remove any stray "<file>.compact";
//   2. write the records to "<file>.compact" through a RecordLog and sync it;
//   3. Disk::rename("<file>.compact", "<file>"): atomic and durable, so the name points at the
//      old, complete log or at the new, complete and synced one, never at a mix;
//   4. reopen "<file>" (RecordLog::recover) and go on appending there.
// A crash before step 3 leaves the old log whole (its own torn tail is handled by recover())
// and a stray "<file>.compact" that open must delete (remove_stray_compaction); a crash after
// step 3 finds the compact file, every byte of it synced. Nothing is lost either way, because
// the snapshot holds every change that was appended to the old log before compaction began.
//
// When: compaction_due() says yes once the log exceeds max(live_factor x live, floor_bytes).
// The factor bounds the disk a store uses (at most live_factor times its live state, plus the
// floor) and the write amplification (a compaction rewrites the live bytes at most once per
// (live_factor - 1) x live bytes appended: a third more writes for a factor of 4). The floor
// keeps small logs alone: replaying a megabyte takes milliseconds, and each compaction costs
// two syncs and a rename. Stores call it at a safe point: after a commit, with no append in
// flight.
//
// Ownership: the Disk must outlive the writer and the RecordLog it returns. Not thread-safe.
//
// Example:
//   CompactionWriter w(disk, "registry.log", env.random().next_u64());
//   for (const Bytes& r : live_records) { if (!w.add(r).ok()) ... }
//   Result<std::unique_ptr<RecordLog>> log = w.finish();
//   if (!log.ok() && w.replaced()) { /* the file was swapped but is unreadable: fail-stop */ }
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "hub/env/env.hpp"
#include "hub/store/record_log.hpp"

namespace hub::store {

// A log may grow to this many times its live state before it is compacted (see above).
constexpr uint64_t kCompactionLiveFactor = 4;
// Logs below this size are never compacted: replaying them is cheap (see above).
constexpr uint64_t kCompactionFloorBytes = 1u << 20;
static_assert(kCompactionLiveFactor >= 2, "a factor below 2 would compact nearly every commit");

struct CompactionPolicy {
    uint64_t live_factor = kCompactionLiveFactor;
    uint64_t floor_bytes = kCompactionFloorBytes;
};

// True when a log of `log_bytes` describing `live_bytes` of state should be compacted.
bool compaction_due(const CompactionPolicy& policy, uint64_t log_bytes, uint64_t live_bytes);
// Bytes a record of `payload_bytes` takes in a log (what stores add up to size their logs).
constexpr uint64_t record_bytes(uint64_t payload_bytes) {
    return kRecordHeaderBytes + payload_bytes;
}
// "<file>.compact": where a compaction of `file_name` is written before it is renamed.
std::string compaction_file_name(const std::string& file_name);
// Deletes a "<file>.compact" a crash left behind (ok if there is none). Call at open, before
// the store's RecordLog::recover(). Errors: io_error.
Status remove_stray_compaction(Disk& disk, const std::string& file_name);

class CompactionWriter {
  public:
    // The compacted file gets this salt: a fresh draw from Env::random() (see record_log.hpp;
    // a predictable salt would let peer-chosen bytes pass for records).
    CompactionWriter(Disk& disk, std::string file_name, uint64_t new_file_salt);
    CompactionWriter(const CompactionWriter&) = delete;
    CompactionWriter& operator=(const CompactionWriter&) = delete;

    // Appends one record of the live state to "<file>.compact". After an error the writer is
    // dead (later calls return the same error) and the old log is untouched.
    Status add(ByteView payload);
    // Syncs "<file>.compact", renames it over "<file>" and returns a RecordLog recovered on the
    // new file, which holds exactly the records added. Call once. Errors: those of the disk;
    // corruption if the new file does not read back as written.
    Result<std::unique_ptr<RecordLog>> finish();
    // True once finish() attempted the rename: the store's old RecordLog may no longer name
    // the file it wrote, so a failure from here on must stop the store.
    bool replaced() const { return replaced_; }
    uint64_t records() const { return records_; }
    // Bytes of the records added; the file also holds RecordLog's header (kFileHeaderBytes).
    uint64_t bytes() const { return bytes_; }

  private:
    Status start();

    Disk& disk_;
    std::string file_name_;
    std::string compact_name_;
    RecordLog log_;
    Status status_;
    bool started_ = false;
    bool finished_ = false;
    bool replaced_ = false;
    uint64_t records_ = 0;
    uint64_t bytes_ = 0;
};

}  // namespace hub::store
