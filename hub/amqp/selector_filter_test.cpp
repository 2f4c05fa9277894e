#include "hub/amqp/selector_filter.hpp"

#include <gtest/gtest.h>

namespace hub::amqp {
namespace {

using Kind = StartPosition::Kind;

TEST(SelectorFilter, TheFormsTheEventHubsClientSends) {
    auto earliest = parse_selector("amqp.annotation.x-opt-offset > '-1'");
    ASSERT_TRUE(earliest.ok());
    EXPECT_EQ(earliest->kind, Kind::earliest);
    auto latest = parse_selector("amqp.annotation.x-opt-offset > '@latest'");
    ASSERT_TRUE(latest.ok());
    EXPECT_EQ(latest->kind, Kind::latest);
    auto offset = parse_selector("amqp.annotation.x-opt-offset >= '12'");
    ASSERT_TRUE(offset.ok());
    EXPECT_EQ(offset->kind, Kind::sequence_number);
    EXPECT_EQ(offset->value, 12);
    EXPECT_TRUE(offset->inclusive);
    auto seq = parse_selector("amqp.annotation.x-opt-sequence-number > '41'");
    ASSERT_TRUE(seq.ok());
    EXPECT_EQ(seq->value, 41);
    EXPECT_FALSE(seq->inclusive);
    auto time = parse_selector("amqp.annotation.x-opt-enqueued-time > '1767225600000'");
    ASSERT_TRUE(time.ok());
    EXPECT_EQ(time->kind, Kind::enqueued_time);
    EXPECT_EQ(time->value, 1767225600000);
    EXPECT_EQ(parse_selector("")->kind, Kind::earliest);
}

TEST(SelectorFilter, RefusesWhatItDoesNotUnderstand) {
    for (const char* bad : {"x-opt-offset > '1'", "amqp.annotation.x-opt-offset < '1'",
                            "amqp.annotation.x-opt-offset > 1", "amqp.annotation.x-opt-offset > '1x'",
                            "amqp.annotation.other > '1'", "amqp.annotation.x-opt-offset",
                            "amqp.annotation.x-opt-offset > '"}) {
        EXPECT_FALSE(parse_selector(bad).ok()) << bad;
    }
    EXPECT_FALSE(parse_selector(std::string(300, 'a')).ok());
}

}  // namespace
}  // namespace hub::amqp
