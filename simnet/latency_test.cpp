#include "simnet/latency.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace simnet {
namespace {

using hub::Duration;

TEST(LatencyModel, FixedDrawsNothingFromTheRandom) {
    hub::Random a(3);
    hub::Random b(3);
    const LatencyModel m = LatencyModel::fixed(Duration::millis(7));
    EXPECT_EQ(m.draw(a), Duration::millis(7));
    EXPECT_EQ(a.next_u64(), b.next_u64());
    EXPECT_EQ(m.describe(), "7ms");
}

TEST(LatencyModel, UniformIsTheOldDefaultDraw) {
    hub::Random a(5);
    hub::Random b(5);
    const LatencyModel m = LatencyModel::uniform(Duration::micros(50), Duration::micros(500));
    for (int i = 0; i < 1000; ++i) {
        const Duration d = m.draw(a);
        EXPECT_EQ(d.ns, b.uniform_between(50000, 500000));  // same draws as before LatencyModel
        EXPECT_GE(d, m.min());
        EXPECT_LE(d, m.max());
    }
}

TEST(LatencyModel, ExponentialHasItsMeanMedianAndCap) {
    hub::Random r(11);
    const LatencyModel m = LatencyModel::exponential(Duration::micros(1000), Duration::millis(5));
    constexpr int draws = 200000;
    int64_t sum = 0;
    int below_median = 0;
    int capped = 0;
    for (int i = 0; i < draws; ++i) {
        const int64_t ns = m.draw(r).ns;
        ASSERT_GE(ns, 0);
        ASSERT_LE(ns, Duration::millis(5).ns);
        sum += ns;
        below_median += ns < 693147 ? 1 : 0;  // the median of Exp(mean) is mean * ln 2
        capped += ns == Duration::millis(5).ns ? 1 : 0;
    }
    // E[min(X, 5 mean)] = mean (1 - e^-5) = 993.26 us; P(X >= 5 mean) = e^-5 = 0.67%.
    EXPECT_NEAR(static_cast<double>(sum) / draws, 993262.0, 993262.0 * 0.01);
    EXPECT_NEAR(static_cast<double>(below_median) / draws, 0.5, 0.005);
    EXPECT_NEAR(static_cast<double>(capped) / draws, 0.006738, 0.001);
}

TEST(LatencyModel, NegLnMatchesTheRealLogarithm) {
    hub::Random r(2);
    for (int i = 0; i < 100000; ++i) {
        uint64_t x = r.next_u64() >> r.uniform(64);  // spread over every binade
        x = std::max<uint64_t>(x, 1);
        const double expected = -std::log(static_cast<double>(x) * 0x1.0p-64);
        const double got = static_cast<double>(neg_ln_q32(x)) * 0x1.0p-32;
        ASSERT_NEAR(got, expected, 4e-6 + expected * 1e-9) << "x=" << x;
    }
    EXPECT_EQ(neg_ln_q32(uint64_t{1} << 63), 2977044472u);  // -ln(1/2) = ln 2
    EXPECT_EQ(neg_ln_q32(0), neg_ln_q32(1));
}

TEST(LatencyModel, ExponentialDrawsArePinned) {
    // Integer-only arithmetic: these values must be the same on every platform and compiler.
    // (The exact -ln(u) * 1e6 are 352509.58, 653087.17, 554941.75 and 938207.66.)
    hub::Random r(1);
    std::vector<int64_t> got;
    for (int i = 0; i < 4; ++i) {
        got.push_back(draw_exponential_ns(r, 1000000, 100000000));
    }
    EXPECT_EQ(got, (std::vector<int64_t>{352510, 653089, 554942, 938208}));
}

TEST(LatencyModel, BasePlusJitterShiftsEveryDraw) {
    const LatencyModel jitter =
        LatencyModel::exponential(Duration::millis(5), Duration::millis(200));
    const LatencyModel m = LatencyModel::base_plus_jitter(Duration::millis(20), jitter);
    EXPECT_EQ(m.min(), Duration::millis(20));
    EXPECT_EQ(m.max(), Duration::millis(220));
    EXPECT_EQ(m.describe(), "20ms+exp(mean=5ms,cap=200ms)");
    hub::Random r(4);
    for (int i = 0; i < 1000; ++i) {
        const Duration d = m.draw(r);
        ASSERT_GE(d, m.min());
        ASSERT_LE(d, m.max());
    }
    const LatencyModel u = LatencyModel::base_plus_jitter(
        Duration::micros(100), LatencyModel::uniform(Duration::micros(0), Duration::micros(10)));
    EXPECT_EQ(u.describe(), "100us+uniform(0ms,10us)");
}

}  // namespace
}  // namespace simnet
