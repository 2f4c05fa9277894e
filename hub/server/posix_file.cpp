#include "hub/server/posix_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hub::server {

Status errno_status(std::string_view op, const std::string& path, int err) {
    HUB_ASSERT(err != 0);
    Code code = Code::io_error;
    if (err == ENOENT) {
        code = Code::not_found;
    } else if (err == ENOSPC || err == EDQUOT) {
        code = Code::resource_exhausted;
    }
    return Status(code, std::string(op) + " " + path + ": " + std::strerror(err));
}

Status write_all(int fd, ByteView bytes, const std::string& path) {
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno_status("write", path, errno);
        }
        HUB_ASSERT(n > 0 || bytes.size() == done);
        done += static_cast<size_t>(n);
    }
    HUB_ASSERT(done == bytes.size());
    return Status::ok_status();
}

Status fsync_dir(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return errno_status("open directory", dir, errno);
    }
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) {
        return errno_status("fsync directory", dir, err);
    }
    return Status::ok_status();
}

std::string parent_dir(const std::string& path) {
    size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) {
        return ".";
    }
    if (slash == 0) {
        return "/";
    }
    return path.substr(0, slash);
}

Status make_dirs(const std::string& dir) {
    if (dir.empty() || dir == "/" || dir == ".") {
        return Status::ok_status();
    }
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            return Status(Code::io_error, dir + " exists and is not a directory");
        }
        return Status::ok_status();
    }
    const std::string parent = parent_dir(dir);
    if (Status s = make_dirs(parent); !s.ok()) {
        return s;
    }
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        return errno_status("mkdir", dir, errno);
    }
    return fsync_dir(parent);
}

Status write_file_atomic(const std::string& path, ByteView bytes, int mode) {
    const std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        return errno_status("create", tmp, errno);
    }
    Status status = write_all(fd, bytes, tmp);
    if (status.ok() && ::fsync(fd) != 0) {
        status = errno_status("fsync", tmp, errno);
    }
    ::close(fd);
    if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
        status = errno_status("rename to " + path, tmp, errno);
    }
    if (!status.ok()) {
        ::unlink(tmp.c_str());
        return status;
    }
    return fsync_dir(parent_dir(path));
}

}  // namespace hub::server
