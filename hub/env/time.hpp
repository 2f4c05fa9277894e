// Time as integers: Duration and Instant in nanoseconds. No floats in anything that orders events.
#pragma once

#include <cstdint>

namespace hub {

struct Duration {
    int64_t ns = 0;

    static constexpr Duration nanos(int64_t n) { return Duration{n}; }
    static constexpr Duration micros(int64_t n) { return Duration{n * 1000}; }
    static constexpr Duration millis(int64_t n) { return Duration{n * 1000 * 1000}; }
    static constexpr Duration seconds(int64_t n) { return Duration{n * 1000 * 1000 * 1000}; }
    constexpr int64_t to_millis() const { return ns / (1000 * 1000); }
    friend constexpr auto operator<=>(Duration, Duration) = default;
    friend constexpr Duration operator+(Duration a, Duration b) { return Duration{a.ns + b.ns}; }
    friend constexpr Duration operator*(Duration a, int64_t k) { return Duration{a.ns * k}; }
};

// A point on a monotonic clock, nanoseconds since the clock's own origin.
struct Instant {
    int64_t ns = 0;

    constexpr int64_t to_millis() const { return ns / (1000 * 1000); }
    friend constexpr auto operator<=>(Instant, Instant) = default;
    friend constexpr Instant operator+(Instant t, Duration d) { return Instant{t.ns + d.ns}; }
    friend constexpr Duration operator-(Instant a, Instant b) { return Duration{a.ns - b.ns}; }
};

}  // namespace hub
