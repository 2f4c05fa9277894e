// RecordLog: an append-only file of checksummed records on Env::Disk.
//
// Frame: [u32 payload length][u32 crc32c(payload)][payload]. append() writes a record into the
// volatile tail; sync() makes everything appended so far durable. recover() reads the file
// back: a torn or partial record at the very end (a crash during an unsynced write) is cut
// off, and the file is truncated to the last whole record. A bad record followed by a good
// one means corruption in the middle: recover() refuses with Code::corruption rather than
// silently dropping acknowledged data. Damage is acted on only when two reads of the file agree
// (a transient read error must not cut a synced record); reads that keep disagreeing give
// Code::unavailable.
//
// Not thread-safe; the Disk must outlive the log.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hub/env/env.hpp"

namespace hub::store {

// A record's payload may not exceed this: bounds the memory a corrupt length field can ask for.
constexpr uint32_t kRecordPayloadBytesMax = 1u << 20;
constexpr uint32_t kRecordHeaderBytes = 8;

class RecordLog {
  public:
    RecordLog(Disk& disk, std::string file_name) : disk_(disk), file_name_(std::move(file_name)) {}

    // Reads every whole record; truncates a torn tail. Call once, before append().
    Result<std::vector<Bytes>> recover();
    // REQUIRES: payload.size() <= kRecordPayloadBytesMax.
    Status append(ByteView payload);
    // Appends a record built in place: `framed` starts with kRecordHeaderBytes that
    // seal_record() filled in (saves a copy on hot paths).
    Status append_sealed(ByteView framed);
    Status sync();
    const std::string& file_name() const { return file_name_; }

  private:
    Disk& disk_;
    std::string file_name_;
};

// Encodes one framed record (exposed for tests and fuzzers).
Bytes frame_record(ByteView payload);
// Fills the header of a record whose payload follows kRecordHeaderBytes reserved bytes.
// REQUIRES: framed.size() >= kRecordHeaderBytes, payload <= kRecordPayloadBytesMax.
void seal_record(Bytes& framed);

}  // namespace hub::store
