#include "hub/core/access.hpp"

#include <gtest/gtest.h>

#include "hub/auth/sas.hpp"
#include "simnet/sim_node.hpp"

namespace hub {
namespace {

class AccessTest : public ::testing::Test {
  protected:
    simnet::Simulator sim{1};
    simnet::SimNetwork net{sim, Random(2)};
    simnet::SimNode node{sim, net, "hub"};
    std::unique_ptr<Registry> registry = std::move(*Registry::open(node));
    const int64_t now_s = 1'800'000'000;

    Device create(const std::string& id) {
        Device d;
        d.id = id;
        return *registry->create(d);
    }
    std::string device_token(const Device& d, const std::string& key, int64_t se) {
        return auth::make_sas_token(auth::url_encode_strict("MyHub/devices/" + d.id), key, se);
    }
};

TEST_F(AccessTest, DeviceTokensWithEitherKey) {
    const Device d = create("d1");
    for (const std::string& key : {d.primary_key, d.secondary_key}) {
        Result<Principal> p = authenticate(*registry, "myhub", device_token(d, key, now_s + 60), now_s);
        ASSERT_TRUE(p.ok()) << p.status().to_string();
        EXPECT_EQ(p->kind, Principal::Kind::device);
        EXPECT_EQ(p->name, "d1");
        EXPECT_TRUE(p->may(kDeviceConnect));
        EXPECT_FALSE(p->may(kRegistryRead));
    }
}

TEST_F(AccessTest, DeviceRefusals) {
    Device d = create("d1");
    const Device other = create("d2");
    EXPECT_EQ(authenticate(*registry, "myhub", device_token(d, other.primary_key, now_s + 60), now_s)
                  .status().code(), Code::unauthorized);
    EXPECT_EQ(authenticate(*registry, "myhub", device_token(d, d.primary_key, now_s), now_s)
                  .status().message(), "token expired");
    EXPECT_FALSE(authenticate(*registry, "otherhub", device_token(d, d.primary_key, now_s + 60), now_s).ok());
    d.status = DeviceStatus::disabled;
    ASSERT_TRUE(registry->update(d, "*").ok());
    Result<Principal> disabled = authenticate(*registry, "myhub", device_token(d, d.primary_key, now_s + 60), now_s);
    EXPECT_NE(disabled.status().message().find("DeviceDisabled"), std::string::npos);
    EXPECT_FALSE(authenticate(*registry, "myhub", "garbage", now_s).ok());
}

TEST_F(AccessTest, ServiceTokensCarryThePolicyRights) {
    const SharedAccessPolicy* owner = registry->policy("iothubowner");
    const SharedAccessPolicy* read = registry->policy("registryRead");
    Result<Principal> p = authenticate(
        *registry, "myhub", auth::make_sas_token("myhub", owner->primary_key, now_s + 60, "iothubowner"), now_s);
    ASSERT_TRUE(p.ok()) << p.status().to_string();
    EXPECT_EQ(p->kind, Principal::Kind::service);
    EXPECT_TRUE(p->may(kRegistryWrite | kServiceConnect));
    Result<Principal> r = authenticate(
        *registry, "myhub", auth::make_sas_token("myhub", read->secondary_key, now_s + 60, "registryRead"), now_s);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->may(kRegistryWrite));
    // The Event Hubs client's form: an sb:// audience with a port, signed with the key text.
    const std::string sr = auth::url_encode_strict("sb://myhub:5671/myhub/ConsumerGroups/$default/Partitions/0");
    // make_sas_token signs with the base64-decoded key: encode the text to sign with the text.
    const std::string text_key_b64 =
        auth::base64_encode(Bytes(owner->primary_key.begin(), owner->primary_key.end()));
    Result<Principal> eh = authenticate(*registry, "myhub",
                                        auth::make_sas_token(sr, text_key_b64, now_s + 60, "iothubowner"), now_s);
    ASSERT_TRUE(eh.ok()) << eh.status().to_string();
    EXPECT_TRUE(eh->may(kServiceConnect));
    // Signed with another policy's key, or naming an unknown policy.
    EXPECT_FALSE(authenticate(*registry, "myhub",
                              auth::make_sas_token("myhub", read->primary_key, now_s + 60, "iothubowner"), now_s).ok());
    EXPECT_FALSE(authenticate(*registry, "myhub",
                              auth::make_sas_token("myhub", read->primary_key, now_s + 60, "nobody"), now_s).ok());
}

}  // namespace
}  // namespace hub
