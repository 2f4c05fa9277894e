#include "hub/store/codec.hpp"

namespace hub::store {

namespace {

// Appends v's n low bytes, least significant first: one resize instead of n push_backs.
void put_le(Bytes& out, uint64_t v, size_t n) {
    const size_t at = out.size();
    out.resize(at + n);
    for (size_t i = 0; i < n; ++i) {
        out[at + i] = static_cast<uint8_t>(v >> (8 * i));
    }
}

}  // namespace

void Writer::u32(uint32_t v) { put_le(out_, v, 4); }

void Writer::u32_at(size_t pos, uint32_t v) {
    HUB_ASSERT(pos + 4 <= out_.size());
    for (int i = 0; i < 4; ++i) {
        out_[pos + i] = static_cast<uint8_t>(v >> (8 * i));
    }
}

void Writer::u64(uint64_t v) { put_le(out_, v, 8); }

void Writer::str(std::string_view s) {
    HUB_ASSERT(s.size() <= UINT32_MAX);
    u32(static_cast<uint32_t>(s.size()));
    const auto* data = reinterpret_cast<const uint8_t*>(s.data());
    out_.insert(out_.end(), data, data + s.size());  // same element type: one memcpy
}

bool Reader::take(size_t n) {
    if (!ok_ || in_.size() - pos_ < n) {
        ok_ = false;
        return false;
    }
    return true;
}

uint32_t Reader::u32() {
    if (!take(4)) {
        return 0;
    }
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
        v |= static_cast<uint32_t>(in_[pos_ + i]) << (8 * i);
    }
    pos_ += 4;
    return v;
}

uint64_t Reader::u64() {
    if (!take(8)) {
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
        v |= static_cast<uint64_t>(in_[pos_ + i]) << (8 * i);
    }
    pos_ += 8;
    return v;
}

std::string Reader::str() {
    const uint32_t n = u32();
    if (!take(n)) {
        return {};
    }
    std::string s(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return s;
}

}  // namespace hub::store
