#include "simnet/sim_disk.hpp"

#include <gtest/gtest.h>

namespace simnet {
namespace {

hub::Bytes fill(size_t n, uint8_t v) { return hub::Bytes(n, v); }

TEST(SimDisk, SyncedDataAlwaysSurvivesCrash) {
    for (uint64_t seed = 0; seed < 50; ++seed) {
        SimDisk disk;
        ASSERT_TRUE(disk.append("f", fill(1000, 1)).ok());
        ASSERT_TRUE(disk.sync("f").ok());
        ASSERT_TRUE(disk.append("f", fill(3000, 2)).ok());
        hub::Random random(seed);
        disk.crash(random);
        hub::Bytes data = *disk.read("f");
        ASSERT_GE(data.size(), 1000u);
        ASSERT_LE(data.size(), 4000u);
        EXPECT_EQ((data.size() - 1000) % kSectorBytes, 0u);  // torn at sector boundaries
        for (size_t i = 0; i < 1000; ++i) {
            ASSERT_EQ(data[i], 1);
        }
    }
}

TEST(SimDisk, CrashSometimesKeepsATornPrefixAndSometimesNothing) {
    size_t kept_some = 0;
    size_t kept_none = 0;
    for (uint64_t seed = 0; seed < 100; ++seed) {
        SimDisk disk;
        ASSERT_TRUE(disk.append("f", fill(4096, 7)).ok());
        hub::Random random(seed);
        disk.crash(random);
        (disk.read("f")->empty() ? kept_none : kept_some)++;
    }
    EXPECT_GT(kept_some, 0u);
    EXPECT_GT(kept_none, 0u);
}

TEST(SimDisk, ErrorsAreValues) {
    SimDisk disk;
    EXPECT_EQ(disk.read("missing").status().code(), hub::Code::not_found);
    EXPECT_EQ(disk.sync("missing").code(), hub::Code::not_found);
    ASSERT_TRUE(disk.append("f", fill(10, 1)).ok());
    EXPECT_EQ(disk.truncate("f", 11).code(), hub::Code::invalid_argument);
    disk.set_fail_syncs(true);
    EXPECT_EQ(disk.sync("f").code(), hub::Code::io_error);
    ASSERT_TRUE(disk.append("a", fill(1, 1)).ok());
    EXPECT_EQ(disk.list(), (std::vector<std::string>{"a", "f"}));
    ASSERT_TRUE(disk.remove("a").ok());
    EXPECT_EQ(disk.list(), (std::vector<std::string>{"f"}));
}

}  // namespace
}  // namespace simnet
