// SimDisk: one node's disk in memory, with crash semantics.
//
// Every file has a synced prefix and a volatile tail. append() grows the tail, sync() makes the
// whole file durable. crash() keeps each file's synced prefix and, at random, a torn part of
// its tail cut at a 512-byte sector boundary (what a power loss mid-write leaves behind).
// truncate() and remove() are durable at once (metadata operations in this model).
//
// Deterministic: crash() draws only from the Random it is given. Faults: set_fail_syncs()
// makes sync() fail with io_error (a dying disk).
#pragma once

#include <map>
#include <string>

#include "hub/env/env.hpp"

namespace simnet {

constexpr uint64_t kSectorBytes = 512;

class SimDisk : public hub::Disk {
  public:
    hub::Status append(const std::string& name, hub::ByteView bytes) override;
    hub::Result<hub::Bytes> read(const std::string& name) override;
    hub::Status sync(const std::string& name) override;
    hub::Status truncate(const std::string& name, uint64_t size) override;
    hub::Status remove(const std::string& name) override;
    std::vector<std::string> list() override;

    // Power loss: unsynced bytes are lost, except perhaps a torn sector-aligned prefix.
    void crash(hub::Random& random);
    void set_fail_syncs(bool fail) { fail_syncs_ = fail; }
    uint64_t unsynced_bytes() const;
    uint64_t syncs() const { return syncs_; }

  private:
    struct File {
        hub::Bytes data;
        uint64_t synced_size = 0;
    };
    std::map<std::string, File> files_;
    bool fail_syncs_ = false;
    uint64_t syncs_ = 0;
};

}  // namespace simnet
