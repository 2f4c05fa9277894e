// Random: a seeded 64-bit generator with our own distributions.
//
// Determinism contract: the output depends only on the seed, on every platform. That is why the
// distributions are written here and not taken from <random> (std::*_distribution differ
// between standard libraries). The engine is xoshiro256**, seeded through splitmix64.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hub {

class Random {
  public:
    explicit Random(uint64_t seed);

    uint64_t next_u64();
    // Uniform in [0, bound). REQUIRES: bound > 0.
    uint64_t uniform(uint64_t bound);
    // Uniform in [lo, hi]. REQUIRES: lo <= hi.
    int64_t uniform_between(int64_t lo, int64_t hi);
    // True with probability numerator / denominator. REQUIRES: denominator > 0.
    bool chance(uint64_t numerator, uint64_t denominator);
    // Exponentially distributed with the given mean (rounded to an integer, capped at
    // 64 * mean), for inter-arrival times and latencies. Computed with IEEE basic operations
    // only (no libm), so every platform draws the same values.
    uint64_t exponential(uint64_t mean);
    // An independent child stream: adding draws to the child does not shift the parent's.
    // The child's seed depends on the parent's seed and on `label` only.
    Random fork(std::string_view label) const;

    // 32 random hex digits in the GUID layout 8-4-4-4-12 (ids that Azure makes GUIDs:
    // operation and tracking ids). Not an RFC 4122 UUID: no version or variant bits.
    std::string guid_text();

    template <typename T>
    void shuffle(std::vector<T>& items) {
        for (size_t i = items.size(); i > 1; --i) {
            size_t j = static_cast<size_t>(uniform(i));
            std::swap(items[i - 1], items[j]);
        }
    }

  private:
    uint64_t seed_;
    uint64_t s_[4];
};

// splitmix64 finaliser: a good 64-bit mixing function, used for seeds and hashes.
uint64_t mix64(uint64_t x);

}  // namespace hub
