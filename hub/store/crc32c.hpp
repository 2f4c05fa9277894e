// CRC-32C (Castagnoli), the checksum on every stored record.
#pragma once

#include <cstdint>
#include <span>

namespace hub::store {

uint32_t crc32c(std::span<const uint8_t> bytes, uint32_t crc = 0);

}  // namespace hub::store
