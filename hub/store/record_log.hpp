// RecordLog: an append-only file of checksummed records on Env::Disk.
//
// File: a header frame, then record frames. Header: [u32 24][u32 crc32c(body)][body: "HUBRLOG2",
// u64 salt, u64 salt again]. Record: [u32 payload length][u32 crc][payload], where crc is
// crc32c over (salt, length, payload). The salt is per file, chosen when the file is made,
// and unknown to peers: a device can choose payload bytes (a D2C body may contain
// "[len][crc][payload]"), but cannot make them checksum as a frame of this file, so a torn tail
// that ends inside such a body is still recognised as a torn tail, not a forged record.
//
// append() writes into the volatile tail (the header first, for a new file); sync() makes
// everything appended so far durable. recover() reads the file back: a torn or partial record
// at the very end (a crash during an unsynced write) is cut off, and the file is truncated to
// the last whole record; a file whose header never became durable is empty. A bad record
// followed by a good one means corruption in the middle: recover() refuses with
// Code::corruption rather than silently dropping acknowledged data (a damaged header with good
// records after it, under either stored copy of the salt, is refused the same way). Damage is
// acted on only when two reads of the file agree (a transient read error must not cut a synced
// record); reads that keep disagreeing give Code::unavailable. A file in the previous,
// unsalted format is refused with Code::failed_precondition.
//
// Salt: the constructor's `new_file_salt` (callers draw it from Env::random(), which is seeded
// in the simulator, so runs stay reproducible), or a draw from `salt_source` taken only when
// the log starts a new file (so reopening a file leaves the caller's random stream as it was).
// A compacted file takes successor_salt() of the file it replaces: as secret, and no draw. The
// two-argument constructor derives the salt from the file name: predictable, so only for
// reading, and for files whose payloads no peer chooses.
//
// Not thread-safe; the Disk must outlive the log.
//
// Example:
//   RecordLog log(env.disk(), "c2d.log", env.random().next_u64());
//   Result<std::vector<Bytes>> records = log.recover();
//   (void)log.append(payload); (void)log.sync();
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hub/env/env.hpp"

namespace hub::store {

// A record's payload may not exceed this: bounds the memory a corrupt length field can ask for.
constexpr uint32_t kRecordPayloadBytesMax = 1u << 20;
constexpr uint32_t kRecordHeaderBytes = 8;
// The file header frame: a record header plus magic and two copies of the salt.
constexpr uint32_t kFileHeaderPayloadBytes = 24;
constexpr uint32_t kFileHeaderBytes = kRecordHeaderBytes + kFileHeaderPayloadBytes;

class RecordLog {
  public:
    // The salt of a new file is derived from its name (see the header comment).
    RecordLog(Disk& disk, std::string file_name);
    RecordLog(Disk& disk, std::string file_name, uint64_t new_file_salt)
        : disk_(disk), file_name_(std::move(file_name)), salt_(new_file_salt) {}
    // A new file's salt is drawn from `salt_source` when recover() (or a first append) finds
    // no file. `salt_source` must outlive the log.
    RecordLog(Disk& disk, std::string file_name, Random& salt_source)
        : disk_(disk), file_name_(std::move(file_name)), salt_(0), salt_source_(&salt_source) {}

    // Reads every whole record; truncates a torn tail. Call once, before append() (an append
    // without it reads the file's header first).
    Result<std::vector<Bytes>> recover();
    // REQUIRES: payload.size() <= kRecordPayloadBytesMax.
    Status append(ByteView payload);
    // Appends a record built in place: `framed` starts with kRecordHeaderBytes that seal()
    // filled in (saves a copy on hot paths).
    Status append_sealed(ByteView framed);
    // Fills the header of a record whose payload follows kRecordHeaderBytes reserved bytes,
    // with this file's salt. REQUIRES: recover() ran (the salt is the file's),
    // framed.size() >= kRecordHeaderBytes, payload <= kRecordPayloadBytesMax.
    void seal(Bytes& framed) const;
    // Reads back the payload of one record this log recovered or appended: its frame starts at
    // `offset` and is `frame_bytes` long (header included), and its checksum is verified.
    // Errors: corruption (not a valid record there), not_found, io_error.
    Result<Bytes> read_record(uint64_t offset, uint32_t frame_bytes) const;
    // Makes the file exist durably (with its header) even with no record in it.
    Status create();
    Status sync();
    const std::string& file_name() const { return file_name_; }
    // Bytes in the file as this log wrote or recovered them (header included; 0 before any).
    uint64_t size_bytes() const { return size_bytes_; }
    uint64_t salt() const { return salt_; }

  private:
    Status write_header_if_new();
    Status learn_file();
    void start_new_file();

    Disk& disk_;
    std::string file_name_;
    uint64_t salt_;
    Random* salt_source_ = nullptr;
    bool header_written_ = false;
    bool recovered_ = false;
    uint64_t size_bytes_ = 0;
};

// The salt for the compacted file that replaces a file salted `salt`: unpredictable to whoever
// does not know `salt`, and consuming no random draw.
uint64_t successor_salt(uint64_t salt);

// Encodes one framed record with the given file salt (for tests and fuzzers).
Bytes frame_record(ByteView payload, uint64_t salt);
// Fills the header of a record whose payload follows kRecordHeaderBytes reserved bytes.
// REQUIRES: framed.size() >= kRecordHeaderBytes, payload <= kRecordPayloadBytesMax.
void seal_record(Bytes& framed, uint64_t salt);
// The header frame of a file with this salt.
Bytes file_header(uint64_t salt);
// The previous format's frame, [u32 length][u32 crc32c(payload)][payload], with no salt: what
// a peer who knows the format but not a file's salt can compute. For tests and fuzzers.
Bytes frame_record(ByteView payload);

}  // namespace hub::store
