#include "hub/store/crc32c.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hub/env/random.hpp"

namespace hub::store {
namespace {

std::span<const uint8_t> view(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Crc32c, KnownVectors) {
    // RFC 3720 (iSCSI) check value, and 32 zero bytes from its appendix B.4.
    EXPECT_EQ(crc32c(view("123456789")), 0xe3069283u);
    EXPECT_EQ(crc32c(std::vector<uint8_t>(32, 0)), 0x8a9136aau);
    EXPECT_EQ(crc32c({}), 0u);
}

TEST(Crc32c, HardwareAndTableAgreeOnEveryLengthAndAlignment) {
    Random random(1);
    std::vector<uint8_t> data(300);
    for (uint8_t& b : data) b = static_cast<uint8_t>(random.next_u64());
    for (size_t start = 0; start < 9; ++start) {
        for (size_t n = 0; start + n <= data.size(); n += 7) {
            const std::span<const uint8_t> s(data.data() + start, n);
            ASSERT_EQ(crc32c(s), crc32c_portable(s)) << start << " " << n;
        }
    }
    // Chaining: the crc of a whole equals the crc of its parts chained.
    const std::span<const uint8_t> all(data);
    EXPECT_EQ(crc32c(all.subspan(100), crc32c(all.first(100))), crc32c(all));
}

}  // namespace
}  // namespace hub::store
