#include "hub/core/provisioning/allocation.hpp"

#include <algorithm>

#include "hub/env/random.hpp"

namespace hub::provisioning {

namespace {

using HubMap = std::map<std::string, LinkedHub, std::less<>>;

// The hubs automatic allocation may pick, in name order: linked, weight > 0, and allowed by
// the enrollment.
std::vector<const LinkedHub*> eligible(const HubMap& hubs, const AllocationRequest& request) {
    std::vector<const LinkedHub*> out;
    for (const auto& [name, hub] : hubs) {
        if (hub.allocation_weight == 0) continue;
        if (!request.candidates.empty() &&
            std::find(request.candidates.begin(), request.candidates.end(), name) ==
                request.candidates.end()) {
            continue;
        }
        out.push_back(&hub);
    }
    return out;
}

Result<std::string> allocate_static(const HubMap& hubs, const AllocationRequest& request) {
    if (request.candidates.size() != 1) {
        return Status(Code::failed_precondition,
                      "static allocation needs the enrollment to name exactly one hub");
    }
    const std::string& name = request.candidates.front();
    if (!hubs.contains(name)) {
        return Status(Code::failed_precondition, "hub '" + name + "' is not linked");
    }
    return name;
}

Result<std::string> allocate_hashed(const std::vector<const LinkedHub*>& hubs,
                                    std::string_view registration_id) {
    uint64_t total = 0;
    for (const LinkedHub* hub : hubs) total += hub->allocation_weight;
    HUB_ASSERT(total > 0);
    HUB_ASSERT(total <= uint64_t{kLinkedHubsMax} * kAllocationWeightMax);
    uint64_t point = stable_hash(registration_id) % total;
    for (const LinkedHub* hub : hubs) {
        if (point < hub->allocation_weight) return hub->name;
        point -= hub->allocation_weight;
    }
    HUB_ASSERT(false && "the weights cover [0, total)");
    return Status(Code::internal, "unreachable");
}

std::string allocate_nearest(const std::vector<const LinkedHub*>& hubs,
                             std::string_view region_hint, const RegionDistances& distances) {
    HUB_ASSERT(!hubs.empty());
    const LinkedHub* best = hubs.front();
    uint32_t best_distance = distances.distance(region_hint, best->region);
    for (const LinkedHub* hub : hubs) {
        const uint32_t d = distances.distance(region_hint, hub->region);
        // Strictly nearer only: hubs come in name order, so ties keep the smaller name.
        if (d < best_distance) {
            best = hub;
            best_distance = d;
        }
    }
    return best->name;
}

}  // namespace

const char* allocation_policy_name(AllocationPolicy policy) {
    switch (policy) {
        case AllocationPolicy::static_hub:
            return "static";
        case AllocationPolicy::hashed:
            return "hashed";
        case AllocationPolicy::geo_latency:
            return "geoLatency";
    }
    HUB_ASSERT(false && "unknown allocation policy");
    return "";
}

std::optional<AllocationPolicy> allocation_policy_from_name(std::string_view name) {
    for (AllocationPolicy p :
         {AllocationPolicy::static_hub, AllocationPolicy::hashed, AllocationPolicy::geo_latency}) {
        if (name == allocation_policy_name(p)) return p;
    }
    return std::nullopt;
}

Status validate_linked_hub(const LinkedHub& hub) {
    if (hub.name.empty() || hub.name.size() > kHubNameBytesMax ||
        hub.name.find_first_of(" /\\\"") != std::string::npos) {
        return Status(Code::invalid_argument, "hub name must be a host name of 1-253 bytes");
    }
    if (hub.region.size() > kRegionBytesMax) {
        return Status(Code::invalid_argument, "hub region is longer than 64 bytes");
    }
    if (hub.allocation_weight > kAllocationWeightMax) {
        return Status(Code::invalid_argument, "allocationWeight must be 0..1000");
    }
    return Status();
}

Status RegionDistances::set(std::string_view a, std::string_view b, uint32_t distance) {
    if (a.empty() || b.empty() || a.size() > kRegionBytesMax || b.size() > kRegionBytesMax) {
        return Status(Code::invalid_argument, "region names must be 1-64 bytes");
    }
    if (a == b || distance == kUnknown) {
        return Status(Code::invalid_argument, "a distance needs two regions and a known value");
    }
    std::pair<std::string, std::string> key = a < b ? std::pair(std::string(a), std::string(b))
                                                    : std::pair(std::string(b), std::string(a));
    if (!distances_.contains(key) && distances_.size() >= kRegionPairsMax) {
        return Status(Code::resource_exhausted, "the region distance table is full");
    }
    distances_[std::move(key)] = distance;
    return Status();
}

uint32_t RegionDistances::distance(std::string_view a, std::string_view b) const {
    if (a == b) return 0;
    std::pair<std::string, std::string> key = a < b ? std::pair(std::string(a), std::string(b))
                                                    : std::pair(std::string(b), std::string(a));
    auto it = distances_.find(key);
    return it == distances_.end() ? kUnknown : it->second;
}

Result<std::string> allocate(const HubMap& hubs, const AllocationRequest& request,
                             const RegionDistances& distances) {
    HUB_ASSERT(hubs.size() <= kLinkedHubsMax);
    if (request.policy == AllocationPolicy::static_hub) return allocate_static(hubs, request);
    const std::vector<const LinkedHub*> pool = eligible(hubs, request);
    if (pool.empty()) {
        return Status(
            Code::failed_precondition,
            "no linked hub with a weight above 0 is allowed for '" + request.registration_id + "'");
    }
    if (request.policy == AllocationPolicy::geo_latency && !request.region_hint.empty()) {
        return allocate_nearest(pool, request.region_hint, distances);
    }
    return allocate_hashed(pool, request.registration_id);
}

uint64_t stable_hash(std::string_view text) {
    uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64 offset basis
    for (unsigned char c : text) {
        h ^= c;
        h *= 0x100000001b3ULL;  // FNV-1a 64 prime
    }
    return mix64(h);
}

}  // namespace hub::provisioning
