#include "hub/env/random.hpp"

#include <gtest/gtest.h>

#include <set>

namespace hub {
namespace {

TEST(Random, SameSeedSameSequence) {
    Random a(42);
    Random b(42);
    for (int i = 0; i < 1000; ++i) {
        ASSERT_EQ(a.next_u64(), b.next_u64());
    }
}

TEST(Random, KnownOutputIsPlatformIndependent) {
    // Pinned values: a change here changes every recorded seed's run.
    Random r(1);
    EXPECT_EQ(r.next_u64(), 0xb3f2af6d0fc710c5ULL);
    EXPECT_EQ(r.uniform(10), 2u);  // both checked against an independent Python model
}

TEST(Random, UniformStaysInRangeAndCoversIt) {
    Random r(7);
    std::set<uint64_t> seen;
    for (int i = 0; i < 1000; ++i) {
        const uint64_t v = r.uniform(6);
        ASSERT_LT(v, 6u);
        seen.insert(v);
    }
    EXPECT_EQ(seen.size(), 6u);
    for (int i = 0; i < 1000; ++i) {
        const int64_t v = r.uniform_between(-3, 3);
        ASSERT_GE(v, -3);
        ASSERT_LE(v, 3);
    }
}

TEST(Random, ChanceMatchesItsProbabilityRoughly) {
    Random r(9);
    int hits = 0;
    for (int i = 0; i < 10000; ++i) {
        hits += r.chance(1, 4) ? 1 : 0;
    }
    EXPECT_GT(hits, 2200);
    EXPECT_LT(hits, 2800);
    EXPECT_TRUE(r.chance(5, 5));
    EXPECT_FALSE(r.chance(0, 5));
}

TEST(Random, ForksAreIndependentOfParentDraws) {
    Random a(3);
    Random b(3);
    b.next_u64();  // drawing from the parent must not shift a child
    Random ca = a.fork("device/1");
    Random cb = b.fork("device/1");
    EXPECT_EQ(ca.next_u64(), cb.next_u64());
    EXPECT_NE(a.fork("device/1").next_u64(), a.fork("device/2").next_u64());
}

TEST(Random, ExponentialHasItsMeanAndIsPinned) {
    Random r(11);
    uint64_t sum = 0;
    uint64_t small = 0;
    for (int i = 0; i < 100000; ++i) {
        const uint64_t v = r.exponential(1000);
        ASSERT_LE(v, 64000u);
        sum += v;
        small += v < 693 ? 1 : 0;  // the median of Exp(mean) is mean * ln 2
    }
    EXPECT_NEAR(static_cast<double>(sum) / 100000, 1000.0, 15.0);
    EXPECT_NEAR(static_cast<double>(small) / 100000, 0.5, 0.01);
    Random pinned(1);
    EXPECT_EQ(pinned.exponential(1000000), 352510u);  // checked against an independent model
}

TEST(Random, ShuffleIsAPermutation) {
    Random r(5);
    std::vector<int> v = {1, 2, 3, 4, 5, 6, 7, 8};
    r.shuffle(v);
    std::multiset<int> s(v.begin(), v.end());
    EXPECT_EQ(s, (std::multiset<int>{1, 2, 3, 4, 5, 6, 7, 8}));
}

}  // namespace
}  // namespace hub

namespace hub {
namespace {

TEST(RandomGuid, HasTheGuidLayoutAndFollowsTheSeed) {
    Random a(42), b(42);
    const std::string id = a.guid_text();
    ASSERT_EQ(id.size(), 36u);
    for (size_t i : {8u, 13u, 18u, 23u}) EXPECT_EQ(id[i], '-') << id;
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef-"), std::string::npos) << id;
    EXPECT_EQ(b.guid_text(), id);
    EXPECT_NE(a.guid_text(), id);
}

}  // namespace
}  // namespace hub
