#include "simnet/latency.hpp"

#include <algorithm>
#include <array>
#include <bit>

#include "hub/env/assert.hpp"

namespace simnet {

using hub::Duration;

namespace {

__extension__ typedef unsigned __int128 U128;

constexpr int kTableBits = 8;
constexpr int kTableSteps = 1 << kTableBits;  // 256 intervals, 257 points

// ln(1 + k/256) in Q32, computed with integers only: ln(1 + x) = 2 atanh(x / (2 + x)), and
// atanh(z) = z + z^3/3 + z^5/5 + ... summed in Q62 (z <= 1/3, so ~20 terms reach 2^-62).
constexpr uint64_t ln1p_q32(uint64_t k) {
    const U128 one_q62 = U128{1} << 62;
    const uint64_t z = static_cast<uint64_t>((U128{k} << 62) / (kTableSteps * 2 + k));
    const uint64_t z2 = static_cast<uint64_t>(U128{z} * z / one_q62);
    uint64_t term = z;
    uint64_t sum = 0;
    for (uint64_t j = 1; term != 0; j += 2) {
        sum += term / j;
        term = static_cast<uint64_t>(U128{term} * z2 / one_q62);
    }
    return (2 * sum + (uint64_t{1} << 29)) >> 30;  // Q62 -> Q32, rounded
}

constexpr std::array<uint64_t, kTableSteps + 1> make_ln_table() {
    std::array<uint64_t, kTableSteps + 1> table{};
    for (uint64_t k = 0; k <= kTableSteps; ++k) {
        table[k] = ln1p_q32(k);
    }
    return table;
}

constexpr std::array<uint64_t, kTableSteps + 1> kLn1pQ32 = make_ln_table();
constexpr uint64_t kLn2Q32 = kLn1pQ32[kTableSteps];

// Pinned: ln(1) = 0, and ln(1.5) * 2^32 and ln(2) * 2^32 rounded (checked with Python decimal).
static_assert(kLn1pQ32[0] == 0);
static_assert(kLn1pQ32[128] == 1741459379);
static_assert(kLn2Q32 == 2977044472);

}  // namespace

uint64_t neg_ln_q32(uint64_t r) {
    r = std::max<uint64_t>(r, 1);
    // r / 2^64 = (m / 2^63) * 2^-(e + 1) with m / 2^63 in [1, 2), so
    // -ln(r / 2^64) = (e + 1) ln 2 - ln(m / 2^63).
    const int e = std::countl_zero(r);
    const uint64_t fraction = (r << e) << 1;  // the bits after m's leading 1
    const uint64_t k = fraction >> (64 - kTableBits);
    const uint64_t between = (fraction >> (64 - kTableBits - 32)) & 0xffffffffu;
    const uint64_t lo = kLn1pQ32[k];
    const uint64_t hi = kLn1pQ32[k + 1];
    HUB_ASSERT(hi >= lo);
    const uint64_t ln_m = lo + (((hi - lo) * between) >> 32);
    HUB_ASSERT(ln_m <= kLn2Q32);
    return static_cast<uint64_t>(e + 1) * kLn2Q32 - ln_m;
}

int64_t draw_exponential_ns(hub::Random& random, int64_t mean_ns, int64_t cap_ns) {
    HUB_ASSERT(mean_ns >= 0 && cap_ns >= 0);
    const uint64_t neg_ln = neg_ln_q32(random.next_u64());  // < 45 * 2^32
    const U128 scaled = (U128{static_cast<uint64_t>(mean_ns)} * neg_ln + (U128{1} << 31)) >> 32;
    return scaled >= static_cast<U128>(cap_ns) ? cap_ns : static_cast<int64_t>(scaled);
}

LatencyModel::LatencyModel(Shape shape, Duration base, Duration a, Duration b)
    : shape_(shape), base_(base), a_(a), b_(b) {
    HUB_ASSERT(base_.ns >= 0 && a_.ns >= 0 && b_.ns >= 0);
    HUB_ASSERT(shape_ != Shape::uniform || a_ <= b_);
}

LatencyModel LatencyModel::fixed(Duration delay) {
    return LatencyModel(Shape::fixed, Duration{0}, delay, Duration{0});
}

LatencyModel LatencyModel::uniform(Duration min, Duration max) {
    return LatencyModel(Shape::uniform, Duration{0}, min, max);
}

LatencyModel LatencyModel::exponential(Duration mean, Duration cap) {
    return LatencyModel(Shape::exponential, Duration{0}, mean, cap);
}

LatencyModel LatencyModel::base_plus_jitter(Duration base, LatencyModel jitter) {
    HUB_ASSERT(base.ns >= 0);
    jitter.base_ = jitter.base_ + base;
    return jitter;
}

Duration LatencyModel::draw(hub::Random& random) const {
    Duration d;
    switch (shape_) {
        case Shape::fixed:
            d = a_;
            break;
        case Shape::uniform:
            d = Duration{random.uniform_between(a_.ns, b_.ns)};
            break;
        case Shape::exponential:
            d = Duration{draw_exponential_ns(random, a_.ns, b_.ns)};
            break;
    }
    const Duration total = base_ + d;
    HUB_ASSERT(total >= min() && total <= max());
    return total;
}

Duration LatencyModel::min() const {
    return shape_ == Shape::exponential ? base_ : base_ + a_;
}

Duration LatencyModel::max() const { return base_ + (shape_ == Shape::fixed ? a_ : b_); }

namespace {

std::string show(Duration d) {
    if (d.ns % 1000000 == 0) {
        return std::to_string(d.ns / 1000000) + "ms";
    }
    if (d.ns % 1000 == 0) {
        return std::to_string(d.ns / 1000) + "us";
    }
    return std::to_string(d.ns) + "ns";
}

}  // namespace

std::string LatencyModel::describe() const {
    std::string s = base_.ns > 0 ? show(base_) + "+" : "";
    switch (shape_) {
        case Shape::fixed:
            return s + show(a_);
        case Shape::uniform:
            return s + "uniform(" + show(a_) + "," + show(b_) + ")";
        case Shape::exponential:
            return s + "exp(mean=" + show(a_) + ",cap=" + show(b_) + ")";
    }
    return s;
}

}  // namespace simnet
