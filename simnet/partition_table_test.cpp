#include "simnet/partition_table.hpp"

#include <gtest/gtest.h>

namespace simnet {
namespace {

TEST(PartitionTable, DirectionsAccumulateAndHealRestoresBoth) {
    PartitionTable t;
    EXPECT_TRUE(t.empty());
    EXPECT_TRUE(t.partition("a", "b", Direction::a_to_b));
    EXPECT_TRUE(t.is_partitioned("a", "b"));
    EXPECT_FALSE(t.is_partitioned("b", "a"));
    EXPECT_FALSE(t.partition("a", "b", Direction::a_to_b));  // nothing new
    EXPECT_FALSE(t.partition("b", "a", Direction::b_to_a));  // the same cut, named from b
    EXPECT_TRUE(t.partition("b", "a", Direction::a_to_b));   // now both ways
    EXPECT_FALSE(t.partition("a", "b", Direction::both));
    EXPECT_TRUE(t.partition("c", "a", Direction::both));
    using Cut = std::pair<std::string, std::string>;
    EXPECT_EQ(t.cuts(), (std::vector<Cut>{{"a", "b"}, {"a", "c"}, {"b", "a"}, {"c", "a"}}));
    EXPECT_TRUE(t.is_split("b", "a"));
    EXPECT_TRUE(t.heal("b", "a"));
    EXPECT_FALSE(t.is_split("a", "b"));
    EXPECT_FALSE(t.heal("a", "b"));
    EXPECT_EQ(t.heal_all(), 2u);
    EXPECT_TRUE(t.empty());
}

TEST(PartitionTable, HostOfAnAddress) {
    EXPECT_EQ(host_of("hub:5671"), "hub");
    EXPECT_EQ(host_of("hub"), "hub");
    EXPECT_EQ(host_of(""), "");
}

}  // namespace
}  // namespace simnet
