// CrashPointDisk: a Disk wrapper for crash tests that cuts the power after the N-th write.
//
// Concept: every mutating call (append, pwrite, sync, sync_async, truncate, remove, rename) is one "write
// index". With cut_after(n), the first n go through to the wrapped disk; from then on every
// mutating call fails with io_error and changes nothing, as if the machine lost power right
// there (reads still see what the process wrote: the process is about to die anyway). The
// test then destroys the store (its process died), calls SimDisk::crash() to drop or tear what
// was not synced, heals the cut and reopens. Running a workload once per n covers a crash at
// every disk write, including each step of a compaction. DiskEnv is an Env that hands out such
// a disk and forwards everything else to a base Env.
//
// Test-only (header-only, no state outside the object). Ownership: the wrapped Disk and the
// base Env must outlive the wrappers. Single-threaded.
//
// Example:
//   CrashPointDisk disk(node.sim_disk());
//   DiskEnv env(node, disk);
//   disk.cut_after(17);
//   run_workload(env);                   // stops changing the disk after 17 writes
//   store.reset(); node.sim_disk().crash(tear); disk.heal();
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "hub/env/env.hpp"

namespace hub::store {

class CrashPointDisk : public Disk {
  public:
    explicit CrashPointDisk(Disk& base) : base_(base) {}

    // Lets `writes` more mutating calls through, then cuts the power.
    void cut_after(uint64_t writes) { writes_left_ = writes; }
    void heal() { writes_left_ = kNoCut; }
    bool cut() const { return writes_left_ == 0; }
    // Mutating calls that reached the wrapped disk so far.
    uint64_t writes() const { return writes_; }

    Status append(const std::string& name, ByteView bytes) override {
        return write([&] { return base_.append(name, bytes); });
    }
    Status pwrite(const std::string& name, uint64_t offset, ByteView bytes) override {
        return write([&] { return base_.pwrite(name, offset, bytes); });
    }
    Result<Bytes> read(const std::string& name) override {
        return base_.read(name);
    }
    Result<Bytes> read_range(const std::string& name, uint64_t offset, uint64_t length) override {
        return base_.read_range(name, offset, length);
    }
    Status sync(const std::string& name) override {
        return write([&] { return base_.sync(name); });
    }
    Status truncate(const std::string& name, uint64_t size) override {
        return write([&] { return base_.truncate(name, size); });
    }
    Status remove(const std::string& name) override {
        return write([&] { return base_.remove(name); });
    }
    Status rename(const std::string& from, const std::string& to) override {
        return write([&] { return base_.rename(from, to); });
    }
    // One write at issue: the wrapped disk syncs blockingly then (so a cut later cannot undo
    // it), and its own sync_async of the same bytes brings the callback later. After the cut
    // nothing is flushed: the callback reports the power cut, deferred by a sync_async of a
    // name no file has (the wrapped disk answers that later with not_found).
    uint64_t sync_async(const std::string& name, SyncDone done) override {
        const Status issued = write([&] { return base_.sync(name); });
        const std::string target = cut() && !issued.ok() ? std::string(kNoFile) : name;
        return base_.sync_async(target, [issued, done = std::move(done)](Status later) {
            done(issued.ok() ? std::move(later) : issued);
        });
    }
    void cancel_sync(uint64_t id) override { base_.cancel_sync(id); }
    std::vector<std::string> list() override { return base_.list(); }

  private:
    static constexpr const char* kNoFile = "power-cut/no-such-file";
    static constexpr uint64_t kNoCut = std::numeric_limits<uint64_t>::max();
    static Status power_off() { return Status(Code::io_error, "power cut (crash test)"); }

    template <typename Fn>
    Status write(Fn fn) {
        if (cut()) return power_off();
        if (writes_left_ != kNoCut) --writes_left_;
        ++writes_;
        return fn();
    }

    Disk& base_;
    uint64_t writes_left_ = kNoCut;
    uint64_t writes_ = 0;
};

// An Env whose disk is `disk`; everything else is `base`'s.
class DiskEnv : public Env {
  public:
    DiskEnv(Env& base, Disk& disk) : base_(base), disk_(disk) {}
    Instant now() const override { return base_.now(); }
    int64_t utc_now_ms() const override { return base_.utc_now_ms(); }
    TimerId schedule(Instant at, std::function<void()> fn) override {
        return base_.schedule(at, std::move(fn));
    }
    void cancel(TimerId id) override { base_.cancel(id); }
    Random& random() override { return base_.random(); }
    Disk& disk() override { return disk_; }
    Network& network() override { return base_.network(); }
    bool buggify(std::string_view site) override { return base_.buggify(site); }
    void trace(std::string_view kind, std::string_view detail) override {
        base_.trace(kind, detail);
    }

  private:
    Env& base_;
    Disk& disk_;
};

}  // namespace hub::store
