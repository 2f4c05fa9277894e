// CRC-32C (Castagnoli), the checksum on every stored record.
//
// crc32c() uses the CPU's crc32 instruction where there is one (x86-64 with SSE4.2) and a
// table otherwise; both give the same value (a test holds them to it).
#pragma once

#include <cstdint>
#include <span>

namespace hub::store {

uint32_t crc32c(std::span<const uint8_t> bytes, uint32_t crc = 0);
// The table version, always: for tests that compare the two paths.
uint32_t crc32c_portable(std::span<const uint8_t> bytes, uint32_t crc = 0);

}  // namespace hub::store
