#include "hub/core/provisioning/allocation.hpp"

#include <gtest/gtest.h>

namespace hub::provisioning {
namespace {

using HubMap = std::map<std::string, LinkedHub, std::less<>>;

HubMap three_hubs() {
    return {{"hub-a", {"hub-a", "westeurope", 1}},
            {"hub-b", {"hub-b", "eastus", 2}},
            {"hub-c", {"hub-c", "japaneast", 1}}};
}

AllocationRequest request(const std::string& id, AllocationPolicy policy,
                          std::vector<std::string> candidates = {}, std::string hint = "") {
    return AllocationRequest{id, policy, std::move(candidates), std::move(hint)};
}

// FNV-1a 64 ("a" is the published test vector 0xaf63dc4c8601ec8c) then splitmix64's
// finaliser; values computed in Python, independently of this code.
TEST(Allocation, StableHashIsPinned) {
    EXPECT_EQ(stable_hash(""), 0xc3817c016ba4ff30ULL);
    EXPECT_EQ(stable_hash("a"), 0x5f29c2aadd9b8527ULL);
    EXPECT_EQ(stable_hash("sensor-042"), 0xfb00d2907c17218dULL);
}

TEST(Allocation, StaticTakesTheNamedHub) {
    const HubMap hubs = three_hubs();
    RegionDistances none;
    EXPECT_EQ(*allocate(hubs, request("d", AllocationPolicy::static_hub, {"hub-c"}), none),
              "hub-c");
    EXPECT_EQ(
        allocate(hubs, request("d", AllocationPolicy::static_hub, {"hub-x"}), none).status().code(),
        Code::failed_precondition);
    EXPECT_EQ(allocate(hubs, request("d", AllocationPolicy::static_hub), none).status().code(),
              Code::failed_precondition);
}

TEST(Allocation, HashedFollowsTheWeightsAndIsStable) {
    const HubMap hubs = three_hubs();
    RegionDistances none;
    std::map<std::string, int> counts;
    for (int i = 0; i < 1000; ++i) {
        const std::string id = "device-" + std::to_string(i);
        Result<std::string> hub = allocate(hubs, request(id, AllocationPolicy::hashed), none);
        ASSERT_TRUE(hub.ok());
        EXPECT_EQ(*allocate(hubs, request(id, AllocationPolicy::hashed), none), *hub);
        ++counts[*hub];
    }
    // Weights 1:2:1 -> 250/500/250; 5 standard deviations (about 14 and 16) either way.
    EXPECT_NEAR(counts["hub-a"], 250, 70);
    EXPECT_NEAR(counts["hub-b"], 500, 80);
    EXPECT_NEAR(counts["hub-c"], 250, 70);
}

TEST(Allocation, HashedSkipsZeroWeightAndHonoursCandidates) {
    HubMap hubs = three_hubs();
    hubs["hub-b"].allocation_weight = 0;
    RegionDistances none;
    for (int i = 0; i < 200; ++i) {
        const std::string id = "d" + std::to_string(i);
        EXPECT_NE(*allocate(hubs, request(id, AllocationPolicy::hashed), none), "hub-b");
        EXPECT_EQ(*allocate(hubs, request(id, AllocationPolicy::hashed, {"hub-c"}), none), "hub-c");
    }
    EXPECT_EQ(
        allocate(hubs, request("d", AllocationPolicy::hashed, {"hub-b"}), none).status().code(),
        Code::failed_precondition);
    EXPECT_EQ(allocate(HubMap{}, request("d", AllocationPolicy::hashed), none).status().code(),
              Code::failed_precondition);
}

TEST(Allocation, GeoLatencyPicksTheNearestRegion) {
    const HubMap hubs = three_hubs();
    RegionDistances km;
    ASSERT_TRUE(km.set("northeurope", "westeurope", 750).ok());
    ASSERT_TRUE(km.set("northeurope", "eastus", 5000).ok());
    ASSERT_TRUE(km.set("westus", "eastus", 3900).ok());
    ASSERT_TRUE(km.set("westus", "japaneast", 7700).ok());
    auto geo = [&](const std::string& hint) {
        return *allocate(hubs, request("d1", AllocationPolicy::geo_latency, {}, hint), km);
    };
    EXPECT_EQ(geo("japaneast"), "hub-c");  // same region: distance 0
    EXPECT_EQ(geo("northeurope"), "hub-a");
    EXPECT_EQ(geo("westus"), "hub-b");
    EXPECT_EQ(geo("antarctica"), "hub-a");  // nothing known: ties go to the smaller name
    // No hint: the hashed answer.
    EXPECT_EQ(*allocate(hubs, request("d1", AllocationPolicy::geo_latency), km),
              *allocate(hubs, request("d1", AllocationPolicy::hashed), km));
}

TEST(Allocation, GeoLatencyBreaksTiesByName) {
    HubMap hubs = {{"zeta", {"zeta", "westeurope", 1}}, {"alpha", {"alpha", "westeurope", 1}}};
    RegionDistances km;
    EXPECT_EQ(*allocate(hubs, request("d", AllocationPolicy::geo_latency, {}, "westeurope"), km),
              "alpha");
}

TEST(Allocation, RegionDistancesAreSymmetricAndValidated) {
    RegionDistances km;
    ASSERT_TRUE(km.set("b", "a", 10).ok());
    EXPECT_EQ(km.distance("a", "b"), 10u);
    EXPECT_EQ(km.distance("b", "a"), 10u);
    EXPECT_EQ(km.distance("a", "a"), 0u);
    EXPECT_EQ(km.distance("a", "c"), RegionDistances::kUnknown);
    EXPECT_EQ(km.set("a", "a", 1).code(), Code::invalid_argument);
    EXPECT_EQ(km.set("", "a", 1).code(), Code::invalid_argument);
    EXPECT_EQ(km.set("a", "c", RegionDistances::kUnknown).code(), Code::invalid_argument);
}

TEST(Allocation, PolicyNames) {
    for (AllocationPolicy p :
         {AllocationPolicy::static_hub, AllocationPolicy::hashed, AllocationPolicy::geo_latency}) {
        EXPECT_EQ(allocation_policy_from_name(allocation_policy_name(p)), p);
    }
    EXPECT_EQ(allocation_policy_from_name("custom"), std::nullopt);
    EXPECT_EQ(validate_linked_hub({"", "r", 1}).code(), Code::invalid_argument);
    EXPECT_EQ(validate_linked_hub({"h", "r", kAllocationWeightMax + 1}).code(),
              Code::invalid_argument);
}

}  // namespace
}  // namespace hub::provisioning
