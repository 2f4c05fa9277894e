#include "hub/core/time_format.hpp"

#include <gtest/gtest.h>

namespace hub {
namespace {

TEST(TimeFormat, KnownInstants) {
    EXPECT_EQ(format_utc_ms(0), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(format_utc_ms(1767225600000), "2026-01-01T00:00:00.000Z");
    EXPECT_EQ(format_utc_ms(951782400000 + 86399999), "2000-02-29T23:59:59.999Z");  // leap day
    EXPECT_EQ(format_utc_ms(-1), "1969-12-31T23:59:59.999Z");
}

TEST(TimeFormat, ParsesWhatItFormatsAndDotNetFractions) {
    for (int64_t t : {0LL, 1767225600123LL, 951782400000LL, 4102444800000LL}) {
        EXPECT_EQ(*parse_utc_ms(format_utc_ms(t)), t);
    }
    EXPECT_EQ(*parse_utc_ms("2026-01-01T00:00:00Z"), 1767225600000);
    EXPECT_EQ(*parse_utc_ms("2026-01-01T00:00:00.1234567Z"), 1767225600123);
    EXPECT_EQ(*parse_utc_ms(kNeverUtc), -62135596800000);
}

TEST(TimeFormat, RefusesMalformed) {
    for (const char* bad : {"", "2026-01-01", "2026-13-01T00:00:00Z", "2026-01-01T00:00:00",
                            "2026-01-01T00:00:00.Z", "2026-01-01 00:00:00Z", "x026-01-01T00:00:00Z"}) {
        EXPECT_FALSE(parse_utc_ms(bad).ok()) << bad;
    }
}

}  // namespace
}  // namespace hub
