#include "hub/store/record_log.hpp"

#include <algorithm>
#include <array>
#include <optional>

#include "hub/store/codec.hpp"
#include "hub/store/crc32c.hpp"

namespace hub::store {

namespace {
// Reads of a damaged file before recovery gives up on an unstable disk.
constexpr int kRecoverReadsMax = 4;
constexpr std::array<uint8_t, 8> kMagic = {'H', 'U', 'B', 'R', 'L', 'O', 'G', '2'};

void put_u32(uint8_t* out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}

void put_u64(uint8_t* out, uint64_t v) {
    for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint64_t get_u64(ByteView in) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | in[static_cast<size_t>(i)];
    return v;
}

// The checksum of a record of this file: covers the salt, the length and the payload.
uint32_t record_crc(uint64_t salt, ByteView payload) {
    std::array<uint8_t, 12> prefix{};
    put_u64(prefix.data(), salt);
    put_u32(prefix.data() + 8, static_cast<uint32_t>(payload.size()));
    return crc32c(payload, crc32c(prefix));
}

}  // namespace

void seal_record(Bytes& framed, uint64_t salt) {
    HUB_ASSERT(framed.size() >= kRecordHeaderBytes);
    const ByteView payload = ByteView(framed).subspan(kRecordHeaderBytes);
    HUB_ASSERT(payload.size() <= kRecordPayloadBytesMax);
    put_u32(framed.data(), static_cast<uint32_t>(payload.size()));
    put_u32(framed.data() + 4, record_crc(salt, payload));
}

Bytes frame_record(ByteView payload, uint64_t salt) {
    HUB_ASSERT(payload.size() <= kRecordPayloadBytesMax);
    Bytes out(kRecordHeaderBytes + payload.size());
    std::copy(payload.begin(), payload.end(), out.begin() + kRecordHeaderBytes);
    seal_record(out, salt);
    return out;
}

Bytes frame_record(ByteView payload) {
    HUB_ASSERT(payload.size() <= kRecordPayloadBytesMax);
    Bytes out(kRecordHeaderBytes + payload.size());
    std::copy(payload.begin(), payload.end(), out.begin() + kRecordHeaderBytes);
    put_u32(out.data(), static_cast<uint32_t>(payload.size()));
    put_u32(out.data() + 4, crc32c(payload));
    return out;
}

Bytes file_header(uint64_t salt) {
    Bytes out(kFileHeaderBytes);
    uint8_t* body = out.data() + kRecordHeaderBytes;
    std::copy(kMagic.begin(), kMagic.end(), body);
    put_u64(body + 8, salt);
    put_u64(body + 16, salt);
    put_u32(out.data(), kFileHeaderPayloadBytes);
    put_u32(out.data() + 4, crc32c(ByteView(out).subspan(kRecordHeaderBytes)));
    return out;
}

namespace {

// Parses one record at `pos`. Returns its total size, or 0 if no valid record starts there.
// Without a salt: the previous format (crc32c of the payload alone).
size_t parse_record(ByteView file, size_t pos, std::optional<uint64_t> salt, Bytes* payload) {
    if (file.size() - pos < kRecordHeaderBytes) {
        return 0;
    }
    Reader header(file.subspan(pos, kRecordHeaderBytes));
    const uint32_t length = header.u32();
    const uint32_t crc = header.u32();
    if (length > kRecordPayloadBytesMax || file.size() - pos - kRecordHeaderBytes < length) {
        return 0;
    }
    ByteView body = file.subspan(pos + kRecordHeaderBytes, length);
    if ((salt ? record_crc(*salt, body) : crc32c(body)) != crc) {
        return 0;
    }
    if (payload != nullptr) {
        payload->assign(body.begin(), body.end());
    }
    return kRecordHeaderBytes + length;
}

// The salt if a whole, valid header starts the file.
std::optional<uint64_t> parse_header(ByteView file) {
    if (file.size() < kFileHeaderBytes) {
        return std::nullopt;
    }
    const ByteView header = file.subspan(0, kFileHeaderBytes);
    const Bytes expected = file_header(get_u64(header.subspan(kRecordHeaderBytes + 8, 8)));
    if (!std::equal(expected.begin(), expected.end(), header.begin())) {
        return std::nullopt;
    }
    return get_u64(header.subspan(kRecordHeaderBytes + 8, 8));
}

// True if any whole, valid record starts somewhere at or after `from` and ends exactly at the
// end of the file: then bad bytes before it are not a torn tail but damage in the middle of
// durable data.
bool valid_record_after(ByteView file, size_t from, std::optional<uint64_t> salt) {
    for (size_t p = from; p + kRecordHeaderBytes <= file.size(); ++p) {
        const size_t n = parse_record(file, p, salt, nullptr);
        if (n > 0 && p + n == file.size()) {
            return true;
        }
    }
    return false;
}

// Parses whole records from `pos`. Returns the parse end (== size when the file is clean).
size_t parse_all(ByteView bytes, size_t pos, std::optional<uint64_t> salt,
                 std::vector<Bytes>* records) {
    while (pos < bytes.size()) {
        Bytes payload;
        const size_t n = parse_record(bytes, pos, salt, &payload);
        if (n == 0) {
            break;
        }
        records->push_back(std::move(payload));
        pos += n;
    }
    return pos;
}

// What a read of the file says: its salt (when the header is whole), its records, and where
// parsing stopped.
struct Parsed {
    std::optional<uint64_t> salt;
    std::vector<Bytes> records;
    size_t end = 0;
    bool clean(size_t size) const { return end == size; }
};

Parsed parse_file(ByteView bytes) {
    Parsed out;
    out.salt = parse_header(bytes);
    if (out.salt) {
        out.end = parse_all(bytes, kFileHeaderBytes, out.salt, &out.records);
    }
    return out;
}

// Damage two reads agree on: ok when it is a torn tail (or a header that never became
// durable) that recovery may cut; corruption when valid records follow it.
Status classify_damage(const std::string& name, ByteView bytes, const Parsed& parsed) {
    if (parsed.salt) {
        if (valid_record_after(bytes, parsed.end + 1, parsed.salt)) {
            return Status(Code::corruption, name + ": damaged record at byte " +
                                                std::to_string(parsed.end) +
                                                " before valid records");
        }
        return Status::ok_status();
    }
    if (parse_record(bytes, 0, std::nullopt, nullptr) > 0) {
        return Status(Code::failed_precondition,
                      name + ": written by an older version (no file header); move it away");
    }
    // Either the header never became durable (then nothing after it did either), or a bit in
    // it flipped: the stored copies of the salt tell, if records after it check out.
    if (bytes.size() >= kFileHeaderBytes) {
        const ByteView body = bytes.subspan(kRecordHeaderBytes, kFileHeaderPayloadBytes);
        for (const ByteView copy : {body.subspan(8, 8), body.subspan(16, 8)}) {
            if (valid_record_after(bytes, kFileHeaderBytes, get_u64(copy))) {
                return Status(Code::corruption,
                              name + ": damaged file header before valid records");
            }
        }
    }
    return Status::ok_status();
}

}  // namespace

RecordLog::RecordLog(Disk& disk, std::string file_name)
    : disk_(disk), file_name_(std::move(file_name)) {
    const ByteView name(reinterpret_cast<const uint8_t*>(file_name_.data()), file_name_.size());
    salt_ = mix64(crc32c(name) ^ 0x5265636f72644c6fULL);
}

Result<std::vector<Bytes>> RecordLog::recover() {
    HUB_ASSERT(!recovered_);
    recovered_ = true;
    Result<Bytes> file = disk_.read(file_name_);
    if (!file.ok()) {
        if (file.status().code() != Code::not_found) {
            return file.status();
        }
        start_new_file();
        return std::vector<Bytes>{};
    }
    if (file->empty()) {
        start_new_file();
        return std::vector<Bytes>{};
    }
    Parsed parsed = parse_file(*file);
    // Damage. A read error can flip bits in what we got without the stored bytes being bad,
    // and acting on it would cut a synced record for good: act only on damage two reads agree on.
    for (int attempt = 0; !parsed.clean(file->size()); ++attempt) {
        Result<Bytes> again = disk_.read(file_name_);
        if (!again.ok()) return again.status();
        if (*again == *file) break;
        if (attempt + 1 >= kRecoverReadsMax) {
            return Status(Code::unavailable, file_name_ + ": reads of the file disagree; "
                                                          "the disk is returning errors");
        }
        file = std::move(again);
        parsed = parse_file(*file);
    }
    const ByteView bytes(*file);
    if (!parsed.clean(bytes.size())) {
        if (Status s = classify_damage(file_name_, bytes, parsed); !s.ok()) {
            return s;
        }
        if (Status s = disk_.truncate(file_name_, parsed.end); !s.ok()) {
            return s;
        }
        if (Status s = disk_.sync(file_name_); !s.ok()) {
            return s;
        }
    }
    if (parsed.salt) {
        salt_ = *parsed.salt;
        header_written_ = true;
    } else {
        start_new_file();  // the header never became durable: the file starts over
    }
    size_bytes_ = parsed.end;
    return std::move(parsed.records);
}

// Appending without recover() (a fresh file, e.g. a snapshot being written) learns the
// file's salt first, so records always carry the salt of the header they follow.
Status RecordLog::learn_file() {
    recovered_ = true;
    Result<Bytes> file = disk_.read(file_name_);
    if (!file.ok() && file.status().code() != Code::not_found) {
        return file.status();
    }
    if (!file.ok() || file->empty()) {
        start_new_file();
        return Status::ok_status();
    }
    const std::optional<uint64_t> salt = parse_header(*file);
    if (!salt) {
        return Status(Code::failed_precondition,
                      file_name_ + ": appending to a file without a valid header");
    }
    salt_ = *salt;
    header_written_ = true;
    size_bytes_ = file->size();
    return Status::ok_status();
}

void RecordLog::start_new_file() {
    if (salt_source_ != nullptr) {
        salt_ = salt_source_->next_u64();
    }
}

uint64_t successor_salt(uint64_t salt) { return mix64(salt ^ 0x436f6d7061637465ULL); }

Status RecordLog::write_header_if_new() {
    if (!recovered_) {
        if (Status s = learn_file(); !s.ok()) {
            return s;
        }
    }
    if (header_written_) {
        return Status::ok_status();
    }
    if (Status s = disk_.append(file_name_, file_header(salt_)); !s.ok()) {
        return s;
    }
    header_written_ = true;
    size_bytes_ += kFileHeaderBytes;
    return Status::ok_status();
}

Status RecordLog::create() {
    if (Status s = write_header_if_new(); !s.ok()) {
        return s;
    }
    return disk_.sync(file_name_);
}

void RecordLog::seal(Bytes& framed) const {
    HUB_ASSERT(recovered_);
    seal_record(framed, salt_);
}

Status RecordLog::append(ByteView payload) {
    if (payload.size() > kRecordPayloadBytesMax) {
        return Status(Code::invalid_argument, "record larger than kRecordPayloadBytesMax");
    }
    return append_sealed(frame_record(payload, salt_));
}

Status RecordLog::append_sealed(ByteView framed) {
    HUB_ASSERT(framed.size() >= kRecordHeaderBytes);
    HUB_ASSERT(Reader(framed).u32() == framed.size() - kRecordHeaderBytes);
    if (Status s = write_header_if_new(); !s.ok()) {
        return s;
    }
    if (Status s = disk_.append(file_name_, framed); !s.ok()) {
        return s;
    }
    size_bytes_ += framed.size();
    return Status::ok_status();
}

Result<Bytes> RecordLog::read_record(uint64_t offset, uint32_t frame_bytes) const {
    HUB_ASSERT(header_written_);  // the salt is the file's
    Result<Bytes> frame = disk_.read_range(file_name_, offset, frame_bytes);
    if (!frame.ok()) {
        return frame.status();
    }
    Bytes payload;
    if (frame->size() != frame_bytes || parse_record(*frame, 0, salt_, &payload) != frame_bytes) {
        return Status(Code::corruption, file_name_ + ": no valid record of " +
                                            std::to_string(frame_bytes) + " bytes at offset " +
                                            std::to_string(offset));
    }
    return payload;
}

Status RecordLog::sync() { return disk_.sync(file_name_); }

}  // namespace hub::store
