#include "simnet/partition_table.hpp"

#include "hub/env/assert.hpp"

namespace simnet {

bool PartitionTable::partition(const std::string& a, const std::string& b, Direction dir) {
    HUB_ASSERT(a != b);
    bool added = false;
    if (dir != Direction::b_to_a) {
        added |= cut_.emplace(a, b).second;
    }
    if (dir != Direction::a_to_b) {
        added |= cut_.emplace(b, a).second;
    }
    HUB_ASSERT(is_split(a, b));
    return added;
}

bool PartitionTable::heal(const std::string& a, const std::string& b) {
    const size_t removed = cut_.erase({a, b}) + cut_.erase({b, a});
    HUB_ASSERT(!is_split(a, b));
    return removed > 0;
}

size_t PartitionTable::heal_all() {
    const size_t removed = cut_.size();
    cut_.clear();
    return removed;
}

bool PartitionTable::is_partitioned(const std::string& from, const std::string& to) const {
    return !cut_.empty() && cut_.contains({from, to});
}

std::vector<std::pair<std::string, std::string>> PartitionTable::cuts() const {
    return {cut_.begin(), cut_.end()};
}

std::string host_of(const std::string& address) { return address.substr(0, address.find(':')); }

}  // namespace simnet
