#include "hub/core/registry.hpp"

#include <gtest/gtest.h>

namespace hub {
namespace {

TEST(Registry, DeviceIdRules) {
    EXPECT_TRUE(is_valid_device_id("dev-1.a+b%c_d#e*f?g!h(i)j,k=l@m$n'o"));
    EXPECT_TRUE(is_valid_device_id(std::string(128, 'a')));
    EXPECT_FALSE(is_valid_device_id(std::string(129, 'a')));
    EXPECT_FALSE(is_valid_device_id(""));
    EXPECT_FALSE(is_valid_device_id("a/b"));
    EXPECT_FALSE(is_valid_device_id("a b"));
}

TEST(Registry, AddFindAndDuplicates) {
    Registry registry;
    Random random(1);
    const std::string key = generate_device_key(random);
    EXPECT_EQ(key.size(), 44u);  // 32 bytes in base64
    ASSERT_TRUE(registry.add({"d1", key, "", true}).ok());
    EXPECT_EQ(registry.add({"d1", key, "", true}).code(), Code::already_exists);
    EXPECT_EQ(registry.add({"bad/id", key, "", true}).code(), Code::invalid_argument);
    EXPECT_EQ(registry.add({"d2", "not base64!", "", true}).code(), Code::invalid_argument);
    ASSERT_NE(registry.find("d1"), nullptr);
    EXPECT_EQ(registry.find("d1")->primary_key, key);
    EXPECT_EQ(registry.find("nope"), nullptr);
}

}  // namespace
}  // namespace hub
