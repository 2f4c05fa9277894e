// PosixDisk: hub::Disk over real files under one root directory.
//
// A Disk name is a path relative to the root ("d2c-0.log" or "d2c/0.log"; no "..", no leading
// '/', no empty or "." parts). Files are opened read-write (not O_APPEND: Linux ignores the
// offset of pwrite(2) on O_APPEND descriptors) and made, with their parent directories, on
// first use; the directory is fsynced after a file is created so the new entry survives a
// crash. append() is pwrite(2) at the current end, pwrite() is pwrite(2) at an offset no
// further than the end, sync() is fsync(2), sync_async() is fsync(2) now with its callback
// posted to the event loop (the `post` function RealEnv passes: done never runs inside the
// call; no thread is needed because the hub's event loop is the only caller), read() returns
// the whole file, truncate() is
// ftruncate(2), remove() is unlink(2) plus an fsync of the directory, rename() is rename(2)
// plus an fsync of the destination's directory (and the source's, when it differs), list()
// walks the root recursively and returns the names of regular files sorted. Temporary files
// of write_file_atomic (`*.tmp`) are listed like any other file: the hub's store owns the
// names.
//
// Errors: ENOENT is not_found, ENOSPC/EDQUOT resource_exhausted; a write that fails after
// growing the file is cut back to the old size, so a full disk leaves the file as it was.
//
// Ownership: keeps at most `open_files_max` file descriptors open (a cache; closed on
// remove(), rename() and in the destructor). Threading: blocking calls on the Env's thread.
//
// Example:
//   PosixDisk disk("/var/lib/iothubd");
//   (void)disk.append("snap.tmp", bytes); (void)disk.sync("snap.tmp");
//   (void)disk.rename("snap.tmp", "snap");  // durable replacement
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "hub/env/env.hpp"

namespace hub::server {

class PosixDisk final : public Disk {
  public:
    // Runs a function later on the event loop's thread (RealEnv: asio::post on its io_context).
    using Post = std::function<void(std::function<void()>)>;

    // REQUIRES: `root` is an existing directory (RealEnv::open makes it). Without `post`,
    // sync_async() is unavailable (asserts).
    explicit PosixDisk(std::string root, Post post = {});
    ~PosixDisk() override;
    PosixDisk(const PosixDisk&) = delete;
    PosixDisk& operator=(const PosixDisk&) = delete;

    Status append(const std::string& name, ByteView bytes) override;
    Status pwrite(const std::string& name, uint64_t offset, ByteView bytes) override;
    Result<Bytes> read(const std::string& name) override;
    Result<Bytes> read_range(const std::string& name, uint64_t offset, uint64_t length) override;
    Status sync(const std::string& name) override;
    uint64_t sync_async(const std::string& name, SyncDone done) override;
    void cancel_sync(uint64_t id) override;
    Status truncate(const std::string& name, uint64_t size) override;
    Status remove(const std::string& name) override;
    Status rename(const std::string& from, const std::string& to) override;
    std::vector<std::string> list() override;

    const std::string& root() const { return root_; }

  private:
    // The hub keeps a handful of files (one log per partition, snapshots); 64 descriptors
    // leave room under the common 1024 soft limit for sockets.
    static constexpr size_t open_files_max = 64;

    // An open descriptor for `name`; with `create`, makes the file (and directories) if missing.
    Result<int> open_file(const std::string& name, bool create);
    Result<int> create_file(const std::string& path);
    void close_file(const std::string& name);
    Result<uint64_t> size_of(int fd, const std::string& name) const;
    // Writes at `offset`; on failure cuts the file back to `old_size` if it grew.
    Status write_at(int fd, const std::string& name, uint64_t offset, uint64_t old_size,
                    ByteView bytes);
    std::string path_of(const std::string& name) const;

    void finish_sync(uint64_t id, Status status);

    std::string root_;
    Post post_;
    std::map<std::string, int> fds_;
    std::map<uint64_t, SyncDone> pending_syncs_;  // posted, not yet called back (by id)
    uint64_t next_sync_id_ = 1;
};

// Ok when `name` is a valid Disk name (see above); invalid_argument with the reason otherwise.
Status check_disk_name(const std::string& name);

}  // namespace hub::server
