#include "hub/core/registry.hpp"

#include <gtest/gtest.h>

#include "hub/core/device_json.hpp"
#include "simnet/sim_node.hpp"

namespace hub {
namespace {

class RegistryTest : public ::testing::Test {
  protected:
    simnet::Simulator sim{1};
    simnet::SimNetwork net{sim, Random(2)};
    simnet::SimNode node{sim, net, "hub"};
    std::unique_ptr<Registry> registry = open();

    std::unique_ptr<Registry> open() {
        Result<std::unique_ptr<Registry>> r = Registry::open(node);
        EXPECT_TRUE(r.ok()) << r.status().to_string();
        return r.ok() ? std::move(*r) : nullptr;
    }
    static Device named(const std::string& id) {
        Device d;
        d.id = id;
        return d;
    }
};

TEST(RegistryRules, DeviceIdRules) {
    EXPECT_TRUE(is_valid_device_id("dev-1.a+b%c_d#e*f?g!h(i)j,k=l@m$n'o"));
    EXPECT_TRUE(is_valid_device_id(std::string(128, 'a')));
    EXPECT_FALSE(is_valid_device_id(std::string(129, 'a')));
    EXPECT_FALSE(is_valid_device_id(""));
    EXPECT_FALSE(is_valid_device_id("a/b"));
    EXPECT_FALSE(is_valid_device_id("a b"));
}

TEST_F(RegistryTest, CreateGeneratesKeysGenerationIdAndEtag) {
    Result<Device> d = registry->create(named("d1"));
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    EXPECT_EQ(d->primary_key.size(), 44u);  // 32 bytes, base64
    EXPECT_EQ(d->secondary_key.size(), 44u);
    EXPECT_NE(d->primary_key, d->secondary_key);
    EXPECT_EQ(d->generation_id.size(), 18u);
    EXPECT_EQ(d->etag(), "AAAAAAAAAAE=");
    EXPECT_TRUE(d->enabled());
    EXPECT_EQ(registry->create(named("d1")).status().code(), Code::already_exists);
}

TEST_F(RegistryTest, RefusesBadInput) {
    EXPECT_EQ(registry->create(named("bad/id")).status().code(), Code::invalid_argument);
    Device short_key = named("d2");
    short_key.primary_key = "AAAA";  // 3 bytes
    EXPECT_EQ(registry->create(short_key).status().code(), Code::invalid_argument);
    Device thumb = named("d3");
    thumb.auth_type = AuthType::self_signed;
    thumb.primary_thumbprint = "xyz";
    EXPECT_EQ(registry->create(thumb).status().code(), Code::invalid_argument);
    Device reason = named("d4");
    reason.status_reason = std::string(129, 'r');
    EXPECT_EQ(registry->create(reason).status().code(), Code::invalid_argument);
}

TEST_F(RegistryTest, UpdateHonoursIfMatchAndChangesTheEtag) {
    Device d = *registry->create(named("d1"));
    const std::string etag = d.etag();
    d.status = DeviceStatus::disabled;
    d.status_reason = "stolen";
    EXPECT_EQ(registry->update(d, "\"AAAAAAAAAAk=\"").status().code(), Code::failed_precondition);
    Result<Device> updated = registry->update(d, "\"" + etag + "\"");
    ASSERT_TRUE(updated.ok()) << updated.status().to_string();
    EXPECT_NE(updated->etag(), etag);
    EXPECT_EQ(updated->generation_id, d.generation_id);
    EXPECT_EQ(updated->primary_key, d.primary_key);
    EXPECT_FALSE(registry->find("d1")->enabled());
    EXPECT_EQ(registry->update(named("ghost"), "*").status().code(), Code::not_found);
}

TEST_F(RegistryTest, RemoveAndRecreateGetsANewGenerationId) {
    const Device first = *registry->create(named("d1"));
    EXPECT_EQ(registry->remove("d1", "\"AAAAAAAAAAk=\"").code(), Code::failed_precondition);
    ASSERT_TRUE(registry->remove("d1", "*").ok());
    EXPECT_EQ(registry->find("d1"), nullptr);
    EXPECT_EQ(registry->remove("d1", "*").code(), Code::not_found);
    const Device second = *registry->create(named("d1"));
    EXPECT_NE(first.generation_id, second.generation_id);
}

TEST_F(RegistryTest, EverythingReturnedSurvivesACrash) {
    const Device d1 = *registry->create(named("d1"));
    ASSERT_TRUE(registry->create(named("d2")).ok());
    Device disabled = d1;
    disabled.status = DeviceStatus::disabled;
    ASSERT_TRUE(registry->update(disabled, "*").ok());
    ASSERT_TRUE(registry->remove("d2", "*").ok());
    const std::string owner_key = registry->policy("iothubowner")->primary_key;
    registry.reset();
    Random random(5);
    node.sim_disk().crash(random);
    registry = open();
    ASSERT_NE(registry, nullptr);
    ASSERT_NE(registry->find("d1"), nullptr);
    EXPECT_FALSE(registry->find("d1")->enabled());
    EXPECT_EQ(registry->find("d1")->primary_key, d1.primary_key);
    EXPECT_EQ(registry->find("d1")->etag(), "AAAAAAAAAAI=");
    EXPECT_EQ(registry->find("d2"), nullptr);
    EXPECT_EQ(registry->policy("iothubowner")->primary_key, owner_key);  // not regenerated
}

TEST_F(RegistryTest, PolicyKeysCanBeSetAndSurviveACrash) {
    const std::string key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const std::string old_secondary = registry->policy("service")->secondary_key;
    ASSERT_TRUE(registry->set_policy_keys("service", key, "").ok());
    EXPECT_EQ(registry->policy("service")->primary_key, key);
    EXPECT_EQ(registry->policy("service")->secondary_key, old_secondary);
    EXPECT_EQ(registry->set_policy_keys("nobody", key, "").code(), Code::not_found);
    EXPECT_EQ(registry->set_policy_keys("service", "not base64!", "").code(),
              Code::invalid_argument);
    EXPECT_EQ(registry->policy("service")->primary_key, key);  // a refusal changes nothing
    registry.reset();
    Random random(6);
    node.sim_disk().crash(random);
    registry = open();
    ASSERT_NE(registry, nullptr);
    EXPECT_EQ(registry->policy("service")->primary_key, key);
    EXPECT_EQ(registry->policy("service")->rights, kServiceConnect);
}

TEST_F(RegistryTest, ListPagesInIdOrder) {
    for (int i = 0; i < 25; ++i) {
        ASSERT_TRUE(registry->create(named("dev" + std::to_string(100 + i))).ok());
    }
    std::vector<std::string> seen;
    std::string after;
    for (;;) {
        const auto page = registry->list(after, 10);
        if (page.empty()) break;
        EXPECT_LE(page.size(), 10u);
        for (const Device* d : page) seen.push_back(d->id);
        after = page.back()->id;
    }
    ASSERT_EQ(seen.size(), 25u);
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
    EXPECT_EQ(registry->list("", 5000).size(), 25u);  // at most 1000 per page anyway
}

TEST_F(RegistryTest, BulkImportReportsPerItemErrorsAndExportRoundTrips) {
    std::vector<Registry::ImportItem> items;
    for (int i = 0; i < 100; ++i) {
        items.push_back({Registry::ImportMode::create, named("bulk" + std::to_string(i))});
    }
    items.push_back({Registry::ImportMode::create, named("bad id")});
    items.push_back({Registry::ImportMode::create, named("bulk7")});  // duplicate
    items.push_back({Registry::ImportMode::remove, named("bulk9")});
    Result<std::vector<Registry::ImportError>> errors = registry->import_devices(std::move(items));
    ASSERT_TRUE(errors.ok());
    ASSERT_EQ(errors->size(), 2u);
    EXPECT_EQ((*errors)[0].status.code(), Code::invalid_argument);
    EXPECT_EQ((*errors)[1].status.code(), Code::already_exists);
    EXPECT_EQ(registry->size(), 99u);
    EXPECT_EQ(node.sim_disk().syncs(), 2u);  // the default policies, then one for the import
    const std::vector<Device> exported = registry->export_devices();
    EXPECT_EQ(exported.size(), 99u);
}

TEST_F(RegistryTest, DefaultPoliciesHaveTheirRights) {
    EXPECT_EQ(registry->policies().size(), 5u);
    EXPECT_EQ(registry->policy("service")->rights, static_cast<uint32_t>(kServiceConnect));
    EXPECT_EQ(registry->policy("registryReadWrite")->rights,
              static_cast<uint32_t>(kRegistryRead | kRegistryWrite));
    EXPECT_EQ(registry->policy("nope"), nullptr);
}

TEST_F(RegistryTest, JsonHasTheAzureShape) {
    Device d = *registry->create(named("d1"));
    registry->set_connected("d1", true, 1767225600000);
    const nlohmann::json j = device_to_json(*registry->find("d1"));
    EXPECT_EQ(j["deviceId"], "d1");
    EXPECT_EQ(j["etag"], "AAAAAAAAAAE=");
    EXPECT_EQ(j["status"], "enabled");
    EXPECT_EQ(j["connectionState"], "Connected");
    EXPECT_EQ(j["connectionStateUpdatedTime"], "2026-01-01T00:00:00.000Z");
    EXPECT_EQ(j["lastActivityTime"], "0001-01-01T00:00:00Z");
    EXPECT_EQ(j["authentication"]["type"], "sas");
    EXPECT_EQ(j["authentication"]["symmetricKey"]["primaryKey"], d.primary_key);
    Result<Device> back = device_from_json(j);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->primary_key, d.primary_key);
    EXPECT_FALSE(device_from_json(nlohmann::json{{"deviceId", 5}}).ok());
    EXPECT_FALSE(device_from_json(nlohmann::json{{"deviceId", "x"}, {"status", "odd"}}).ok());
    // What the Node SDK sends on create: empty keys mean "generate".
    Result<Device> sdk = device_from_json(nlohmann::json::parse(
        R"({"deviceId":"n1","authentication":{"type":"sas","symmetricKey":{"primaryKey":"","secondaryKey":""}}})"));
    ASSERT_TRUE(sdk.ok());
    ASSERT_TRUE(registry->create(*sdk).ok());
    EXPECT_EQ(registry->find("n1")->primary_key.size(), 44u);
}

}  // namespace
}  // namespace hub
