#include "simnet/sim_disk.hpp"

#include <algorithm>

namespace simnet {

using hub::Code;
using hub::Status;

namespace {

Status no_such_file(const std::string& name) {
    return Status(Code::not_found, name + ": no such file");
}

}  // namespace

Status SimDisk::check_space(const std::string& name, uint64_t growth_bytes) {
    if (capacity_bytes_ == kUnlimitedBytes || growth_bytes == 0) {
        return Status::ok_status();
    }
    const uint64_t used = used_bytes();
    if (used > capacity_bytes_ || growth_bytes > capacity_bytes_ - used) {
        ++stats_.enospc_errors;
        return Status(Code::resource_exhausted, name + ": no space left on device");
    }
    return Status::ok_status();
}

Status SimDisk::append(const std::string& name, hub::ByteView bytes) {
    if (skip_frozen()) {
        return Status::ok_status();
    }
    if (Status s = check_space(name, bytes.size()); !s.ok()) {
        return s;
    }
    File& f = files_[name];
    f.data.insert(f.data.end(), bytes.begin(), bytes.end());
    stats_.bytes_written += bytes.size();
    return Status::ok_status();
}

// Remembers the durable content of every synced sector that [begin, end) touches.
void SimDisk::save_undo(File& f, uint64_t begin, uint64_t end) {
    const uint64_t synced_end = std::min(end, f.synced_size);
    if (begin >= synced_end) {
        return;
    }
    for (uint64_t sector = begin / kSectorBytes; sector * kSectorBytes < synced_end; ++sector) {
        if (f.undo.contains(sector)) {
            continue;  // the oldest durable content is the one a crash may bring back
        }
        const uint64_t lo = sector * kSectorBytes;
        const uint64_t hi = std::min(lo + kSectorBytes, f.synced_size);
        f.undo.emplace(sector, hub::Bytes(f.data.begin() + lo, f.data.begin() + hi));
    }
}

Status SimDisk::pwrite(const std::string& name, uint64_t offset, hub::ByteView bytes) {
    if (skip_frozen()) {
        return Status::ok_status();
    }
    auto it = files_.find(name);
    if (it == files_.end() && offset > 0) {
        return no_such_file(name);
    }
    const uint64_t size = it == files_.end() ? 0 : it->second.data.size();
    if (offset > size) {
        return Status(Code::invalid_argument, name + ": pwrite at " + std::to_string(offset) +
                                                  " past the end (" + std::to_string(size) + ")");
    }
    const uint64_t end = offset + bytes.size();
    if (Status s = check_space(name, end > size ? end - size : 0); !s.ok()) {
        return s;
    }
    File& f = files_[name];
    save_for_pending(name, f, offset, end);
    save_undo(f, offset, end);
    if (end > f.data.size()) {
        f.data.resize(end);
    }
    std::copy(bytes.begin(), bytes.end(), f.data.begin() + static_cast<std::ptrdiff_t>(offset));
    stats_.bytes_written += bytes.size();
    HUB_ASSERT(f.data.size() >= end);
    return Status::ok_status();
}

hub::Result<hub::Bytes> SimDisk::read(const std::string& name) {
    auto it = files_.find(name);
    if (it == files_.end()) {
        return no_such_file(name);
    }
    return maybe_corrupted(it->second.data);
}

hub::Result<hub::Bytes> SimDisk::read_range(const std::string& name, uint64_t offset,
                                            uint64_t length) {
    auto it = files_.find(name);
    if (it == files_.end()) {
        return no_such_file(name);
    }
    const hub::Bytes& data = it->second.data;
    const uint64_t begin = std::min<uint64_t>(offset, data.size());
    const uint64_t end = std::min<uint64_t>(data.size(), begin + length);
    return maybe_corrupted(hub::ByteView(data).subspan(begin, end - begin));
}

// A copy of what was read, with one bit flipped when read corruption is on and the draw says so.
hub::Bytes SimDisk::maybe_corrupted(hub::ByteView bytes) {
    hub::Bytes copy(bytes.begin(), bytes.end());
    if (read_corruption_random_ && !copy.empty() &&
        read_corruption_random_->chance(read_corruption_numerator_,
                                        read_corruption_denominator_)) {
        const uint64_t byte = read_corruption_random_->uniform(copy.size());
        copy[byte] ^= static_cast<uint8_t>(1u << read_corruption_random_->uniform(8));
        ++stats_.corrupted_reads;
    }
    return copy;
}

Status SimDisk::sync(const std::string& name) {
    if (skip_frozen()) {
        return Status::ok_status();
    }
    auto it = files_.find(name);
    if (it == files_.end()) {
        return no_such_file(name);
    }
    if (fail_syncs_) {
        ++stats_.failed_syncs;
        return Status(Code::io_error, name + ": sync failed (simulated)");
    }
    ++stats_.syncs;
    it->second.synced_size = it->second.data.size();
    it->second.undo.clear();
    supersede_pending(name);  // everything is durable now; older issue-time content is moot
    return Status::ok_status();
}

void SimDisk::set_freeze_after_writes(std::optional<uint64_t> writes) {
    freeze_after_writes_ = writes;
    frozen_ = writes.has_value() && writes_ >= *writes;
}

bool SimDisk::skip_frozen() {
    if (frozen_) {
        return true;
    }
    ++writes_;
    frozen_ = freeze_after_writes_.has_value() && writes_ >= *freeze_after_writes_;
    return false;  // this one still lands
}

SimDisk::~SimDisk() {
    for (const auto& [id, p] : pending_) {
        sim_->cancel(p.event);
    }
}

uint64_t SimDisk::sync_async(const std::string& name, SyncDone done) {
    HUB_ASSERT(sim_ != nullptr);  // a SimDisk without a Simulator has no time to complete in
    HUB_ASSERT(done);
    HUB_ASSERT(pending_.size() < kPendingSyncsMax);
    const uint64_t id = next_sync_id_++;
    if (frozen_) {
        return id;  // the machine is gone: this flush never completes, nobody hears
    }
    PendingSync p;
    p.name = name;
    p.issued = sim_->now();
    p.done = std::move(done);
    Instant at = sim_->now() + sync_latency_.draw(random_);
    auto it = files_.find(name);
    if (it == files_.end()) {
        at = sim_->now();  // completes with not_found
    } else {
        p.size = it->second.data.size();
        at = std::max(at, it->second.last_sync_done);  // flushes of one file complete in order
        it->second.last_sync_done = at;
    }
    p.event = sim_->schedule(at, SmallCallback{&SimDisk::complete_sync_event, this, id});
    pending_.emplace(id, std::move(p));
    return id;
}

void SimDisk::cancel_sync(uint64_t id) {
    auto it = pending_.find(id);
    if (it != pending_.end()) {
        it->second.done = nullptr;  // the flush still happens; nobody hears of it
    }
}

void SimDisk::complete_sync_event(void* self, uint64_t id) {
    static_cast<SimDisk*>(self)->complete_sync(id);
}

void SimDisk::complete_sync(uint64_t id) {
    auto it = pending_.find(id);
    HUB_ASSERT(it != pending_.end());
    PendingSync p = std::move(it->second);
    pending_.erase(it);
    if (skip_frozen()) {
        return;  // a completion is a durability event too: frozen before it, it never happened
    }
    auto file = files_.find(p.name);
    Status status = Status::ok_status();
    if (file == files_.end() && !p.superseded) {
        status = no_such_file(p.name);
    } else if (fail_syncs_) {
        ++stats_.failed_syncs;
        status = Status(Code::io_error, p.name + ": sync failed (simulated)");
    } else {
        ++stats_.syncs;
        ++stats_.async_syncs;
        stats_.async_sync_wait_ns += (sim_->now() - p.issued).ns;
        if (!p.superseded) {
            apply_sync(file->second, p);
        }
    }
    if (p.done) {
        p.done(status);
    }
}

// The file's first p.size bytes become durable with their content at issue time: sectors a
// pwrite changed since keep that content as their durable (undo) version, the others are
// durable as they are.
void SimDisk::apply_sync(File& f, PendingSync& p) {
    HUB_ASSERT(p.size <= f.data.size());
    HUB_ASSERT(f.synced_size <= p.size);  // in-order completion; sync() supersedes
    const uint64_t covered_sectors = (p.size + kSectorBytes - 1) / kSectorBytes;
    for (auto u = f.undo.begin(); u != f.undo.end() && u->first < covered_sectors;) {
        u = p.saved.contains(u->first) ? std::next(u) : f.undo.erase(u);
    }
    for (auto& [sector, content] : p.saved) {
        HUB_ASSERT(sector * kSectorBytes + content.size() <= p.size);
        f.undo[sector] = std::move(content);
    }
    f.synced_size = p.size;
}

void SimDisk::save_for_pending(const std::string& name, const File& f, uint64_t begin,
                               uint64_t end) {
    for (auto& [id, p] : pending_) {
        if (p.name != name || p.superseded || begin >= p.size) {
            continue;
        }
        const uint64_t stop = std::min(end, p.size);
        for (uint64_t sector = begin / kSectorBytes; sector * kSectorBytes < stop; ++sector) {
            if (p.saved.contains(sector)) {
                continue;  // the issue-time content is the first one saved
            }
            const uint64_t lo = sector * kSectorBytes;
            const uint64_t hi = std::min(lo + kSectorBytes, p.size);
            p.saved.emplace(sector, hub::Bytes(f.data.begin() + static_cast<std::ptrdiff_t>(lo),
                                               f.data.begin() + static_cast<std::ptrdiff_t>(hi)));
        }
    }
}

void SimDisk::supersede_pending(const std::string& name) {
    for (auto& [id, p] : pending_) {
        if (p.name == name) {
            p.superseded = true;
            p.saved.clear();
        }
    }
}

Status SimDisk::truncate(const std::string& name, uint64_t size) {
    if (skip_frozen()) {
        return Status::ok_status();
    }
    auto it = files_.find(name);
    if (it == files_.end()) {
        return no_such_file(name);
    }
    File& f = it->second;
    if (size > f.data.size()) {
        return Status(Code::invalid_argument, name + ": truncate beyond end");
    }
    f.data.resize(size);
    f.synced_size = std::min<uint64_t>(f.synced_size, size);
    for (auto& [id, p] : pending_) {
        if (p.name == name && p.size > size) {
            p.size = size;  // cut bytes are gone; bytes written later are not covered
            p.saved.erase(p.saved.lower_bound((size + kSectorBytes - 1) / kSectorBytes),
                          p.saved.end());
            if (!p.saved.empty()) {
                auto last = std::prev(p.saved.end());
                last->second.resize(std::min<uint64_t>(last->second.size(),
                                                       size - last->first * kSectorBytes));
            }
        }
    }
    // Overwritten sectors past the new end are gone; the one across it is clipped.
    f.undo.erase(f.undo.lower_bound((size + kSectorBytes - 1) / kSectorBytes), f.undo.end());
    if (!f.undo.empty()) {
        auto last = std::prev(f.undo.end());
        last->second.resize(std::min<uint64_t>(last->second.size(),
                                               f.synced_size - last->first * kSectorBytes));
    }
    return Status::ok_status();
}

Status SimDisk::remove(const std::string& name) {
    if (skip_frozen()) {
        return Status::ok_status();
    }
    if (files_.erase(name) == 0) {
        return no_such_file(name);
    }
    supersede_pending(name);  // a flush of an unlinked file succeeds and keeps nothing
    return Status::ok_status();
}

Status SimDisk::rename(const std::string& from, const std::string& to) {
    if (skip_frozen()) {
        return Status::ok_status();
    }
    auto it = files_.find(from);
    if (it == files_.end()) {
        return no_such_file(from);
    }
    if (from == to) {
        return Status::ok_status();
    }
    File moved = std::move(it->second);
    files_.erase(it);
    files_[to] = std::move(moved);  // replaces `to`, atomically as far as anyone can see
    supersede_pending(to);          // the replaced file's flushes keep nothing
    for (auto& [id, p] : pending_) {
        if (p.name == from) {
            p.name = to;  // a flush follows the file, not its name
        }
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

void SimDisk::set_read_corruption(uint64_t numerator, uint64_t denominator, hub::Random random) {
    HUB_ASSERT(denominator > 0 && numerator <= denominator);
    read_corruption_numerator_ = numerator;
    read_corruption_denominator_ = denominator;
    read_corruption_random_.reset();
    if (numerator > 0) {
        read_corruption_random_.emplace(random);
    }
}

Status SimDisk::corrupt_stored_bit(const std::string& name, uint64_t offset, unsigned bit) {
    HUB_ASSERT(bit < 8);
    auto it = files_.find(name);
    if (it == files_.end()) {
        return no_such_file(name);
    }
    if (offset >= it->second.data.size()) {
        return Status(Code::invalid_argument, name + ": no byte at " + std::to_string(offset));
    }
    it->second.data[offset] ^= static_cast<uint8_t>(1u << bit);
    ++stats_.stored_bits_flipped;
    return Status::ok_status();
}

void SimDisk::fill_garbage(hub::Bytes& data, uint64_t begin, uint64_t end, hub::Random& random) {
    HUB_ASSERT(begin <= end && end <= data.size());
    for (uint64_t i = begin; i < end; ++i) {
        data[i] = static_cast<uint8_t>(random.next_u64());
    }
}

// Each overwritten synced sector comes back all-new, all-old or (garbage mode) garbled.
void SimDisk::crash_overwrites(File& f, hub::Random& random) {
    for (const auto& [sector, old] : f.undo) {
        const uint64_t lo = sector * kSectorBytes;
        HUB_ASSERT(lo + old.size() <= f.synced_size);
        const uint64_t outcome = random.uniform(crash_garbage_ ? 3 : 2);
        if (outcome == 1) {
            std::copy(old.begin(), old.end(), f.data.begin() + static_cast<std::ptrdiff_t>(lo));
            stats_.bytes_lost_in_crashes += old.size();
        } else if (outcome == 2) {
            // Garbage only where the overwrite changed bytes: the Disk contract keeps synced
            // bytes nobody rewrote (a real disk may garble the whole sector; logs append).
            for (uint64_t i = 0; i < old.size(); ++i) {
                if (f.data[lo + i] != old[i]) {
                    f.data[lo + i] = static_cast<uint8_t>(random.next_u64());
                }
            }
            stats_.bytes_lost_in_crashes += old.size();
            ++stats_.garbage_sectors;
        }
    }
    f.undo.clear();
}

// The unsynced tail: lost, or torn after some whole sectors, maybe with a garbage sector.
void SimDisk::crash_tail(File& f, hub::Random& random) {
    const uint64_t unsynced = f.data.size() - f.synced_size;
    uint64_t kept = 0;
    if (unsynced > 0 && random.chance(1, 2)) {
        // A torn write: some whole sectors of the tail made it to the platter.
        const uint64_t sectors = unsynced / kSectorBytes;
        kept = random.uniform(sectors + 1) * kSectorBytes;
    }
    uint64_t garbage = 0;
    if (crash_garbage_ && kept < unsynced && random.chance(1, 2)) {
        // The sector under the head when the power went: its size was recorded, its bytes not.
        garbage = std::min(kSectorBytes, unsynced - kept);
        fill_garbage(f.data, f.synced_size + kept, f.synced_size + kept + garbage, random);
        ++stats_.garbage_sectors;
    }
    HUB_ASSERT(kept + garbage <= unsynced);
    stats_.bytes_lost_in_crashes += unsynced - kept;
    f.data.resize(f.synced_size + kept + garbage);
    f.synced_size = f.data.size();
}

void SimDisk::crash(hub::Random& random) {
    ++stats_.crashes;
    frozen_ = false;  // the machine boots again
    freeze_after_writes_.reset();
    // Flushes still in flight never finished: their bytes stay unsynced, nobody is told.
    for (const auto& [id, p] : pending_) {
        sim_->cancel(p.event);
    }
    pending_.clear();
    for (auto& [name, f] : files_) {
        f.last_sync_done = Instant{0};
    }
    for (auto& [name, f] : files_) {
        crash_overwrites(f, random);
        crash_tail(f, random);
        HUB_ASSERT(f.undo.empty() && f.synced_size == f.data.size());
    }
}

uint64_t SimDisk::unsynced_bytes() const {
    uint64_t total = 0;
    for (const auto& [name, f] : files_) {
        total += f.data.size() - f.synced_size;
        for (const auto& [sector, old] : f.undo) {
            total += old.size();
        }
    }
    return total;
}

uint64_t SimDisk::used_bytes() const {
    uint64_t total = 0;
    for (const auto& [name, f] : files_) {
        total += f.data.size();
    }
    return total;
}

}  // namespace simnet
