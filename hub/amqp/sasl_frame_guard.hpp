// SaslFrameGuard: refuses SASL frames a client has no business sending, before Proton reads them.
//
// A client sends exactly one SASL frame to this hub, its sasl-init: the hub never challenges,
// so there is no sasl-response, and after the outcome the client switches to AMQP. Proton 0.37
// (and its main branch as of 2025) dispatches a SASL frame that arrives later anyway, even on
// the AMQP layer, and its pn_do_init then overwrites the selected mechanism string without
// freeing it: every such frame leaks a little memory (found by the amqp_connection fuzzer).
// The guard follows the peer's byte stream (protocol headers and frame sizes only) and reports
// the first SASL-typed frame (frame type 1) after the first one, or on the AMQP layer, so the
// pump can fail the connection without handing those bytes to Proton. Streams it cannot follow
// (a bad header, a frame size under 8) are Proton's to refuse; the guard then stops looking.
//
// Sans-IO, no allocation, one per connection.
//
// Example:
//   SaslFrameGuard guard;
//   if (Status s = guard.scan(bytes); !s.ok()) { /* fail the connection; drop the bytes */ }
#pragma once

#include <array>
#include <cstdint>

#include "hub/env/env.hpp"

namespace hub::amqp {

class SaslFrameGuard {
  public:
    // Errors: invalid_argument at the first unexpected SASL frame (and every call after it).
    Status scan(ByteView bytes);

  private:
    enum class State { protocol_header, frame_header, frame_body, refused, stopped };
    // A complete 8-byte protocol header or frame header is in header_.
    Status on_header();

    State state_ = State::protocol_header;
    std::array<uint8_t, 8> header_{};
    size_t header_bytes_ = 0;
    uint64_t body_bytes_left_ = 0;
    bool amqp_layer_ = false;  // after "AMQP" 0 1 0 0: SASL frames are over
    uint32_t sasl_frames_ = 0;
};

}  // namespace hub::amqp
