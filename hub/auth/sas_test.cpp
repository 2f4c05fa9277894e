#include "hub/auth/sas.hpp"

#include <gtest/gtest.h>

namespace hub::auth {
namespace {

// A known vector: HMAC-SHA256 with key "key" over "sr\n1700000000", base64, as Node computes it.
// key "a2V5" is base64("key").
TEST(Sas, RoundTripDeviceToken) {
    const std::string sr = url_encode_strict("localhost/devices/dev1");
    EXPECT_EQ(sr, "localhost%2Fdevices%2Fdev1");
    const std::string token = make_sas_token(sr, "a2V5", 1700000000);
    Result<SasToken> parsed = parse_sas_token(token);
    ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
    EXPECT_EQ(parsed->sr, sr);
    EXPECT_EQ(parsed->se, 1700000000);
    EXPECT_TRUE(verify_sas_token(*parsed, "a2V5", 1699999999).ok());
}

TEST(Sas, SignatureIsHmacOverSrNewlineSe) {
    // Independently computed: printf 'sr\n1700000000' | openssl dgst -sha256 -hmac key -binary | base64
    const std::string token = make_sas_token("sr", "a2V5", 1700000000);
    Result<SasToken> parsed = parse_sas_token(token);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->sig, "UckxdfU5dH55DMTtLfoaSOAbwzshSf5OSyJlXz0+uDE=");
}

TEST(Sas, RejectsWrongKeyAndExpiry) {
    const std::string token = make_sas_token("x", "a2V5", 100);
    Result<SasToken> parsed = parse_sas_token(token);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(verify_sas_token(*parsed, "b3RoZXI=", 50).code(), Code::unauthorized);
    EXPECT_EQ(verify_sas_token(*parsed, "a2V5", 100).code(), Code::unauthorized);
    EXPECT_TRUE(verify_sas_token(*parsed, "a2V5", 99).ok());
}

TEST(Sas, RejectsMalformedTokens) {
    EXPECT_FALSE(parse_sas_token("").ok());
    EXPECT_FALSE(parse_sas_token("Bearer x").ok());
    EXPECT_FALSE(parse_sas_token("SharedAccessSignature sr=a&se=1").ok());
    EXPECT_FALSE(parse_sas_token("SharedAccessSignature sr=a&sig=b&se=x1").ok());
    EXPECT_FALSE(parse_sas_token("SharedAccessSignature sr=a&sig=%zz&se=1").ok());
    EXPECT_FALSE(parse_sas_token("SharedAccessSignature sr=a&sig=%4&se=1").ok());
    EXPECT_FALSE(parse_sas_token("SharedAccessSignature noequals").ok());
}

TEST(Sas, DeviceOfAudience) {
    Result<std::string> id = device_of_audience("LocalHost%2Fdevices%2Fdev1", "localhost");
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(*id, "dev1");
    EXPECT_FALSE(device_of_audience("otherhost%2Fdevices%2Fdev1", "localhost").ok());
    EXPECT_FALSE(device_of_audience("localhost%2Fdevices%2F", "localhost").ok());
    EXPECT_FALSE(device_of_audience("localhost/devices/d/modules/m", "localhost").ok());
}

TEST(Sas, Base64RoundTrip) {
    const Bytes data = {0, 1, 2, 250, 255};
    Result<Bytes> back = base64_decode(base64_encode(data));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, data);
    EXPECT_FALSE(base64_decode("abc").ok());
}

}  // namespace
}  // namespace hub::auth
