#include "conformance/connection_string.hpp"

#include <gtest/gtest.h>

namespace conformance {
namespace {

TEST(ConnectionString, ParsesTheSdkForm) {
    auto cs = parse_device_connection_string(
        "HostName=localhost;DeviceId=dev1;SharedAccessKey=abc=;GatewayHostName=localhost:5999");
    ASSERT_TRUE(cs.ok()) << cs.status().to_string();
    EXPECT_EQ(cs->host_name, "localhost");
    EXPECT_EQ(cs->device_id, "dev1");
    EXPECT_EQ(cs->shared_access_key, "abc=");
    EXPECT_EQ(cs->amqp_address(), "localhost:5999");
}

TEST(ConnectionString, DefaultsToPort5671OnTheHostName) {
    auto cs = parse_device_connection_string("HostName=h.azure-devices.net;DeviceId=d;SharedAccessKey=k");
    ASSERT_TRUE(cs.ok());
    EXPECT_EQ(cs->amqp_address(), "h.azure-devices.net:5671");
}

TEST(ConnectionString, RefusesIncompleteOrMalformed) {
    EXPECT_FALSE(parse_device_connection_string("").ok());
    EXPECT_FALSE(parse_device_connection_string("HostName=h;DeviceId=d").ok());
    EXPECT_FALSE(parse_device_connection_string("HostName=h;garbage;DeviceId=d;SharedAccessKey=k").ok());
}

TEST(ConnectionString, ParsesAServicePolicyString) {
    auto cs = parse_service_connection_string(
        "HostName=h.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=k==");
    ASSERT_TRUE(cs.ok()) << cs.status().to_string();
    EXPECT_EQ(cs->host_name, "h.azure-devices.net");
    EXPECT_EQ(cs->key_name, "iothubowner");
    EXPECT_EQ(cs->shared_access_key, "k==");
    EXPECT_FALSE(parse_service_connection_string("HostName=h;SharedAccessKey=k").ok());
    EXPECT_FALSE(parse_service_connection_string("HostName=h;x;SharedAccessKeyName=p").ok());
}

}  // namespace
}  // namespace conformance
