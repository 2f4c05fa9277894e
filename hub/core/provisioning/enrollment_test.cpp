#include "hub/core/provisioning/enrollment.hpp"

#include <gtest/gtest.h>

#include "hub/core/provisioning/provisioning_test_world.hpp"

namespace hub::provisioning {
namespace {

// Computed independently (not by this code):
//   KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=
//   HEX=$(printf '%s' $KEY | base64 -d | xxd -p -c 100)
//   printf '%s' sensor-042 | openssl dgst -sha256 -mac HMAC -macopt hexkey:$HEX -binary | base64
TEST(GroupKeyDerivation, MatchesOpenssl) {
    Result<std::string> key =
        derive_device_key("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "sensor-042");
    ASSERT_TRUE(key.ok());
    EXPECT_EQ(*key, "YWGfx6psUG2GN+2JfRsJbaVugWxYb8ZAofr1S3X3L6w=");
    // A 56-byte key and an id with every allowed punctuation mark.
    Result<std::string> other = derive_device_key(
        "q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k=",
        "mxchip-Ab.1_x:7");
    ASSERT_TRUE(other.ok());
    EXPECT_EQ(*other, "ilDTeDHlfrBwKZIWjZKjP9Wi5WsDIGIIZoLMJ7ygNLw=");
    EXPECT_EQ(derive_device_key("not base64!", "x").status().code(), Code::invalid_argument);
}

TEST(EnrollmentRules, ValidationFillsDefaultsAndRefusesBadInput) {
    Random random(7);
    IndividualEnrollment e;
    e.registration_id = "sensor-1";
    ASSERT_TRUE(validate_enrollment(e, random).ok());
    EXPECT_EQ(e.device_id, "sensor-1");
    EXPECT_EQ(e.attestation.primary_key.size(), 44u);
    EXPECT_NE(e.attestation.primary_key, e.attestation.secondary_key);

    IndividualEnrollment bad_id;
    bad_id.registration_id = "has space";
    EXPECT_EQ(validate_enrollment(bad_id, random).code(), Code::invalid_argument);
    IndividualEnrollment too_long;
    too_long.registration_id = std::string(129, 'a');
    EXPECT_EQ(validate_enrollment(too_long, random).code(), Code::invalid_argument);
    IndividualEnrollment short_key;
    short_key.registration_id = "s";
    short_key.attestation.primary_key = "AAAA";
    EXPECT_EQ(validate_enrollment(short_key, random).code(), Code::invalid_argument);
    IndividualEnrollment static_two;
    static_two.registration_id = "s";
    static_two.allocation_policy = AllocationPolicy::static_hub;
    static_two.iot_hubs = {"a", "b"};
    EXPECT_EQ(validate_enrollment(static_two, random).code(), Code::invalid_argument);
    EnrollmentGroup group;
    group.group_id = "";
    EXPECT_EQ(validate_group(group, random).code(), Code::invalid_argument);
}

TEST(EnrollmentRules, JsonHasTheDpsShapeAndRoundTrips) {
    Random random(7);
    IndividualEnrollment e;
    e.registration_id = "sensor-1";
    e.device_id = "dev-1";
    e.allocation_policy = AllocationPolicy::geo_latency;
    e.iot_hubs = {"hub-a", "hub-b"};
    e.reprovision_policy.migrate_device_data = false;
    e.provisioning_status = ProvisioningStatus::disabled;
    e.version = 3;
    e.created_ms = 1767225600000;
    ASSERT_TRUE(validate_enrollment(e, random).ok());
    const nlohmann::json j = enrollment_to_json(e);
    EXPECT_EQ(j["registrationId"], "sensor-1");
    EXPECT_EQ(j["attestation"]["type"], "symmetricKey");
    EXPECT_EQ(j["attestation"]["symmetricKey"]["primaryKey"], e.attestation.primary_key);
    EXPECT_EQ(j["provisioningStatus"], "disabled");
    EXPECT_EQ(j["allocationPolicy"], "geoLatency");
    EXPECT_EQ(j["reprovisionPolicy"]["migrateDeviceData"], false);
    EXPECT_EQ(j["etag"], "AAAAAAAAAAM=");
    EXPECT_EQ(j["createdDateTimeUtc"], "2026-01-01T00:00:00.000Z");
    Result<IndividualEnrollment> back = enrollment_from_json(j);
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    EXPECT_EQ(back->device_id, "dev-1");
    EXPECT_EQ(back->iot_hubs, e.iot_hubs);
    EXPECT_EQ(back->allocation_policy, AllocationPolicy::geo_latency);
    EXPECT_FALSE(back->enabled());
    EXPECT_EQ(back->created_ms, e.created_ms);
    EXPECT_FALSE(enrollment_from_json(nlohmann::json{{"registrationId", 5}}).ok());
    EXPECT_FALSE(enrollment_from_json(nlohmann::json{{"allocationPolicy", "custom"}}).ok());
    EXPECT_FALSE(enrollment_from_json(
                     nlohmann::json{{"reprovisionPolicy", {{"updateHubAssignment", "yes"}}}})
                     .ok());
}

class EnrollmentCrud : public ::testing::Test {
  protected:
    testing::TestWorld world;
    static IndividualEnrollment named(const std::string& id) {
        IndividualEnrollment e;
        e.registration_id = id;
        return e;
    }
};

TEST_F(EnrollmentCrud, IndividualEnrollmentsHaveEtagsLikeTheRegistry) {
    Result<IndividualEnrollment> created = world.dps->create_enrollment(named("d1"));
    ASSERT_TRUE(created.ok()) << created.status().to_string();
    EXPECT_EQ(created->etag(), "AAAAAAAAAAE=");
    EXPECT_EQ(world.dps->create_enrollment(named("d1")).status().code(), Code::already_exists);

    IndividualEnrollment changed = named("d1");
    changed.provisioning_status = ProvisioningStatus::disabled;
    EXPECT_EQ(world.dps->update_enrollment(changed, "\"AAAAAAAAAAk=\"").status().code(),
              Code::failed_precondition);
    Result<IndividualEnrollment> updated =
        world.dps->update_enrollment(changed, "\"AAAAAAAAAAE=\"");
    ASSERT_TRUE(updated.ok()) << updated.status().to_string();
    EXPECT_EQ(updated->etag(), "AAAAAAAAAAI=");
    EXPECT_EQ(updated->attestation.primary_key, created->attestation.primary_key);  // kept
    EXPECT_FALSE(world.dps->find_enrollment("d1")->enabled());
    EXPECT_EQ(world.dps->update_enrollment(named("ghost"), "*").status().code(), Code::not_found);

    EXPECT_EQ(world.dps->remove_enrollment("d1", "AAAAAAAAAAE=").code(), Code::failed_precondition);
    ASSERT_TRUE(world.dps->remove_enrollment("d1", "*").ok());
    EXPECT_EQ(world.dps->find_enrollment("d1"), nullptr);
    EXPECT_EQ(world.dps->remove_enrollment("d1", "*").code(), Code::not_found);
    // The device record (and its history) outlives the enrollment.
    ASSERT_NE(world.dps->lifecycle("d1"), nullptr);
    EXPECT_EQ(world.dps->lifecycle("d1")->state, LifecycleState::provisioned);
}

TEST_F(EnrollmentCrud, ListPagesInIdOrder) {
    for (int i = 0; i < 12; ++i) {
        ASSERT_TRUE(world.dps->create_enrollment(named("e" + std::to_string(100 + i))).ok());
    }
    const auto first = world.dps->list_enrollments("", 5);
    ASSERT_EQ(first.size(), 5u);
    EXPECT_EQ(first.front()->registration_id, "e100");
    const auto rest = world.dps->list_enrollments(first.back()->registration_id, 100);
    ASSERT_EQ(rest.size(), 7u);
    EXPECT_EQ(rest.back()->registration_id, "e111");
}

TEST_F(EnrollmentCrud, GroupsHaveEtagsAndABound) {
    EnrollmentGroup g;
    g.group_id = "g1";
    Result<EnrollmentGroup> created = world.dps->create_group(g);
    ASSERT_TRUE(created.ok());
    EXPECT_EQ(created->etag(), "AAAAAAAAAAE=");
    EXPECT_EQ(world.dps->create_group(g).status().code(), Code::already_exists);
    g.provisioning_status = ProvisioningStatus::disabled;
    EXPECT_EQ(world.dps->update_group(g, "AAAAAAAAAAk=").status().code(),
              Code::failed_precondition);
    Result<EnrollmentGroup> updated = world.dps->update_group(g, created->etag());
    ASSERT_TRUE(updated.ok());
    EXPECT_EQ(updated->attestation.primary_key, created->attestation.primary_key);
    EXPECT_FALSE(world.dps->find_group("g1")->enabled());
    for (size_t i = 1; i < kEnrollmentGroupsMax; ++i) {
        EnrollmentGroup more;
        more.group_id = "more" + std::to_string(i);
        ASSERT_TRUE(world.dps->create_group(more).ok());
    }
    EnrollmentGroup one_too_many;
    one_too_many.group_id = "overflow";
    EXPECT_EQ(world.dps->create_group(one_too_many).status().code(), Code::resource_exhausted);
    ASSERT_TRUE(world.dps->remove_group("g1", "*").ok());
    EXPECT_EQ(world.dps->remove_group("g1", "*").code(), Code::not_found);
    EXPECT_EQ(world.dps->list_groups("", 1000).size(), kEnrollmentGroupsMax - 1);
}

}  // namespace
}  // namespace hub::provisioning
