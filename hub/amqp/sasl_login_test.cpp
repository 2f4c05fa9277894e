#include "hub/amqp/sasl_login.hpp"

#include <gtest/gtest.h>

namespace hub::amqp {
namespace {

std::string nul_joined(const std::string& a, const std::string& b, const std::string& c) {
    return a + std::string(1, '\0') + b + std::string(1, '\0') + c;
}

TEST(SaslLogin, PlainResponseSplitsAtTheTwoNuls) {
    Result<PlainResponse> r = parse_plain_response(nul_joined("", "dev1@sas.hub", "tok\0en"));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->authzid, "");
    EXPECT_EQ(r->authcid, "dev1@sas.hub");
    EXPECT_EQ(r->password, "tok");  // the C string above ends at its NUL
    const std::string with_nul_in_password = nul_joined("z", "u", "p") + std::string(1, '\0') + "q";
    r = parse_plain_response(with_nul_in_password);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->authzid, "z");
    EXPECT_EQ(r->password, std::string("p\0q", 3));
    for (const std::string& bad : {std::string("user"), std::string("a\0b", 3), nul_joined("", "", "p"),
                                   nul_joined("", "u", std::string(kPlainResponseBytesMax, 'x'))}) {
        EXPECT_FALSE(parse_plain_response(bad).ok());
    }
}

TEST(SaslLogin, UserForms) {
    Result<PlainUser> device = parse_plain_user("dev1@sas.MyHub", "myhub");
    ASSERT_TRUE(device.ok());
    EXPECT_EQ(device->kind, PlainUser::Kind::device);
    EXPECT_EQ(device->name, "dev1");
    // Device ids may contain '@' (and even "@sas."): the hub suffix is matched from the right.
    Result<PlainUser> at = parse_plain_user("a@sas.b@sas.myhub", "myhub");
    ASSERT_TRUE(at.ok());
    EXPECT_EQ(at->name, "a@sas.b");
    Result<PlainUser> service = parse_plain_user("iothubowner@sas.root.myhub", "myhub");
    ASSERT_TRUE(service.ok());
    EXPECT_EQ(service->kind, PlainUser::Kind::service);
    EXPECT_EQ(service->name, "iothubowner");
    Result<PlainUser> dps = parse_plain_user("0ne000A1/registrations/my-reg", "myhub");
    ASSERT_TRUE(dps.ok());
    EXPECT_EQ(dps->kind, PlainUser::Kind::dps_registration);
    EXPECT_EQ(dps->id_scope, "0ne000A1");
    EXPECT_EQ(dps->name, "my-reg");
}

TEST(SaslLogin, UsersTheHubRefuses) {
    for (const char* bad : {"dev1", "dev1@sas.otherhub", "dev1@sas.", "@sas.myhub", "@sas.root.myhub",
                            "p@sas.root.other", "dev 1@sas.myhub", "/registrations/r",
                            "scope/registrations/", "a/b/registrations/r", "s/registrations/r/x"}) {
        EXPECT_FALSE(parse_plain_user(bad, "myhub").ok()) << bad;
        EXPECT_EQ(parse_plain_user(bad, "myhub").status().code(), Code::unauthorized) << bad;
    }
}

}  // namespace
}  // namespace hub::amqp
