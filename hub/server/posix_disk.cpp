#include "hub/server/posix_disk.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "hub/server/posix_file.hpp"

namespace hub::server {
namespace {

// Longest accepted name; far below PATH_MAX (4096) so root + name always fits.
constexpr size_t disk_name_bytes_max = 1024;

}  // namespace

Status check_disk_name(const std::string& name) {
    auto invalid = [&](const char* why) {
        return Status(Code::invalid_argument, "bad disk file name '" + name + "': " + why);
    };
    if (name.empty() || name.size() > disk_name_bytes_max) {
        return invalid("empty or too long");
    }
    if (name.find('\0') != std::string::npos) {
        return invalid("contains NUL");
    }
    if (name.front() == '/' || name.back() == '/') {
        return invalid("starts or ends with '/'");
    }
    size_t start = 0;
    while (start <= name.size()) {
        size_t end = std::min(name.find('/', start), name.size());
        std::string_view part(name.data() + start, end - start);
        if (part.empty() || part == "." || part == "..") {
            return invalid("has an empty, '.' or '..' part");
        }
        start = end + 1;
    }
    return Status::ok_status();
}

PosixDisk::PosixDisk(std::string root, Post post) : root_(std::move(root)), post_(std::move(post)) {
    HUB_ASSERT(!root_.empty());
    while (root_.size() > 1 && root_.back() == '/') {
        root_.pop_back();
    }
}

PosixDisk::~PosixDisk() {
    for (auto& [name, fd] : fds_) {
        ::close(fd);
    }
}

std::string PosixDisk::path_of(const std::string& name) const { return root_ + "/" + name; }

void PosixDisk::close_file(const std::string& name) {
    auto it = fds_.find(name);
    if (it != fds_.end()) {
        ::close(it->second);
        fds_.erase(it);
    }
}

Result<int> PosixDisk::create_file(const std::string& path) {
    if (Status s = make_dirs(parent_dir(path)); !s.ok()) {
        return s;
    }
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST) {
        fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);  // made by someone else
    } else if (fd >= 0) {
        // The new directory entry must be durable before any sync() of the file means anything.
        if (Status s = fsync_dir(parent_dir(path)); !s.ok()) {
            ::close(fd);
            return s;
        }
    }
    if (fd < 0) {
        return errno_status("create", path, errno);
    }
    return fd;
}

Result<int> PosixDisk::open_file(const std::string& name, bool create) {
    if (Status s = check_disk_name(name); !s.ok()) {
        return s;
    }
    if (auto it = fds_.find(name); it != fds_.end()) {
        return it->second;
    }
    const std::string path = path_of(name);
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0 && !(errno == ENOENT && create)) {
        return errno_status("open", path, errno);
    }
    if (fd < 0) {
        Result<int> created = create_file(path);
        if (!created.ok()) {
            return created;
        }
        fd = *created;
    }
    if (fds_.size() >= open_files_max) {
        close_file(fds_.begin()->first);  // any victim will do: reopening is cheap
    }
    fds_.emplace(name, fd);
    HUB_ASSERT(fds_.size() <= open_files_max);
    return fd;
}

Result<uint64_t> PosixDisk::size_of(int fd, const std::string& name) const {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        return errno_status("stat", path_of(name), errno);
    }
    return static_cast<uint64_t>(st.st_size);
}

Status PosixDisk::write_at(int fd, const std::string& name, uint64_t offset, uint64_t old_size,
                           ByteView bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done,
                                   static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            const Status failed = errno_status("write", path_of(name), errno);
            if (offset + done > old_size) {
                (void)::ftruncate(fd, static_cast<off_t>(old_size));  // best effort: undo growth
            }
            return failed;
        }
        HUB_ASSERT(n > 0);
        done += static_cast<size_t>(n);
    }
    HUB_ASSERT(done == bytes.size());
    return Status::ok_status();
}

Status PosixDisk::append(const std::string& name, ByteView bytes) {
    Result<int> fd = open_file(name, /*create=*/true);
    if (!fd.ok()) {
        return fd.status();
    }
    Result<uint64_t> size = size_of(*fd, name);
    if (!size.ok()) {
        return size.status();
    }
    return write_at(*fd, name, *size, *size, bytes);
}

Status PosixDisk::pwrite(const std::string& name, uint64_t offset, ByteView bytes) {
    Result<int> fd = open_file(name, /*create=*/offset == 0);
    if (!fd.ok()) {
        return fd.status();
    }
    Result<uint64_t> size = size_of(*fd, name);
    if (!size.ok()) {
        return size.status();
    }
    if (offset > *size) {
        return Status(Code::invalid_argument, "pwrite " + path_of(name) + " at " +
                                                  std::to_string(offset) + ": file has only " +
                                                  std::to_string(*size) + " bytes");
    }
    return write_at(*fd, name, offset, *size, bytes);
}

Result<Bytes> PosixDisk::read(const std::string& name) {
    Result<int> fd = open_file(name, /*create=*/false);
    if (!fd.ok()) {
        return fd.status();
    }
    struct stat st {};
    if (::fstat(*fd, &st) != 0) {
        return errno_status("stat", path_of(name), errno);
    }
    Bytes bytes(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::pread(*fd, bytes.data() + done, bytes.size() - done,
                            static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return errno_status("read", path_of(name), errno);
        }
        if (n == 0) {
            bytes.resize(done);  // shrank under us (another process): return what is there
            break;
        }
        done += static_cast<size_t>(n);
    }
    return bytes;
}

Result<Bytes> PosixDisk::read_range(const std::string& name, uint64_t offset, uint64_t length) {
    Result<int> fd = open_file(name, /*create=*/false);
    if (!fd.ok()) {
        return fd.status();
    }
    Bytes bytes(static_cast<size_t>(length));
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::pread(*fd, bytes.data() + done, bytes.size() - done,
                            static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return errno_status("read", path_of(name), errno);
        }
        if (n == 0) {
            break;  // the end of the file
        }
        done += static_cast<size_t>(n);
    }
    bytes.resize(done);
    return bytes;
}

Status PosixDisk::sync(const std::string& name) {
    Result<int> fd = open_file(name, /*create=*/false);
    if (!fd.ok()) {
        return fd.status();
    }
    if (::fsync(*fd) != 0) {
        return errno_status("fsync", path_of(name), errno);
    }
    return Status::ok_status();
}

uint64_t PosixDisk::sync_async(const std::string& name, SyncDone done) {
    HUB_ASSERT(post_ && done);
    const uint64_t id = next_sync_id_++;
    Status status = sync(name);  // blocking fsync on the loop's thread; the caller hears later
    pending_syncs_.emplace(id, std::move(done));
    post_([this, id, status] { finish_sync(id, status); });
    return id;
}

void PosixDisk::finish_sync(uint64_t id, Status status) {
    auto it = pending_syncs_.find(id);
    if (it == pending_syncs_.end()) {
        return;  // cancelled
    }
    SyncDone done = std::move(it->second);
    pending_syncs_.erase(it);
    done(status);
}

void PosixDisk::cancel_sync(uint64_t id) { pending_syncs_.erase(id); }

Status PosixDisk::truncate(const std::string& name, uint64_t size) {
    Result<int> fd = open_file(name, /*create=*/false);
    if (!fd.ok()) {
        return fd.status();
    }
    struct stat st {};
    if (::fstat(*fd, &st) != 0) {
        return errno_status("stat", path_of(name), errno);
    }
    if (size > static_cast<uint64_t>(st.st_size)) {
        return Status(Code::invalid_argument, "truncate " + path_of(name) + " to " +
                                                  std::to_string(size) + " bytes: file has only " +
                                                  std::to_string(st.st_size));
    }
    if (::ftruncate(*fd, static_cast<off_t>(size)) != 0) {
        return errno_status("truncate", path_of(name), errno);
    }
    return Status::ok_status();
}

Status PosixDisk::remove(const std::string& name) {
    if (Status s = check_disk_name(name); !s.ok()) {
        return s;
    }
    close_file(name);
    const std::string path = path_of(name);
    if (::unlink(path.c_str()) != 0) {
        return errno_status("remove", path, errno);
    }
    return fsync_dir(parent_dir(path));
}

Status PosixDisk::rename(const std::string& from, const std::string& to) {
    if (Status s = check_disk_name(from); !s.ok()) {
        return s;
    }
    if (Status s = check_disk_name(to); !s.ok()) {
        return s;
    }
    close_file(from);
    close_file(to);
    const std::string src = path_of(from);
    const std::string dst = path_of(to);
    struct stat st {};
    if (::stat(src.c_str(), &st) != 0) {
        return errno_status("rename", src, errno);
    }
    if (Status s = make_dirs(parent_dir(dst)); !s.ok()) {
        return s;
    }
    if (::rename(src.c_str(), dst.c_str()) != 0) {
        return errno_status("rename to " + dst, src, errno);
    }
    // The new entry (and the old one's removal) must be durable before we report success.
    if (Status s = fsync_dir(parent_dir(dst)); !s.ok()) {
        return s;
    }
    if (parent_dir(src) != parent_dir(dst)) {
        return fsync_dir(parent_dir(src));
    }
    return Status::ok_status();
}

std::vector<std::string> PosixDisk::list() {
    namespace fs = std::filesystem;
    std::vector<std::string> names;
    std::error_code ec;
    fs::recursive_directory_iterator it(root_, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code entry_ec;  // an entry that vanished mid-walk is just skipped
        if (it->is_regular_file(entry_ec)) {
            std::string full = it->path().generic_string();
            HUB_ASSERT(full.size() > root_.size() + 1);
            names.push_back(full.substr(root_.size() + 1));
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace hub::server
