// Writer/Reader: a little-endian binary codec for stored records.
//
// Reader never trusts its input: every read checks the remaining length and reports failure
// through ok() instead of reading past the end.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hub/env/env.hpp"

namespace hub::store {

class Writer {
  public:
    explicit Writer(size_t reserve_bytes = 0) { out_.reserve(reserve_bytes); }
    void u32(uint32_t v);
    // Overwrites 4 bytes written earlier. REQUIRES: pos + 4 <= size.
    void u32_at(size_t pos, uint32_t v);
    void u64(uint64_t v);
    void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
    void str(std::string_view s);  // u32 length + bytes
    Bytes& bytes() { return out_; }

  private:
    Bytes out_;
};

class Reader {
  public:
    explicit Reader(ByteView in) : in_(in) {}
    uint32_t u32();
    uint64_t u64();
    int64_t i64() { return static_cast<int64_t>(u64()); }
    std::string str();
    bool ok() const { return ok_; }
    bool at_end() const { return pos_ == in_.size(); }

  private:
    bool take(size_t n);
    ByteView in_;
    size_t pos_ = 0;
    bool ok_ = true;
};

}  // namespace hub::store
