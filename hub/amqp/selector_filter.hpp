// The Event Hubs start position, as receivers ask for it in their link's source filter
// ("apache.org:selector-filter:string", reference §1.8):
//   amqp.annotation.x-opt-offset > '-1'              earliest
//   amqp.annotation.x-opt-offset > '@latest'         only new events
//   amqp.annotation.x-opt-offset >= '12'             from an offset, inclusive
//   amqp.annotation.x-opt-sequence-number > '41'     after a sequence number
//   amqp.annotation.x-opt-enqueued-time > '1767225600000'   after a time (ms since epoch)
// Offsets in this hub are the decimal sequence numbers, so both forms address the same event.
//
// Pure parsing of untrusted text: errors are values (fuzzed).
#pragma once

#include <cstdint>
#include <string_view>

#include "hub/env/status.hpp"

namespace hub::amqp {

struct StartPosition {
    enum class Kind { earliest, latest, sequence_number, enqueued_time };
    Kind kind = Kind::earliest;
    int64_t value = 0;       // sequence number, or enqueued time in ms
    bool inclusive = false;  // ">=" rather than ">"
};

// An empty expression means earliest. Errors: invalid_argument naming what is wrong.
Result<StartPosition> parse_selector(std::string_view expression);

}  // namespace hub::amqp
