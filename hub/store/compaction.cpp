#include "hub/store/compaction.hpp"

#include <algorithm>

namespace hub::store {

bool compaction_due(const CompactionPolicy& policy, uint64_t log_bytes, uint64_t live_bytes) {
    HUB_ASSERT(policy.live_factor >= 2);
    const uint64_t scaled = live_bytes > UINT64_MAX / policy.live_factor
                                ? UINT64_MAX
                                : live_bytes * policy.live_factor;
    return log_bytes > std::max(scaled, policy.floor_bytes);
}

std::string compaction_file_name(const std::string& file_name) { return file_name + ".compact"; }

Status remove_stray_compaction(Disk& disk, const std::string& file_name) {
    Status s = disk.remove(compaction_file_name(file_name));
    if (!s.ok() && s.code() != Code::not_found) {
        return s;
    }
    return Status::ok_status();
}

CompactionWriter::CompactionWriter(Disk& disk, std::string file_name, uint64_t new_file_salt)
    : disk_(disk),
      file_name_(std::move(file_name)),
      compact_name_(compaction_file_name(file_name_)),
      log_(disk_, compact_name_, new_file_salt) {}

// A fresh "<file>.compact": whatever an earlier failed attempt left is not part of this one.
Status CompactionWriter::start() {
    started_ = true;
    status_ = remove_stray_compaction(disk_, file_name_);
    if (!status_.ok()) {
        return status_;
    }
    Result<std::vector<Bytes>> none = log_.recover();
    if (!none.ok()) {
        status_ = none.status();
    } else if (!none->empty()) {
        status_ = Status(Code::internal, compact_name_ + " survived its removal");
    }
    return status_;
}

Status CompactionWriter::add(ByteView payload) {
    HUB_ASSERT(!finished_);
    if (!started_ && !start().ok()) {
        return status_;
    }
    if (!status_.ok()) {
        return status_;
    }
    status_ = log_.append(payload);
    if (status_.ok()) {
        ++records_;
        bytes_ += record_bytes(payload.size());
    }
    return status_;
}

Result<std::unique_ptr<RecordLog>> CompactionWriter::finish() {
    HUB_ASSERT(!finished_);
    finished_ = true;
    if (!started_ && !start().ok()) {
        return status_;
    }
    if (!status_.ok()) {
        return status_;
    }
    // Everything must be durable before the name points at it: a rename of an unsynced file
    // could, after a crash, leave the name on a file missing its end.
    Status s = log_.sync();
    if (!s.ok()) {
        return s;
    }
    replaced_ = true;
    s = disk_.rename(compact_name_, file_name_);
    if (!s.ok()) {
        return s;
    }
    auto log = std::make_unique<RecordLog>(disk_, file_name_);
    Result<std::vector<Bytes>> back = log->recover();
    if (!back.ok()) {
        return back.status();
    }
    if (back->size() != records_) {
        return Status(Code::corruption, file_name_ + ": the compacted log reads back " +
                                            std::to_string(back->size()) + " records, not " +
                                            std::to_string(records_));
    }
    return log;
}

}  // namespace hub::store
