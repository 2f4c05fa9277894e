#include "simnet/sim_disk.hpp"

namespace simnet {

using hub::Code;
using hub::Status;

Status SimDisk::append(const std::string& name, hub::ByteView bytes) {
    File& f = files_[name];
    f.data.insert(f.data.end(), bytes.begin(), bytes.end());
    return Status::ok_status();
}

hub::Result<hub::Bytes> SimDisk::read(const std::string& name) {
    auto it = files_.find(name);
    if (it == files_.end()) {
        return Status(Code::not_found, name + ": no such file");
    }
    return it->second.data;
}

Status SimDisk::sync(const std::string& name) {
    auto it = files_.find(name);
    if (it == files_.end()) {
        return Status(Code::not_found, name + ": no such file");
    }
    if (fail_syncs_) {
        return Status(Code::io_error, name + ": sync failed (simulated)");
    }
    ++syncs_;
    it->second.synced_size = it->second.data.size();
    return Status::ok_status();
}

Status SimDisk::truncate(const std::string& name, uint64_t size) {
    auto it = files_.find(name);
    if (it == files_.end()) {
        return Status(Code::not_found, name + ": no such file");
    }
    File& f = it->second;
    if (size > f.data.size()) {
        return Status(Code::invalid_argument, name + ": truncate beyond end");
    }
    f.data.resize(size);
    f.synced_size = std::min<uint64_t>(f.synced_size, size);
    return Status::ok_status();
}

Status SimDisk::remove(const std::string& name) {
    if (files_.erase(name) == 0) {
        return Status(Code::not_found, name + ": no such file");
    }
    return Status::ok_status();
}

std::vector<std::string> SimDisk::list() {
    std::vector<std::string> names;
    for (const auto& [name, file] : files_) {
        names.push_back(name);
    }
    return names;
}

void SimDisk::crash(hub::Random& random) {
    for (auto& [name, f] : files_) {
        const uint64_t unsynced = f.data.size() - f.synced_size;
        uint64_t kept = 0;
        if (unsynced > 0 && random.chance(1, 2)) {
            // A torn write: some whole sectors of the tail made it to the platter.
            const uint64_t sectors = unsynced / kSectorBytes;
            kept = random.uniform(sectors + 1) * kSectorBytes;
        }
        f.data.resize(f.synced_size + kept);
        f.synced_size = f.data.size();
    }
}

uint64_t SimDisk::unsynced_bytes() const {
    uint64_t total = 0;
    for (const auto& [name, f] : files_) {
        total += f.data.size() - f.synced_size;
    }
    return total;
}

}  // namespace simnet
