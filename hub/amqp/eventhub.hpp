// The Event Hubs-compatible endpoint's pieces (reference §1.8), used by HubConnection:
// receiver addresses "{entity}/ConsumerGroups/{cg}/Partitions/{p}", the start position from
// the link's selector filter, events as @azure/event-hubs reads them (data-section body,
// x-opt-* annotations, the iothub-* system properties), and `$management` READ replies for
// the hub's and each partition's properties.
//
// Offsets are the decimal sequence numbers. Retention may drop a partition's oldest events:
// readers start at, and skip ahead to, D2cLog::first_sequence_number. Not thread-safe; pure but for the D2cLog it reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <proton/message.hpp>
#include <proton/sender.hpp>
#include <proton/source.hpp>

#include "hub/amqp/selector_filter.hpp"
#include "hub/core/d2c_log.hpp"

namespace hub::amqp {

struct PartitionAddress {
    std::string entity;
    std::string consumer_group;
    uint32_t partition = 0;
};

// Parses "{entity}/ConsumerGroups/{cg}/Partitions/{p}" (a leading '/' and "amqps://host/" are
// tolerated). nullopt for anything else.
std::optional<PartitionAddress> parse_partition_address(std::string_view address);
// The selector filter's expression ("" when the link has none). Errors: invalid_argument.
Result<std::string> selector_expression(const proton::source::filter_map& filters);

proton::message event_message(const StoredEvent& event);

// An application property as text ("" when absent; non-strings in Proton's text form).
std::string string_property(const proton::message& m, const std::string& key);
// The reply to a `$management` request, or an error reply (status-code 404/400).
proton::message management_reply(const proton::message& request, const D2cLog& log,
                                 const std::string& entity, int64_t created_ms);

// Sends one partition's committed events to one receiver link, from a start position.
class PartitionReader {
  public:
    PartitionReader(const D2cLog& log, uint32_t partition, const StartPosition& start);
    // Sends events while the link has credit. Returns how many it sent.
    size_t pump(proton::sender& link);
    uint64_t next_sequence_number() const { return next_; }

  private:
    const D2cLog& log_;
    uint32_t partition_;
    uint64_t next_;  // the next sequence number to send; at least the first retained one
};

}  // namespace hub::amqp
