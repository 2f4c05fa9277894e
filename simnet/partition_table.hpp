// PartitionTable: which directed host pairs are cut, shared by the stream and datagram networks.
//
// A partition between hosts a and b cuts one or both directions: with Direction::a_to_b, bytes
// or messages from a to b are lost while b to a still flows (an asymmetric partition, e.g. a
// firewall rule on one side). Cuts accumulate: a_to_b then b_to_a is the same as both.
// heal(a, b) restores both directions; heal_all() restores every pair.
//
// Determinism: cuts live in a std::set of (from, to) pairs, so cuts() is sorted by host names.
// The table is passive: the networks consult it when they move data.
//
// Example:
//   PartitionTable cuts;
//   cuts.partition("hub", "dev-1", Direction::a_to_b);
//   cuts.is_partitioned("hub", "dev-1");  // true
//   cuts.is_partitioned("dev-1", "hub");  // false
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace simnet {

enum class Direction { both, a_to_b, b_to_a };

class PartitionTable {
  public:
    // Cuts a -> b, b -> a or both. Returns true if at least one direction was newly cut.
    // REQUIRES: a != b.
    bool partition(const std::string& a, const std::string& b, Direction dir);
    // Restores both directions between a and b. Returns true if anything was cut.
    bool heal(const std::string& a, const std::string& b);
    // Restores every pair. Returns how many directed cuts were removed.
    size_t heal_all();
    // True if data from `from` to `to` is lost.
    bool is_partitioned(const std::string& from, const std::string& to) const;
    // True if either direction between a and b is cut.
    bool is_split(const std::string& a, const std::string& b) const {
        return is_partitioned(a, b) || is_partitioned(b, a);
    }
    bool empty() const { return cut_.empty(); }
    // Every directed cut (from, to), sorted.
    std::vector<std::pair<std::string, std::string>> cuts() const;

  private:
    std::set<std::pair<std::string, std::string>> cut_;
};

// The host part of "host:port" (the whole string when it has no ':').
std::string host_of(const std::string& address);

}  // namespace simnet
