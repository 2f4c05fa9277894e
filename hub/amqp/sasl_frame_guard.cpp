#include "hub/amqp/sasl_frame_guard.hpp"

#include <algorithm>
#include <cstring>

namespace hub::amqp {

namespace {
constexpr uint8_t kSaslFrameType = 1;  // AMQP 1.0 §5.3.1
constexpr uint8_t kAmqpProtocolId = 0;
constexpr uint8_t kSaslProtocolId = 3;
constexpr uint32_t kFrameHeaderBytes = 8;
}  // namespace

Status SaslFrameGuard::scan(ByteView bytes) {
    size_t pos = 0;
    while (pos < bytes.size()) {
        if (state_ == State::refused) break;
        if (state_ == State::stopped) return Status();
        if (state_ == State::frame_body) {
            const uint64_t n = std::min<uint64_t>(body_bytes_left_, bytes.size() - pos);
            pos += n;
            body_bytes_left_ -= n;
            if (body_bytes_left_ == 0) {
                // After its sasl-init a client speaks AMQP: a protocol header comes next.
                state_ = (!amqp_layer_ && sasl_frames_ > 0) ? State::protocol_header
                                                            : State::frame_header;
            }
            continue;
        }
        const size_t n = std::min(header_.size() - header_bytes_, bytes.size() - pos);
        std::memcpy(header_.data() + header_bytes_, bytes.data() + pos, n);
        header_bytes_ += n;
        pos += n;
        if (header_bytes_ == header_.size()) {
            header_bytes_ = 0;
            if (Status s = on_header(); !s.ok()) return s;
        }
    }
    if (state_ == State::refused) {
        return Status(Code::invalid_argument, "unexpected SASL frame");
    }
    return Status();
}

Status SaslFrameGuard::on_header() {
    if (state_ == State::protocol_header) {
        const bool amqp = std::memcmp(header_.data(), "AMQP", 4) == 0;
        if (amqp && header_[4] == kSaslProtocolId && !amqp_layer_ && sasl_frames_ == 0) {
            state_ = State::frame_header;
        } else if (amqp && header_[4] == kAmqpProtocolId) {
            amqp_layer_ = true;
            state_ = State::frame_header;
        } else if (sasl_frames_ > 0) {
            state_ = State::refused;  // more SASL frames where the AMQP header belongs
            return Status(Code::invalid_argument, "expected the AMQP header after sasl-init");
        } else {
            state_ = State::stopped;  // not a stream Proton will accept: its error to report
        }
        return Status();
    }
    HUB_ASSERT(state_ == State::frame_header);
    const uint32_t size = (uint32_t{header_[0]} << 24) | (uint32_t{header_[1]} << 16) |
                          (uint32_t{header_[2]} << 8) | uint32_t{header_[3]};
    if (size < kFrameHeaderBytes) {
        state_ = State::stopped;  // malformed: Proton refuses it
        return Status();
    }
    if (header_[5] == kSaslFrameType && (amqp_layer_ || ++sasl_frames_ > 1)) {
        state_ = State::refused;
        return Status(Code::invalid_argument, amqp_layer_ ? "a SASL frame on the AMQP layer"
                                                          : "a second SASL frame");
    }
    body_bytes_left_ = size - kFrameHeaderBytes;
    state_ = body_bytes_left_ > 0 ? State::frame_body
             : (!amqp_layer_ && sasl_frames_ > 0) ? State::protocol_header
                                                  : State::frame_header;
    return Status();
}

}  // namespace hub::amqp
