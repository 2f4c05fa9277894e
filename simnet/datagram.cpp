#include "simnet/datagram.hpp"

namespace simnet {

using hub::Code;
using hub::Status;

DatagramNetwork::DatagramNetwork(Simulator& sim, hub::Random random, DatagramConfig config)
    : sim_(sim), random_(random), config_(config) {
    HUB_ASSERT(config_.drop_per_million <= kPerMillion);
    HUB_ASSERT(config_.duplicate_per_million <= kPerMillion);
    HUB_ASSERT(config_.delay_per_million <= kPerMillion);
}

Status DatagramNetwork::bind(const std::string& address, Handler handler) {
    HUB_ASSERT(handler != nullptr);
    if (bindings_.contains(address)) {
        return Status(Code::already_exists, "address " + address + " is already bound");
    }
    bindings_[address].handler = std::make_unique<Handler>(std::move(handler));
    return Status::ok_status();
}

void DatagramNetwork::unbind(const std::string& address) {
    auto it = bindings_.find(address);
    if (it == bindings_.end()) {
        return;
    }
    if (it->second.handler.get() == dispatching_) {
        retired_.push_back(std::move(it->second.handler));  // still running: free it after
    }
    bindings_.erase(it);
}

Status DatagramNetwork::send(const std::string& from, const std::string& to,
                             hub::ByteView message) {
    if (message.size() > config_.message_bytes_max) {
        ++stats_.refused_too_large;
        return Status(Code::invalid_argument, "message of " + std::to_string(message.size()) +
                                                  " bytes exceeds message_bytes_max");
    }
    ++stats_.sent;
    const uint64_t sequence = next_sequence_++;
    if (partitions_.is_partitioned(host_of(from), host_of(to))) {
        ++stats_.dropped_partition;
        return Status::ok_status();
    }
    if (random_.chance(config_.drop_per_million, kPerMillion)) {
        ++stats_.dropped_random;
        return Status::ok_status();
    }
    const bool duplicate = random_.chance(config_.duplicate_per_million, kPerMillion);
    stats_.duplicated += duplicate ? 1 : 0;
    const hub::Bytes bytes(message.begin(), message.end());
    for (int copy = 0; copy < (duplicate ? 2 : 1); ++copy) {
        Duration delay = config_.latency.draw(random_);
        if (random_.chance(config_.delay_per_million, kPerMillion)) {
            ++stats_.delayed;
            delay = delay + config_.delay.draw(random_);
        }
        ++in_flight_;
        sim_.schedule(sim_.now() + delay, [this, sequence, from, to, bytes] {
            arrive(sequence, from, to, bytes);
        });
    }
    return Status::ok_status();
}

void DatagramNetwork::arrive(uint64_t sequence, const std::string& from, const std::string& to,
                             const hub::Bytes& message) {
    HUB_ASSERT(in_flight_ > 0);
    --in_flight_;
    if (partitions_.is_partitioned(host_of(from), host_of(to))) {
        ++stats_.dropped_partition;  // cut while in flight
        return;
    }
    auto it = bindings_.find(to);
    if (it == bindings_.end()) {
        ++stats_.dropped_unbound;
        return;
    }
    Binding& binding = it->second;
    ++stats_.delivered;
    if (sequence < binding.last_sequence) {
        ++stats_.reordered;
    } else {
        binding.last_sequence = sequence;
    }
    HUB_ASSERT(dispatching_ == nullptr);  // arrivals are events: never nested
    dispatching_ = binding.handler.get();
    (*dispatching_)(from, message);  // may unbind `to`: the handler then lives in retired_
    dispatching_ = nullptr;
    retired_.clear();
}

void DatagramNetwork::partition(const std::string& a, const std::string& b, Direction dir) {
    if (partitions_.partition(a, b, dir)) {
        sim_.trace("datagram", "dgram.partition", a + "|" + b);
    }
}

void DatagramNetwork::heal(const std::string& a, const std::string& b) {
    if (partitions_.heal(a, b)) {
        sim_.trace("datagram", "dgram.heal", a + "|" + b);
    }
}

void DatagramNetwork::heal_all() {
    if (partitions_.heal_all() > 0) {
        sim_.trace("datagram", "dgram.heal", "all");
    }
}

}  // namespace simnet
