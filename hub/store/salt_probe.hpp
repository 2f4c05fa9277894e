// For tests: the salt a log file carries, and the salt RecordLog derives from a file name.
// A log whose records hold bytes that peers choose must carry a fresh random salt (see
// record_log.hpp), never the name-derived one.
#pragma once

#include "hub/store/record_log.hpp"

namespace hub::store {

// The salt in `name`'s header on `disk`. REQUIRES: the file has a durable header.
inline uint64_t stored_salt(Disk& disk, const std::string& name) {
    RecordLog log(disk, name);
    HUB_ASSERT(log.recover().ok());
    return log.salt();
}

// What RecordLog's two-argument constructor would give a new file of this name.
inline uint64_t name_derived_salt(Disk& scratch, const std::string& name) {
    return RecordLog(scratch, name).salt();
}

}  // namespace hub::store
