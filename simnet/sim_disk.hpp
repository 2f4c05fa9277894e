// SimDisk: one node's disk in memory, with crash semantics and media faults.
//
// Every file has a synced prefix and a volatile tail. append() grows the tail; pwrite() may
// also overwrite synced bytes, and until the next sync() the disk remembers their durable
// content sector by sector; sync() makes the whole file durable. truncate(), remove() and
// rename() are durable at once (metadata operations in this model: rename() stands for
// rename(2) followed by an fsync of the directory, which is what PosixDisk does).
//
// Faults, all deterministic (draws come only from the Random passed in):
// - crash(random): power loss. Each file keeps its synced prefix and, at random, a torn part
//   of its tail: whole 512-byte sectors counted from the synced size. Each sector of synced
//   data that pwrite() overwrote since the last sync ends up all-new or all-old. With
//   set_crash_garbage(true) (FoundationDB's AsyncFileNonDurable), the sector being written at
//   the tear may instead hold garbage, and so may the bytes an overwrite changed. Synced bytes
//   that nobody overwrote always survive (a real disk can garble a whole sector under an
//   in-place write; the model keeps the Disk contract instead, which is why logs append).
// - set_capacity_bytes(n): a write that would grow the disk past n bytes in total fails with
//   resource_exhausted ("no space left on device") and writes nothing.
// - set_read_corruption(num, den, random): each read() flips one bit of the returned copy with
//   probability num/den; the stored bytes stay intact (a transient media or bus error).
// - corrupt_stored_bit(name, offset, bit): flips a stored bit for good (a latent sector error).
// - set_fail_syncs(true): sync() and sync_async() fail with io_error (a dying disk).
// DiskStats counts what happened, for tests and fault-coverage reports.
//
// Asynchronous syncs (sync_async) need a Simulator (the constructor's): each completes after a
// delay drawn from set_sync_latency()'s model (default: 0, i.e. the next event at the same
// instant) with the disk's own Random, and never before an earlier sync of the same file (a
// device serialises flushes of one file). It makes durable exactly the bytes the file held when
// it was issued: later appends stay volatile, and a later pwrite over covered bytes leaves the
// issue-time content as the durable one. A crash before completion drops the sync (its bytes
// stay unsynced) and its callback; a blocking sync() of the file supersedes it.
//
// Example:
//   SimDisk disk;
//   disk.set_crash_garbage(true);
//   (void)disk.append("log", bytes); (void)disk.sync("log"); (void)disk.append("log", more);
//   disk.crash(random);  // "log" holds bytes, then maybe part of `more`, then maybe garbage
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>

#include "hub/env/env.hpp"
#include "simnet/latency.hpp"
#include "simnet/simulator.hpp"

namespace simnet {

constexpr uint64_t kSectorBytes = 512;
constexpr uint64_t kUnlimitedBytes = std::numeric_limits<uint64_t>::max();

struct DiskStats {
    uint64_t syncs = 0;                  // completed, blocking or asynchronous
    uint64_t async_syncs = 0;            // sync_async() calls that completed
    int64_t async_sync_wait_ns = 0;      // their summed issue-to-completion time
    uint64_t failed_syncs = 0;
    uint64_t bytes_written = 0;          // by append() and pwrite()
    uint64_t crashes = 0;
    uint64_t bytes_lost_in_crashes = 0;  // unsynced bytes a crash dropped, reverted or garbled
    uint64_t garbage_sectors = 0;        // sectors a crash left holding garbage
    uint64_t corrupted_reads = 0;
    uint64_t stored_bits_flipped = 0;
    uint64_t enospc_errors = 0;
};

// Pending asynchronous syncs per disk: one per group commit per file in practice; bounded so a
// caller that never lets the simulator run fails loudly instead of growing without end.
constexpr size_t kPendingSyncsMax = 1 << 16;

class SimDisk : public hub::Disk {
  public:
    // Without a simulator, sync_async() is unavailable (asserts); everything else works.
    SimDisk() : SimDisk(nullptr, hub::Random(0)) {}
    SimDisk(Simulator* sim, hub::Random random)
        : sim_(sim), random_(random), sync_latency_(LatencyModel::fixed(hub::Duration{0})) {}
    ~SimDisk() override;
    SimDisk(const SimDisk&) = delete;
    SimDisk& operator=(const SimDisk&) = delete;

    hub::Status append(const std::string& name, hub::ByteView bytes) override;
    hub::Status pwrite(const std::string& name, uint64_t offset, hub::ByteView bytes) override;
    hub::Result<hub::Bytes> read(const std::string& name) override;
    hub::Result<hub::Bytes> read_range(const std::string& name, uint64_t offset,
                                       uint64_t length) override;
    hub::Status sync(const std::string& name) override;
    uint64_t sync_async(const std::string& name, SyncDone done) override;
    void cancel_sync(uint64_t id) override;
    hub::Status truncate(const std::string& name, uint64_t size) override;
    hub::Status remove(const std::string& name) override;
    hub::Status rename(const std::string& from, const std::string& to) override;
    std::vector<std::string> list() override;

    // Power loss (see the header comment).
    void crash(hub::Random& random);
    void set_crash_garbage(bool on) { crash_garbage_ = on; }
    void set_fail_syncs(bool fail) { fail_syncs_ = fail; }
    // Delay of each sync_async() from issue to completion (a device's flush latency).
    void set_sync_latency(LatencyModel model) { sync_latency_ = model; }
    const LatencyModel& sync_latency() const { return sync_latency_; }
    size_t pending_syncs() const { return pending_.size(); }
    // Crash-point exploration: after `writes` more-or-less durable events (append, pwrite,
    // truncate, remove, rename, blocking sync, completion of a sync_async) the disk freezes:
    // later calls do nothing (returning ok) and no flush completes or calls back, so a crash()
    // afterwards is a crash right after that event while the process ran on. nullopt: never.
    void set_freeze_after_writes(std::optional<uint64_t> writes);
    uint64_t writes() const { return writes_; }
    bool frozen() const { return frozen_; }
    // kUnlimitedBytes (the default) turns the limit off.
    void set_capacity_bytes(uint64_t capacity_bytes) { capacity_bytes_ = capacity_bytes; }
    // REQUIRES: denominator > 0. A numerator of 0 turns read corruption off.
    void set_read_corruption(uint64_t numerator, uint64_t denominator, hub::Random random);
    // Flips bit `bit` (0..7) of the stored byte at `offset`. Errors: not_found, invalid_argument
    // (offset past the end).
    hub::Status corrupt_stored_bit(const std::string& name, uint64_t offset, unsigned bit = 0);

    // Bytes a crash could lose now: unsynced tails plus overwritten synced sectors.
    uint64_t unsynced_bytes() const;
    // Sum of all file sizes (what the capacity limits).
    uint64_t used_bytes() const;
    uint64_t syncs() const { return stats_.syncs; }
    const DiskStats& stats() const { return stats_; }

  private:
    hub::Bytes maybe_corrupted(hub::ByteView bytes);
    struct File {
        hub::Bytes data;  // what the process sees
        uint64_t synced_size = 0;
        // Durable content of synced sectors that pwrite() overwrote since the last sync, by
        // sector index (clipped to synced_size). A crash may put it back.
        std::map<uint64_t, hub::Bytes> undo;
        Instant last_sync_done{0};  // completion time of the latest sync_async() issued
    };
    struct PendingSync {
        std::string name;
        uint64_t size = 0;  // bytes the sync covers: the file's size at issue, clipped by truncate
        // Issue-time content of covered sectors a pwrite changed since (clipped to `size`).
        std::map<uint64_t, hub::Bytes> saved;
        bool superseded = false;  // a blocking sync, remove or replacement made it moot
        Instant issued{0};
        TimerId event = 0;
        SyncDone done;
    };

    hub::Status check_space(const std::string& name, uint64_t growth_bytes);
    static void save_undo(File& f, uint64_t begin, uint64_t end);
    void crash_overwrites(File& f, hub::Random& random);
    void crash_tail(File& f, hub::Random& random);
    static void fill_garbage(hub::Bytes& data, uint64_t begin, uint64_t end, hub::Random& random);
    static void complete_sync_event(void* self, uint64_t id);
    void complete_sync(uint64_t id);
    void apply_sync(File& f, PendingSync& p);
    void save_for_pending(const std::string& name, const File& f, uint64_t begin, uint64_t end);
    void supersede_pending(const std::string& name);

    Simulator* sim_;
    hub::Random random_;
    LatencyModel sync_latency_;
    bool skip_frozen();

    std::map<uint64_t, PendingSync> pending_;  // by id, issue order
    std::optional<uint64_t> freeze_after_writes_;
    uint64_t writes_ = 0;  // durable-state events so far (see set_freeze_after_writes)
    bool frozen_ = false;
    uint64_t next_sync_id_ = 1;

    std::map<std::string, File> files_;
    bool fail_syncs_ = false;
    bool crash_garbage_ = false;
    uint64_t capacity_bytes_ = kUnlimitedBytes;
    uint64_t read_corruption_numerator_ = 0;
    uint64_t read_corruption_denominator_ = 1;
    std::optional<hub::Random> read_corruption_random_;
    DiskStats stats_;
};

}  // namespace simnet
