#include "hub/store/crc32c.hpp"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace hub::store {

namespace {

constexpr std::array<uint32_t, 256> make_table() {
    std::array<uint32_t, 256> table{};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) {
            c = (c & 1) ? (0x82f63b78u ^ (c >> 1)) : (c >> 1);
        }
        table[i] = c;
    }
    return table;
}

constexpr std::array<uint32_t, 256> kTable = make_table();

uint32_t crc32c_bytewise(std::span<const uint8_t> bytes, uint32_t crc) {
    for (uint8_t b : bytes) {
        crc = kTable[(crc ^ b) & 0xff] ^ (crc >> 8);
    }
    return crc;
}

#if defined(__x86_64__)
// The SSE4.2 crc32 instruction computes exactly this polynomial, 8 bytes per step.
__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(std::span<const uint8_t> bytes,
                                                         uint32_t crc) {
    const uint8_t* p = bytes.data();
    size_t n = bytes.size();
    uint64_t c = crc;
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t word;
        std::memcpy(&word, p, 8);
        c = _mm_crc32_u64(c, word);
    }
    crc = static_cast<uint32_t>(c);
    for (; n > 0; --n, ++p) {
        crc = _mm_crc32_u8(crc, *p);
    }
    return crc;
}

bool has_sse42() {
    static const bool supported = __builtin_cpu_supports("sse4.2");  // fixed for the process
    return supported;
}
#endif

}  // namespace

uint32_t crc32c(std::span<const uint8_t> bytes, uint32_t crc) {
    crc = ~crc;
#if defined(__x86_64__)
    if (has_sse42()) {
        return ~crc32c_sse42(bytes, crc);
    }
#endif
    return ~crc32c_bytewise(bytes, crc);
}

uint32_t crc32c_portable(std::span<const uint8_t> bytes, uint32_t crc) {
    return ~crc32c_bytewise(bytes, ~crc);
}

}  // namespace hub::store
