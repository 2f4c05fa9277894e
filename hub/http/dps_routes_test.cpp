// The DPS routes of the HTTPS front door, driven with request bytes in and response bytes out
// (the server's connection parses them with Beast), on a simulated node.
#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <optional>

#include <boost/beast/http/parser.hpp>
#include <nlohmann/json.hpp>

#include "hub/auth/sas.hpp"
#include "hub/http/dps_routes.hpp"
#include "hub/http/http_server.hpp"
#include "simnet/sim_node.hpp"

namespace hub::http {
namespace {

namespace bh = boost::beast::http;
namespace prov = hub::provisioning;
using nlohmann::json;

constexpr const char* kScope = "0ne0000TEST";
constexpr const char* kPolicyKey = "cG9saWN5LWtleS1wb2xpY3kta2V5LXBvbGljeS1rZXk=";

// The one linked hub is this test's Hub.
class OneHub : public prov::HubDirectory {
  public:
    explicit OneHub(Hub& hub) : hub_(hub) {}
    Registry* registry_for(std::string_view name) override {
        return iequals(name, hub_.config().host_name) ? &hub_.registry() : nullptr;
    }

  private:
    Hub& hub_;
};

// A stream the test writes request bytes into and reads response bytes from.
class PipeStream : public Stream {
  public:
    void set_handlers(ReadHandler r, ClosedHandler c) override {
        read_ = std::move(r);
        closed_ = std::move(c);
    }
    void write(ByteView b) override {
        out.append(reinterpret_cast<const char*>(b.data()), b.size());
    }
    void close() override {}
    std::string peer() const override { return "test"; }
    void feed(const std::string& s) {
        read_(ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
    }
    std::string out;

  private:
    ReadHandler read_;
    ClosedHandler closed_;
};

struct Reply {
    int status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
    json js() const { return json::parse(body, nullptr, false); }
};

class DpsRoutesTest : public ::testing::Test {
  protected:
    simnet::Simulator sim{7};
    simnet::SimNetwork net{sim, Random(8)};
    simnet::SimNode node{sim, net, "hub"};
    std::unique_ptr<Hub> hub = open_hub();
    OneHub directory{*hub};
    std::unique_ptr<prov::ProvisioningService> dps = open_dps();
    HttpServer server{node, *hub};

    void SetUp() override {
        ASSERT_TRUE(dps->link_hub({"myhub", "local", 1}).ok());
        ProvisioningEndpoint endpoint;
        endpoint.id_scope = kScope;
        endpoint.host_name = "myhub";
        endpoint.policy.primary_key = kPolicyKey;
        server.serve_provisioning(*dps, endpoint);
    }
    std::unique_ptr<Hub> open_hub() {
        HubConfig config;
        config.host_name = "myhub";
        return std::move(*Hub::open(node, config));
    }
    std::unique_ptr<prov::ProvisioningService> open_dps() {
        prov::ProvisioningConfig config;
        config.id_scope = kScope;
        return std::move(*prov::ProvisioningService::open(node, directory, config));
    }
    int64_t expiry() const { return node.utc_now_ms() / 1000 + 3600; }
    std::string device_token(const std::string& registration_id, const std::string& key,
                             int64_t se = 0) {
        return auth::make_sas_token(std::string(kScope) + "/registrations/" + registration_id, key,
                                    se != 0 ? se : expiry(), "registration");
    }
    std::string service_token(const std::string& key = kPolicyKey,
                              const std::string& policy = "provisioningserviceowner",
                              const std::string& sr = "myhub", int64_t se = 0) {
        return auth::make_sas_token(sr, key, se != 0 ? se : expiry(), policy);
    }

    // One request as bytes on a fresh connection; the response parsed back from bytes.
    Reply call(const std::string& method, const std::string& target, const std::string& token,
               const std::string& body = "",
               std::vector<std::pair<std::string, std::string>> headers = {},
               HttpServer* via = nullptr) {
        std::string text = method + " " + target + " HTTP/1.1\r\nHost: myhub\r\n";
        if (!token.empty()) text += "Authorization: " + token + "\r\n";
        for (const auto& [k, v] : headers) {
            text += k + ": " + v + "\r\n";
        }
        text += "Content-Type: application/json; charset=utf-8\r\n";
        text += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        auto stream = std::make_unique<PipeStream>();
        PipeStream* pipe = stream.get();
        (via != nullptr ? *via : server).serve(std::move(stream));
        pipe->feed(text);
        bh::response_parser<bh::string_body> parser;
        parser.eager(true);
        sim.run_until(
            [&] {
                if (pipe->out.empty()) return false;
                bh::response_parser<bh::string_body> probe;
                probe.eager(true);
                boost::system::error_code ec;
                probe.put(boost::asio::buffer(pipe->out), ec);
                return !ec && probe.is_done();
            },
            sim.now() + Duration::seconds(5));
        boost::system::error_code ec;
        parser.put(boost::asio::buffer(pipe->out), ec);
        EXPECT_FALSE(ec) << ec.message() << "\n" << pipe->out;
        EXPECT_TRUE(parser.is_done()) << pipe->out;
        Reply reply;
        if (!parser.is_done()) return reply;
        const auto& res = parser.get();
        reply.status = static_cast<int>(res.result_int());
        for (const auto& h : res) {
            std::string name(h.name_string());
            for (char& c : name) {
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            }
            reply.headers[name] = std::string(h.value());
        }
        reply.body = res.body();
        return reply;
    }
    void run_timers() {
        sim.run_until([] { return false; }, sim.now() + Duration::millis(50));
    }

    // Creates an individual enrollment through the service route; returns its primary key.
    std::string enroll(const std::string& id) {
        const Reply r =
            call("PUT", "/enrollments/" + id + "?api-version=2021-10-01", service_token(),
                 json{{"registrationId", id}, {"attestation", {{"type", "symmetricKey"}}}}.dump());
        EXPECT_EQ(r.status, 200) << r.body;
        return r.js()["attestation"]["symmetricKey"]["primaryKey"].get<std::string>();
    }
    // A DPS error: the status, and the body's fields as DPS sends them.
    static void expect_dps_error(const Reply& r, int status) {
        EXPECT_EQ(r.status, status) << r.body;
        const json j = r.js();
        ASSERT_TRUE(j.is_object()) << r.body;
        EXPECT_EQ(j["errorCode"].get<int>() / 1000, status) << r.body;
        EXPECT_EQ(j["trackingId"].get<std::string>().size(), 36u);
        EXPECT_FALSE(j["message"].get<std::string>().empty());
        EXPECT_TRUE(j["timestampUtc"].is_string());
        EXPECT_NE(r.headers.at("content-type").find("application/json"), std::string::npos);
    }
    std::string register_path(const std::string& id) {
        return std::string("/") + kScope + "/registrations/" + id +
               "/register?api-version=2019-03-31";
    }
    std::string operation_path(const std::string& id, const std::string& op) {
        return std::string("/") + kScope + "/registrations/" + id + "/operations/" + op +
               "?api-version=2019-03-31";
    }
};

TEST_F(DpsRoutesTest, IndividualDeviceRegistersPollsAndThenSendsToTheAssignedHub) {
    const std::string key = enroll("sensor-1");
    const Reply started = call("PUT", register_path("sensor-1"), device_token("sensor-1", key),
                               R"({"registrationId":"sensor-1"})");
    ASSERT_EQ(started.status, 202) << started.body;
    EXPECT_EQ(started.headers.at("retry-after"), "1");
    EXPECT_EQ(started.js()["status"], "assigning");
    const std::string op = started.js()["operationId"].get<std::string>();
    ASSERT_FALSE(op.empty());
    run_timers();
    const Reply done = call("GET", operation_path("sensor-1", op), device_token("sensor-1", key));
    ASSERT_EQ(done.status, 200) << done.body;
    EXPECT_EQ(done.headers.count("retry-after"), 0u);
    const json state = done.js()["registrationState"];
    EXPECT_EQ(done.js()["status"], "assigned");
    EXPECT_EQ(state["assignedHub"], "myhub");
    EXPECT_EQ(state["deviceId"], "sensor-1");
    EXPECT_EQ(state["substatus"], "initialAssignment");
    // The identity is in the hub with the enrollment's key: the device's own token works there.
    const Device* device = hub->registry().find("sensor-1");
    ASSERT_NE(device, nullptr);
    EXPECT_EQ(device->primary_key, key);
    const std::string hub_token =
        auth::make_sas_token(auth::url_encode_strict("myhub/devices/sensor-1"), key, expiry());
    EXPECT_EQ(call("POST", "/devices/sensor-1/messages/events", hub_token, "hi").status, 204);
    // The service side sees the registration.
    const Reply reg =
        call("GET", "/registrations/sensor-1?api-version=2021-10-01", service_token());
    ASSERT_EQ(reg.status, 200) << reg.body;
    EXPECT_EQ(reg.js()["status"], "assigned");
    EXPECT_EQ(reg.js()["assignedHub"], "myhub");
}

TEST_F(DpsRoutesTest, GroupMemberRegistersWithDerivedKeyAndAWrongKeyIsRefused) {
    const Reply group =
        call("PUT", "/enrollmentGroups/line-1?api-version=2021-10-01", service_token(),
             R"({"enrollmentGroupId":"line-1","attestation":{"type":"symmetricKey"}})");
    ASSERT_EQ(group.status, 200) << group.body;
    const std::string group_key =
        group.js()["attestation"]["symmetricKey"]["primaryKey"].get<std::string>();
    Result<std::string> derived = prov::derive_device_key(group_key, "member-7");
    ASSERT_TRUE(derived.ok());
    const Reply wrong = call("PUT", register_path("member-7"), device_token("member-7", group_key),
                             R"({"registrationId":"member-7"})");
    expect_dps_error(wrong, 401);
    EXPECT_EQ(wrong.js()["errorCode"], 401002);
    const Reply started = call("PUT", register_path("member-7"), device_token("member-7", *derived),
                               R"({"registrationId":"member-7"})");
    ASSERT_EQ(started.status, 202) << started.body;
    run_timers();
    const std::string op = started.js()["operationId"].get<std::string>();
    const Reply done =
        call("GET", operation_path("member-7", op), device_token("member-7", *derived));
    ASSERT_EQ(done.status, 200);
    EXPECT_EQ(done.js()["registrationState"]["deviceId"], "member-7");
    ASSERT_NE(hub->registry().find("member-7"), nullptr);
    EXPECT_EQ(hub->registry().find("member-7")->primary_key, *derived);
    // Polling needs the device's token too.
    expect_dps_error(
        call("GET", operation_path("member-7", op), device_token("member-7", group_key)), 401);
    expect_dps_error(call("GET", operation_path("member-7", op), ""), 401);
}

TEST_F(DpsRoutesTest, UnknownRegistrationOperationAndScopeAre404) {
    const std::string key = enroll("known");
    // No enrollment and no group: not found.
    expect_dps_error(call("PUT", register_path("stranger"), device_token("stranger", key),
                          R"({"registrationId":"stranger"})"),
                     404);
    expect_dps_error(call("GET", operation_path("known", "no-such-op"), device_token("known", key)),
                     404);
    // Someone else's operation is unknown to this device.
    const std::string other_key = enroll("other");
    const Reply other = call("PUT", register_path("other"), device_token("other", other_key), "{}");
    ASSERT_EQ(other.status, 202) << other.body;
    expect_dps_error(
        call("GET", operation_path("known", other.js()["operationId"]), device_token("known", key)),
        404);
    const Reply scope = call("PUT", "/0neOTHER/registrations/known/register",
                             device_token("known", key), R"({"registrationId":"known"})");
    expect_dps_error(scope, 404);
    expect_dps_error(call("PUT", std::string("/") + kScope + "/registrations/known/elsewhere",
                          device_token("known", key), "{}"),
                     404);
}

TEST_F(DpsRoutesTest, BadBodiesAndMethodsAreRefused) {
    const std::string key = enroll("dev-1");
    const std::string token = device_token("dev-1", key);
    expect_dps_error(call("PUT", register_path("dev-1"), token, "{not json"), 400);
    expect_dps_error(call("PUT", register_path("dev-1"), token, "[1,2]"), 400);
    expect_dps_error(call("PUT", register_path("dev-1"), token, R"({"registrationId":"dev-2"})"),
                     400);
    expect_dps_error(call("PUT", register_path("dev-1"), token, R"({"registrationId":7})"), 400);
    expect_dps_error(call("GET", register_path("dev-1"), token), 405);
    expect_dps_error(call("PUT", operation_path("dev-1", "x"), token, "{}"), 405);
    // A payload travels to the service (region hint) and must be JSON within the body.
    const Reply with_payload = call("PUT", register_path("dev-1"), token,
                                    R"({"registrationId":"dev-1","payload":{"region":"local"}})");
    EXPECT_EQ(with_payload.status, 202) << with_payload.body;
}

TEST_F(DpsRoutesTest, ADisabledEnrollmentAnswersDisabledAtOnce) {
    const std::string key = enroll("off-1");
    json e = call("GET", "/enrollments/off-1", service_token()).js();
    e["provisioningStatus"] = "disabled";
    ASSERT_EQ(call("PUT", "/enrollments/off-1", service_token(), e.dump()).status, 200);
    const Reply r = call("PUT", register_path("off-1"), device_token("off-1", key), "{}");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers.count("retry-after"), 0u);
    EXPECT_EQ(r.js()["status"], "disabled");
    EXPECT_EQ(r.js()["registrationState"]["status"], "disabled");
    EXPECT_EQ(hub->registry().find("off-1"), nullptr);
}

TEST_F(DpsRoutesTest, ExpiredAndMisaddressedDeviceTokensAre401) {
    const std::string key = enroll("dev-1");
    const int64_t past = node.utc_now_ms() / 1000 - 1;
    expect_dps_error(call("PUT", register_path("dev-1"), device_token("dev-1", key, past), "{}"),
                     401);
    expect_dps_error(call("PUT", register_path("dev-1"), "", "{}"), 401);
    expect_dps_error(call("PUT", register_path("dev-1"), "SharedAccessSignature garbage", "{}"),
                     401);
    // A token for another registration id.
    expect_dps_error(call("PUT", register_path("dev-1"), device_token("dev-2", key), "{}"), 401);
}

TEST_F(DpsRoutesTest, TooManyPendingRegistrationsAre429WithRetryAfter) {
    // A service whose assignments never run within the test keeps every operation pending.
    prov::ProvisioningConfig slow;
    slow.id_scope = kScope;
    slow.assignment_delay = Duration::seconds(3600);
    dps.reset();
    ASSERT_TRUE(node.disk().remove("provisioning.log").ok());
    dps = std::move(*prov::ProvisioningService::open(node, directory, slow));
    ASSERT_TRUE(dps->link_hub({"myhub", "local", 1}).ok());
    HttpServer slow_server(node, *hub);
    ProvisioningEndpoint endpoint;
    endpoint.id_scope = kScope;
    endpoint.host_name = "myhub";
    endpoint.policy.primary_key = kPolicyKey;
    slow_server.serve_provisioning(*dps, endpoint);
    prov::IndividualEnrollment e;
    e.registration_id = "busy";
    Result<prov::IndividualEnrollment> created = dps->create_enrollment(e);
    ASSERT_TRUE(created.ok());
    const std::string token = device_token("busy", created->attestation.primary_key);
    for (size_t i = 0; i < prov::kOperationsMax; ++i) {
        ASSERT_TRUE(dps->register_device("busy", token, "", node.utc_now_ms()).ok()) << i;
    }
    const Reply busy =
        call("PUT", register_path("busy"), token, R"({"registrationId":"busy"})", {}, &slow_server);
    expect_dps_error(busy, 429);
    EXPECT_EQ(busy.headers.at("retry-after"), "1");
    EXPECT_EQ(busy.js()["errorCode"], 429001);
}

TEST_F(DpsRoutesTest, ADiskThatCannotSyncIs500AndNothingIsAssigned) {
    const std::string key = enroll("dev-1");
    node.sim_disk().set_fail_syncs(true);
    const Reply failed = call("PUT", register_path("dev-1"), device_token("dev-1", key), "{}");
    expect_dps_error(failed, 500);
    EXPECT_EQ(failed.js()["errorCode"], 500001);
    expect_dps_error(call("PUT", "/enrollments/dev-2", service_token(), "{}"), 500);
    node.sim_disk().set_fail_syncs(false);
    run_timers();
    EXPECT_EQ(hub->registry().find("dev-1"), nullptr);
}

TEST_F(DpsRoutesTest, IndividualEnrollmentCrudWithEtags) {
    const std::string path = "/enrollments/crud-1?api-version=2021-10-01";
    const Reply created = call("PUT", path, service_token(),
                               R"({"registrationId":"crud-1","attestation":{"type":"symmetricKey",
                                   "symmetricKey":{"primaryKey":"","secondaryKey":""}},
                                   "provisioningStatus":"enabled"})");
    ASSERT_EQ(created.status, 200) << created.body;
    const json e = created.js();
    EXPECT_EQ(e["attestation"]["symmetricKey"]["primaryKey"].get<std::string>().size(), 44u);
    EXPECT_EQ(e["deviceId"], "crud-1");
    const Reply got = call("GET", path, service_token());
    ASSERT_EQ(got.status, 200);
    EXPECT_EQ(got.js()["etag"], e["etag"]);
    // The SDK's update sends the etag it read; a stale one is 412.
    json disabled = e;
    disabled["provisioningStatus"] = "disabled";
    const Reply updated = call("PUT", path, service_token(), disabled.dump(),
                               {{"If-Match", e["etag"].get<std::string>()}});
    ASSERT_EQ(updated.status, 200) << updated.body;
    EXPECT_EQ(updated.js()["provisioningStatus"], "disabled");
    EXPECT_NE(updated.js()["etag"], e["etag"]);
    EXPECT_EQ(updated.js()["attestation"], e["attestation"]);  // keys kept
    expect_dps_error(call("PUT", path, service_token(), disabled.dump(),
                          {{"If-Match", e["etag"].get<std::string>()}}),
                     412);
    // Without If-Match a PUT replaces (createOrUpdate).
    EXPECT_EQ(call("PUT", path, service_token(), e.dump()).js()["provisioningStatus"], "enabled");
    expect_dps_error(call("DELETE", path, service_token(), "", {{"If-Match", "\"AAAAAAAAAAk=\""}}),
                     412);
    EXPECT_EQ(call("DELETE", path, service_token()).status, 204);
    expect_dps_error(call("GET", path, service_token()), 404);
    expect_dps_error(call("DELETE", path, service_token()), 404);
    // An If-Match on a missing enrollment updates nothing.
    expect_dps_error(call("PUT", path, service_token(), e.dump(), {{"If-Match", "*"}}), 404);
}

TEST_F(DpsRoutesTest, EnrollmentBodiesAreChecked) {
    const std::string path = "/enrollments/chk-1?api-version=2021-10-01";
    expect_dps_error(call("PUT", path, service_token(), "{oops"), 400);
    expect_dps_error(call("PUT", path, service_token(), R"({"registrationId":"chk-2"})"), 400);
    expect_dps_error(call("PUT", path, service_token(),
                          R"({"registrationId":"chk-1","attestation":{"type":"x509"}})"),
                     400);
    expect_dps_error(call("PUT", path, service_token(),
                          R"({"registrationId":"chk-1","provisioningStatus":"maybe"})"),
                     400);
    expect_dps_error(call("PATCH", path, service_token(), "{}"), 405);
    expect_dps_error(call("POST", "/enrollments/chk-1/attestationmechanism", service_token(), "{}"),
                     404);
    expect_dps_error(call("POST", "/enrollments/query", service_token(), "{}"), 400);
    // A missing id in the body is the URL's.
    const Reply created = call("PUT", path, service_token(), "{}");
    ASSERT_EQ(created.status, 200) << created.body;
    EXPECT_EQ(created.js()["registrationId"], "chk-1");
}

TEST_F(DpsRoutesTest, QueriesPageThroughEnrollmentsAndGroups) {
    for (const char* id : {"q-3", "q-1", "q-2"}) {
        enroll(id);
    }
    const std::string query = R"({"query":"SELECT * FROM enrollments"})";
    const Reply first = call("POST", "/enrollments/query?api-version=2021-10-01", service_token(),
                             query, {{"x-ms-max-item-count", "2"}});
    ASSERT_EQ(first.status, 200) << first.body;
    ASSERT_EQ(first.js().size(), 2u);
    EXPECT_EQ(first.js()[0]["registrationId"], "q-1");
    EXPECT_EQ(first.js()[1]["registrationId"], "q-2");
    EXPECT_EQ(first.headers.at("x-ms-item-type"), "enrollment");
    const std::string token = first.headers.at("x-ms-continuation");
    const Reply second = call("POST", "/enrollments/query", service_token(), query,
                              {{"x-ms-max-item-count", "2"}, {"x-ms-continuation", token}});
    ASSERT_EQ(second.js().size(), 1u);
    EXPECT_EQ(second.js()[0]["registrationId"], "q-3");
    EXPECT_EQ(second.headers.count("x-ms-continuation"), 0u);
    expect_dps_error(
        call("POST", "/enrollments/query", service_token(), query, {{"x-ms-max-item-count", "0"}}),
        400);
    ASSERT_EQ(call("PUT", "/enrollmentGroups/g-1", service_token(), "{}").status, 200);
    const Reply groups = call("POST", "/enrollmentGroups/query", service_token(), query);
    ASSERT_EQ(groups.js().size(), 1u);
    EXPECT_EQ(groups.js()[0]["enrollmentGroupId"], "g-1");
    EXPECT_EQ(groups.headers.at("x-ms-item-type"), "enrollmentGroup");
    EXPECT_EQ(groups.headers.count("x-ms-continuation"), 0u);
    expect_dps_error(call("POST", "/enrollmentGroups/query", "", query), 401);
}

TEST_F(DpsRoutesTest, EnrollmentGroupCrud) {
    const std::string path = "/enrollmentGroups/grp-1?api-version=2021-10-01";
    const Reply created = call("PUT", path, service_token(), R"({"enrollmentGroupId":"grp-1"})");
    ASSERT_EQ(created.status, 200) << created.body;
    const json g = created.js();
    EXPECT_EQ(g["enrollmentGroupId"], "grp-1");
    EXPECT_EQ(call("GET", path, service_token()).js()["etag"], g["etag"]);
    expect_dps_error(call("PUT", path, service_token(), R"({"enrollmentGroupId":"grp-2"})"), 400);
    expect_dps_error(call("PUT", path, service_token(), g.dump(), {{"If-Match", "\"stale\""}}),
                     412);
    EXPECT_EQ(
        call("PUT", path, service_token(), g.dump(), {{"If-Match", g["etag"].get<std::string>()}})
            .status,
        200);
    EXPECT_EQ(call("DELETE", path, service_token()).status, 204);
    expect_dps_error(call("GET", path, service_token()), 404);
    expect_dps_error(call("DELETE", path, service_token()), 404);
    expect_dps_error(call("POST", path, service_token(), "{}"), 405);
}

TEST_F(DpsRoutesTest, ServiceCallsNeedTheProvisioningPolicyToken) {
    const std::string path = "/enrollments/x-1?api-version=2021-10-01";
    expect_dps_error(call("GET", path, ""), 401);
    // The hub's own owner policy is not the provisioning service's.
    const std::string hub_owner = auth::make_sas_token(
        "myhub", hub->registry().policy("iothubowner")->primary_key, expiry(), "iothubowner");
    expect_dps_error(call("GET", path, hub_owner), 401);
    expect_dps_error(call("GET", path, service_token("d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk=")),
                     401);
    expect_dps_error(
        call("GET", path, service_token(kPolicyKey, "provisioningserviceowner", "otherhost")), 401);
    expect_dps_error(call("GET", path,
                          service_token(kPolicyKey, "provisioningserviceowner", "myhub",
                                        node.utc_now_ms() / 1000 - 1)),
                     401);
    expect_dps_error(call("GET", "/registrations/nobody?api-version=2021-10-01", service_token()),
                     404);
    expect_dps_error(
        call("DELETE", "/registrations/nobody?api-version=2021-10-01", service_token()), 405);
    // A good token reaches the route (404: no such enrollment).
    expect_dps_error(call("GET", path, service_token()), 404);
}

TEST_F(DpsRoutesTest, HubRoutesStayTheHubs) {
    ASSERT_TRUE(hub->registry()
                    .create([] {
                        Device d;
                        d.id = "registrations";
                        return d;
                    }())
                    .ok());
    const std::string token =
        auth::make_sas_token(auth::url_encode_strict("myhub/devices/registrations"),
                             hub->registry().find("registrations")->primary_key, expiry());
    EXPECT_EQ(call("POST", "/devices/registrations/messages/events", token, "x").status, 204);
    Target t;
    t.segments = {"devices", "registrations", "messages", "events"};
    EXPECT_FALSE(ProvisioningRoutes::owns(t));
    t.segments = {"0ne1", "registrations", "r", "register"};
    EXPECT_TRUE(ProvisioningRoutes::owns(t));
    t.segments = {"registrations", "r", "x"};
    EXPECT_FALSE(ProvisioningRoutes::owns(t));
    EXPECT_EQ(call("GET", "/health", "").status, 200);
}

TEST(DpsAccessTest, IdScopesAreShortAlphanumeric) {
    EXPECT_TRUE(is_valid_id_scope("0ne00000000"));
    EXPECT_FALSE(is_valid_id_scope(""));
    EXPECT_FALSE(is_valid_id_scope("0ne/x"));
    EXPECT_FALSE(is_valid_id_scope(std::string(kIdScopeBytesMax + 1, 'a')));
    ProvisioningEndpoint endpoint;
    endpoint.host_name = "dps.example";
    endpoint.policy.primary_key = kPolicyKey;
    EXPECT_EQ(provisioning_connection_string(endpoint),
              std::string("HostName=dps.example;SharedAccessKeyName=provisioningserviceowner;"
                          "SharedAccessKey=") +
                  kPolicyKey);
}

}  // namespace
}  // namespace hub::http
