// For tests: the read_range() contract, checked the same way on every Disk implementation.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "hub/env/env.hpp"

namespace hub {

inline void expect_read_range_contract(Disk& disk) {
    const std::string text = "hello world";
    ASSERT_TRUE(disk.append("range.log", Bytes(text.begin(), text.end())).ok());
    const auto range = [&](uint64_t offset, uint64_t length) {
        Result<Bytes> r = disk.read_range("range.log", offset, length);
        EXPECT_TRUE(r.ok()) << r.status().to_string();
        return r.ok() ? std::string(r->begin(), r->end()) : std::string("<error>");
    };
    EXPECT_EQ(range(6, 5), "world");
    EXPECT_EQ(range(0, 5), "hello");
    EXPECT_EQ(range(8, 100), "rld");  // fewer at the end
    EXPECT_EQ(range(11, 4), "");      // none past it
    EXPECT_EQ(range(40, 4), "");
    EXPECT_EQ(disk.read_range("missing.log", 0, 4).status().code(), Code::not_found);
}

}  // namespace hub
