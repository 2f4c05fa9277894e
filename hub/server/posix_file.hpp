// posix_file: small blocking POSIX helpers shared by PosixDisk and TlsCert (private to hub/server).
//
// Every helper returns a Status carrying the operation, the path and strerror(errno), e.g.
// "fsync /data/hub/d2c-0.log: Input/output error". ENOENT maps to not_found, ENOSPC and EDQUOT
// to resource_exhausted, anything else to io_error. The helpers retry EINTR and short writes.
//
// Threading: blocking calls on the caller's thread; no state.
#pragma once

#include <string>
#include <string_view>

#include "hub/env/env.hpp"

namespace hub::server {

// A Status for a failed POSIX call. REQUIRES: err != 0.
Status errno_status(std::string_view op, const std::string& path, int err);

// Writes all of `bytes` to `fd` (retrying short writes and EINTR). `path` is for messages.
Status write_all(int fd, ByteView bytes, const std::string& path);

// fsync(2) on a directory, so that entries created or removed in it are durable.
Status fsync_dir(const std::string& dir);

// mkdir -p with mode 0755 for new directories, fsyncing each parent that gained an entry.
Status make_dirs(const std::string& dir);

// Writes a whole file durably: to `path.tmp`, fsync, rename over `path`, fsync the directory.
Status write_file_atomic(const std::string& path, ByteView bytes, int mode);

// The parent directory of `path` ("." when it has none).
std::string parent_dir(const std::string& path);

}  // namespace hub::server
