#include "hub/env/random.hpp"

#include <cmath>

#include "hub/env/assert.hpp"

namespace hub {

uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

Random::Random(uint64_t seed) : seed_(seed) {
    // Standard splitmix64 seeding: the state advances by the golden gamma, outputs are mixed.
    for (int i = 0; i < 4; ++i) {
        s_[i] = mix64(seed + static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15ULL);
    }
    HUB_ASSERT((s_[0] | s_[1] | s_[2] | s_[3]) != 0);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t Random::next_u64() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

uint64_t Random::uniform(uint64_t bound) {
    HUB_ASSERT(bound > 0);
    // Rejection sampling: drop the top partial range so every value is equally likely.
    const uint64_t limit = UINT64_MAX - (UINT64_MAX % bound);
    uint64_t x = next_u64();
    while (x >= limit) {
        x = next_u64();
    }
    return x % bound;
}

int64_t Random::uniform_between(int64_t lo, int64_t hi) {
    HUB_ASSERT(lo <= hi);
    const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
    if (span == UINT64_MAX) {
        return static_cast<int64_t>(next_u64());
    }
    return static_cast<int64_t>(static_cast<uint64_t>(lo) + uniform(span + 1));
}

bool Random::chance(uint64_t numerator, uint64_t denominator) {
    HUB_ASSERT(denominator > 0);
    if (numerator >= denominator) {
        return true;
    }
    return uniform(denominator) < numerator;
}

namespace {

// Natural logarithm of x in (0, 1] from +, -, *, / and frexp only (all exact or correctly
// rounded under IEEE 754), unlike std::log whose last bit may differ between libms.
double portable_log(double x) {
    int exponent = 0;
    const double m = std::frexp(x, &exponent);  // x = m * 2^exponent, m in [0.5, 1)
    const double z = (m - 1.0) / (m + 1.0);     // ln(m) = 2 atanh(z), |z| <= 1/3
    const double z2 = z * z;
    double term = z;
    double sum = 0.0;
    for (int k = 1; k < 60; k += 2) {  // |z|^59 / 59 is far below double precision
        sum += term / k;
        term *= z2;
    }
    return 2.0 * sum + exponent * 0.69314718055994530942;
}

}  // namespace

uint64_t Random::exponential(uint64_t mean) {
    // u in (0, 1]: 53 random bits, never zero.
    const double u = static_cast<double>((next_u64() >> 11) + 1) * 0x1.0p-53;
    const double draw = -portable_log(u) * static_cast<double>(mean);
    const double cap = 64.0 * static_cast<double>(mean);
    return static_cast<uint64_t>(draw < cap ? draw + 0.5 : cap);
}

std::string Random::guid_text() {
    static constexpr char kHex[] = "0123456789abcdef";
    const uint64_t words[2] = {next_u64(), next_u64()};
    std::string id;
    for (int i = 0; i < 32; ++i) {
        if (i == 8 || i == 12 || i == 16 || i == 20) id.push_back('-');
        id.push_back(kHex[(words[i / 16] >> (4 * (i % 16))) & 15]);
    }
    return id;
}

Random Random::fork(std::string_view label) const {
    uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a over the label, then mixed with our seed.
    for (char c : label) {
        h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ULL;
    }
    return Random(mix64(seed_ ^ mix64(h)));
}

}  // namespace hub
