#include "hub/store/record_log.hpp"

#include "hub/store/codec.hpp"
#include "hub/store/crc32c.hpp"

namespace hub::store {

namespace {
// Reads of a damaged file before recovery gives up on an unstable disk.
constexpr int kRecoverReadsMax = 4;
}  // namespace

void seal_record(Bytes& framed) {
    HUB_ASSERT(framed.size() >= kRecordHeaderBytes);
    const ByteView payload = ByteView(framed).subspan(kRecordHeaderBytes);
    HUB_ASSERT(payload.size() <= kRecordPayloadBytesMax);
    const uint32_t length = static_cast<uint32_t>(payload.size());
    const uint32_t crc = crc32c(payload);
    for (int i = 0; i < 4; ++i) {
        framed[i] = static_cast<uint8_t>(length >> (8 * i));
        framed[4 + i] = static_cast<uint8_t>(crc >> (8 * i));
    }
}

Bytes frame_record(ByteView payload) {
    HUB_ASSERT(payload.size() <= kRecordPayloadBytesMax);
    Bytes out(kRecordHeaderBytes + payload.size());
    std::copy(payload.begin(), payload.end(), out.begin() + kRecordHeaderBytes);
    seal_record(out);
    return out;
}

namespace {

// Parses one record at `pos`. Returns its total size, or 0 if no valid record starts there.
size_t parse_record(ByteView file, size_t pos, Bytes* payload) {
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
    if (crc32c(body) != crc) {
        return 0;
    }
    payload->assign(body.begin(), body.end());
    return kRecordHeaderBytes + length;
}

// True if any whole, valid record starts somewhere after `pos`: then the bad bytes at `pos`
// are not a torn tail but damage in the middle of durable data.
bool valid_record_after(ByteView file, size_t pos) {
    Bytes scratch;
    for (size_t p = pos + 1; p + kRecordHeaderBytes <= file.size(); ++p) {
        const size_t n = parse_record(file, p, &scratch);
        if (n > 0 && p + n == file.size()) {
            return true;  // a well-formed record that ends exactly at end of file
        }
    }
    return false;
}

}  // namespace

// Reads the file and parses whole records. Returns the parse end (== size when the file is
// clean).
size_t parse_all(ByteView bytes, std::vector<Bytes>* records) {
    size_t pos = 0;
    while (pos < bytes.size()) {
        Bytes payload;
        const size_t n = parse_record(bytes, pos, &payload);
        if (n == 0) {
            break;
        }
        records->push_back(std::move(payload));
        pos += n;
    }
    return pos;
}

Result<std::vector<Bytes>> RecordLog::recover() {
    Result<Bytes> file = disk_.read(file_name_);
    if (!file.ok()) {
        if (file.status().code() == Code::not_found) {
            return std::vector<Bytes>{};
        }
        return file.status();
    }
    std::vector<Bytes> records;
    size_t pos = parse_all(*file, &records);
    if (pos == file->size()) {
        return records;
    }
    // Damage. A read error can flip bits in what we got without the stored bytes being bad,
    // and acting on it would cut a synced record for good: act only on damage two reads agree on.
    for (int attempt = 0;; ++attempt) {
        Result<Bytes> again = disk_.read(file_name_);
        if (!again.ok()) return again.status();
        if (*again == *file) break;
        if (attempt + 1 >= kRecoverReadsMax) {
            return Status(Code::unavailable, file_name_ + ": reads of the file disagree; "
                                                          "the disk is returning errors");
        }
        file = std::move(again);
        records.clear();
        pos = parse_all(*file, &records);
        if (pos == file->size()) return records;
    }
    const ByteView bytes(*file);
    if (valid_record_after(bytes, pos)) {
        return Status(Code::corruption, file_name_ + ": damaged record at byte " +
                                            std::to_string(pos) + " before valid records");
    }
    Status s = disk_.truncate(file_name_, pos);
    if (!s.ok()) {
        return s;
    }
    s = disk_.sync(file_name_);
    if (!s.ok()) {
        return s;
    }
    return records;
}

Status RecordLog::append(ByteView payload) {
    if (payload.size() > kRecordPayloadBytesMax) {
        return Status(Code::invalid_argument, "record larger than kRecordPayloadBytesMax");
    }
    const Bytes framed = frame_record(payload);
    return disk_.append(file_name_, framed);
}

Status RecordLog::append_sealed(ByteView framed) {
    HUB_ASSERT(framed.size() >= kRecordHeaderBytes);
    return disk_.append(file_name_, framed);
}

Status RecordLog::sync() { return disk_.sync(file_name_); }

}  // namespace hub::store
