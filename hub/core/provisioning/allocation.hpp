// Allocation: which linked IoT hub a registering device is assigned to.
//
// Concept (Azure DPS allocation policies):
// - static: the enrollment names exactly one hub; that hub is the answer.
// - hashed: "evenly weighted distribution": a stable hash of the registration id picks a
//   point in [0, total weight) and the hubs, in name order, own consecutive ranges of their
//   weights. The same id gets the same hub while the linked hubs are unchanged.
// - geoLatency: the hub nearest to the device's region hint. Distance is 0 within a region,
//   else the RegionDistances table's value, else "unknown" (ranked after every known one);
//   ties go to the smaller hub name. Without a hint the answer is the hashed one.
// Hubs with weight 0 take part only in static allocation. An enrollment may restrict the
// candidates to a list of hubs (empty = every linked hub).
//
// Pure functions over sorted containers: the answer depends only on the arguments, on every
// platform (own FNV-1a + mix64 hash, no std::hash).
//
// Example:
//   std::map<std::string, LinkedHub, std::less<>> hubs = {{"a", {"a", "westeurope", 1}}};
//   AllocationRequest request{"dev-1", AllocationPolicy::hashed, {}, ""};
//   Result<std::string> hub = allocate(hubs, request, RegionDistances());
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hub/env/status.hpp"

namespace hub::provisioning {

// Limits. DPS links at most 50 IoT hubs to one instance (service quota).
constexpr size_t kLinkedHubsMax = 50;
// Azure host names are at most 253 bytes (DNS); region names are short ("westeurope").
constexpr size_t kHubNameBytesMax = 253;
constexpr size_t kRegionBytesMax = 64;
// Keeps the hashed total far from overflow: 50 hubs x 1000 < 2^32.
constexpr uint32_t kAllocationWeightMax = 1000;
// Region pairs in the distance table: 50 regions, every pair.
constexpr size_t kRegionPairsMax = 50 * 49 / 2;
static_assert(uint64_t{kLinkedHubsMax} * kAllocationWeightMax < (uint64_t{1} << 32));

enum class AllocationPolicy : uint8_t { static_hub, hashed, geo_latency };

// DPS's names: "static", "hashed", "geoLatency".
const char* allocation_policy_name(AllocationPolicy policy);
std::optional<AllocationPolicy> allocation_policy_from_name(std::string_view name);

struct LinkedHub {
    std::string name;  // the host name devices connect to ("hub-eu.azure-devices.net")
    std::string region;
    uint32_t allocation_weight = 1;  // 0: only static allocation may pick it
};

// Errors: invalid_argument naming the field.
Status validate_linked_hub(const LinkedHub& hub);

// Symmetric distances between regions (km or any unit, smaller is nearer).
class RegionDistances {
  public:
    static constexpr uint32_t kUnknown = UINT32_MAX;

    // Errors: invalid_argument (empty or too long names, same region twice, kUnknown),
    // resource_exhausted (kRegionPairsMax).
    Status set(std::string_view a, std::string_view b, uint32_t distance);
    // 0 for a == b, the table's value, else kUnknown.
    uint32_t distance(std::string_view a, std::string_view b) const;

  private:
    // Key: (smaller name, larger name).
    std::map<std::pair<std::string, std::string>, uint32_t> distances_;
};

struct AllocationRequest {
    std::string registration_id;
    AllocationPolicy policy = AllocationPolicy::hashed;
    std::vector<std::string> candidates;  // hubs the enrollment allows; empty = all linked
    std::string region_hint;              // the device's region, for geoLatency
};

// The hub to assign. Errors: failed_precondition when no linked hub fits (static without
// exactly one named hub, a named hub that is not linked, no hub with weight > 0).
Result<std::string> allocate(const std::map<std::string, LinkedHub, std::less<>>& hubs,
                             const AllocationRequest& request, const RegionDistances& distances);

// FNV-1a 64 followed by mix64: stable across runs, platforms and standard libraries.
uint64_t stable_hash(std::string_view text);

}  // namespace hub::provisioning
