#include "hub/amqp/sasl_frame_guard.hpp"

#include <gtest/gtest.h>

#include <string>

namespace hub::amqp {
namespace {

const std::string kSaslHeader("AMQP\x03\x01\x00\x00", 8);
const std::string kAmqpHeader("AMQP\x00\x01\x00\x00", 8);

// A frame of `type` (0 AMQP, 1 SASL) with `body_bytes` of body.
std::string frame(uint8_t type, uint32_t body_bytes) {
    const uint32_t size = 8 + body_bytes;
    std::string f = {static_cast<char>(size >> 24), static_cast<char>(size >> 16),
                     static_cast<char>(size >> 8), static_cast<char>(size), 2,
                     static_cast<char>(type), 0, 0};
    return f + std::string(body_bytes, 'b');
}

Status scan_all(SaslFrameGuard& guard, const std::string& bytes, size_t chunk) {
    Status last;
    for (size_t pos = 0; pos < bytes.size(); pos += chunk) {
        const std::string part = bytes.substr(pos, chunk);
        last = guard.scan(ByteView(reinterpret_cast<const uint8_t*>(part.data()), part.size()));
        if (!last.ok()) return last;
    }
    return last;
}

TEST(SaslFrameGuard, PassesWhatClientsSend) {
    const std::string streams[] = {
        kAmqpHeader + frame(0, 30) + frame(0, 0) + frame(0, 500),      // no SASL (Node SDKs)
        kSaslHeader + frame(1, 120) + kAmqpHeader + frame(0, 30) + frame(0, 7),
        kSaslHeader + frame(1, 0) + kAmqpHeader + frame(0, 30),        // empty init body
    };
    for (const std::string& s : streams) {
        for (size_t chunk : {size_t{1}, size_t{3}, size_t{8}, s.size()}) {
            SaslFrameGuard guard;
            EXPECT_TRUE(scan_all(guard, s, chunk).ok()) << chunk;
        }
    }
}

TEST(SaslFrameGuard, RefusesSaslFramesAfterTheInit) {
    const std::string streams[] = {
        kSaslHeader + frame(1, 20) + frame(1, 20),                      // a second init
        kSaslHeader + frame(1, 20) + kSaslHeader + frame(1, 20),        // SASL all over again
        kAmqpHeader + frame(0, 10) + frame(1, 20),                      // SASL on the AMQP layer
        kSaslHeader + frame(1, 20) + kAmqpHeader + frame(0, 9) + frame(1, 3),
    };
    for (const std::string& s : streams) {
        for (size_t chunk : {size_t{1}, size_t{5}, s.size()}) {
            SaslFrameGuard guard;
            EXPECT_EQ(scan_all(guard, s, chunk).code(), Code::invalid_argument) << chunk;
            EXPECT_FALSE(guard.scan(ByteView()).ok());  // stays refused
        }
    }
}

TEST(SaslFrameGuard, LeavesStreamsItCannotFollowToProton) {
    const std::string streams[] = {
        std::string("GET / HTTP/1.1\r\n\r\n") + frame(1, 4) + frame(1, 4),
        kAmqpHeader + std::string("\0\0\0\x02\x02\x00\x00\x00", 8) + frame(1, 4),  // size < 8
    };
    for (const std::string& s : streams) {
        SaslFrameGuard guard;
        EXPECT_TRUE(scan_all(guard, s, 4).ok());
    }
}

}  // namespace
}  // namespace hub::amqp
