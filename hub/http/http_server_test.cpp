#include "hub/http/http_server.hpp"

#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "hub/auth/sas.hpp"
#include "simnet/sim_node.hpp"

namespace hub::http {
namespace {

namespace bh = boost::beast::http;

class HttpServerTest : public ::testing::Test {
  protected:
    simnet::Simulator sim{1};
    simnet::SimNetwork net{sim, Random(2)};
    simnet::SimNode node{sim, net, "hub"};
    std::unique_ptr<Hub> hub = open_hub();
    HttpServer server{node, *hub};

    std::unique_ptr<Hub> open_hub() {
        HubConfig config;
        config.host_name = "myhub";
        config.devices = {{"d1", ""}};
        return std::move(*Hub::open(node, config));
    }
    int64_t expiry() const { return node.utc_now_ms() / 1000 + 3600; }
    std::string device_token(const std::string& id) {
        return auth::make_sas_token(auth::url_encode_strict("myhub/devices/" + id),
                                    hub->registry().find(id)->primary_key, expiry());
    }
    std::string service_token(const std::string& policy) {
        return auth::make_sas_token("myhub", hub->registry().policy(policy)->primary_key,
                                    expiry(), policy);
    }
    Response call(bh::verb method, const std::string& target, const std::string& token,
                  std::string body = {}, std::vector<std::pair<std::string, std::string>> headers = {}) {
        Request request(method, target, 11);
        if (!token.empty()) request.set(bh::field::authorization, token);
        for (const auto& [k, v] : headers) request.set(k, v);
        request.body() = std::move(body);
        request.prepare_payload();
        std::optional<Response> out;
        server.handle(request, [&](Response r) { out = std::move(r); });
        sim.run_until([&] { return out.has_value(); }, sim.now() + Duration::seconds(5));
        EXPECT_TRUE(out.has_value());
        return out.value_or(Response{0, {}, {}});
    }
    size_t d2c_events() {
        size_t n = 0;
        for (uint32_t p = 0; p < hub->d2c().partition_count(); ++p) n += hub->d2c().events(p).size();
        return n;
    }
};

TEST_F(HttpServerTest, DeviceSendsD2cAndGets204OnlyWhenDurable) {
    Response r = call(bh::verb::post, "/devices/d1/messages/events?api-version=2021-04-12",
                      device_token("d1"), "hello",
                      {{"iothub-app-temp", "21"}, {"IoTHub-MessageId", "m1"}});
    EXPECT_EQ(r.status, 204);
    ASSERT_EQ(d2c_events(), 1u);
    const StoredEvent& e = hub->d2c().events(hub->d2c().partition_of("d1"))[0];
    EXPECT_EQ(e.message.message_id, "m1");
    EXPECT_EQ(e.message.properties, (std::vector<std::pair<std::string, std::string>>{{"temp", "21"}}));
    EXPECT_EQ(std::string(e.message.body.begin(), e.message.body.end()), "hello");
}

TEST_F(HttpServerTest, BatchBodiesAreBase64AndAllDurableBefore204) {
    const std::string batch = R"([{"body":"b25l","properties":{"iothub-app-k":"v"}},{"body":"dHdv"}])";
    Response r = call(bh::verb::post, "/devices/d1/messages/events", device_token("d1"), batch,
                      {{"Content-Type", "application/vnd.microsoft.iothub.json"}});
    EXPECT_EQ(r.status, 204);
    EXPECT_EQ(d2c_events(), 2u);
    EXPECT_EQ(call(bh::verb::post, "/devices/d1/messages/events", device_token("d1"), "[{}]",
                   {{"Content-Type", "application/vnd.microsoft.iothub.json"}}).status, 400);
}

TEST_F(HttpServerTest, RefusesMissingWrongAndForeignTokens) {
    EXPECT_EQ(call(bh::verb::post, "/devices/d1/messages/events", "", "x").status, 401);
    ASSERT_TRUE(hub->registry().create([] { Device d; d.id = "d2"; return d; }()).ok());
    const Response foreign = call(bh::verb::post, "/devices/d1/messages/events", device_token("d2"), "x");
    EXPECT_EQ(foreign.status, 401);
    EXPECT_NE(foreign.body.find("ErrorCode:IotHubUnauthorizedAccess;"), std::string::npos);
    EXPECT_EQ(d2c_events(), 0u);
}

TEST_F(HttpServerTest, RegistryCrudWithAzureErrorBodies) {
    const std::string owner = service_token("iothubowner");
    Response created = call(bh::verb::put, "/devices/new1?api-version=2021-04-12", owner,
                            R"({"deviceId":"new1","authentication":{"symmetricKey":{"primaryKey":"","secondaryKey":""}}})");
    ASSERT_EQ(created.status, 200) << created.body;
    const nlohmann::json device = nlohmann::json::parse(created.body);
    EXPECT_EQ(device["authentication"]["symmetricKey"]["primaryKey"].get<std::string>().size(), 44u);
    Response again = call(bh::verb::put, "/devices/new1", owner, R"({"deviceId":"new1"})");
    EXPECT_EQ(again.status, 409);
    EXPECT_EQ(nlohmann::json::parse(again.body)["Message"].get<std::string>().rfind(
                  "ErrorCode:DeviceAlreadyExists;", 0), 0u);
    nlohmann::json disabled = device;
    disabled["status"] = "disabled";
    EXPECT_EQ(call(bh::verb::put, "/devices/new1", owner, disabled.dump(), {{"If-Match", "\"AAAAAAAAAAk=\""}}).status, 412);
    EXPECT_EQ(call(bh::verb::put, "/devices/new1", owner, disabled.dump(), {{"If-Match", "\"*\""}}).status, 200);
    EXPECT_EQ(nlohmann::json::parse(call(bh::verb::get, "/devices/new1", owner).body)["status"], "disabled");
    EXPECT_EQ(nlohmann::json::parse(call(bh::verb::get, "/devices/?top=1", owner).body).size(), 1u);
    EXPECT_EQ(call(bh::verb::delete_, "/devices/new1", owner, "", {{"If-Match", "\"*\""}}).status, 204);
    Response gone = call(bh::verb::get, "/devices/new1", owner);
    EXPECT_EQ(gone.status, 404);
    EXPECT_NE(gone.body.find("ErrorCode:DeviceNotFound;"), std::string::npos);
}

TEST_F(HttpServerTest, RegistryRightsAreEnforced) {
    EXPECT_EQ(call(bh::verb::get, "/devices/d1", service_token("registryRead")).status, 200);
    EXPECT_EQ(call(bh::verb::delete_, "/devices/d1", service_token("registryRead")).status, 401);
    EXPECT_EQ(call(bh::verb::get, "/devices/d1", service_token("service")).status, 401);
    EXPECT_EQ(call(bh::verb::get, "/devices/d1", device_token("d1")).status, 401);
    EXPECT_NE(hub->registry().find("d1"), nullptr);
}

TEST_F(HttpServerTest, C2dReceiveCompleteRejectAbandonOverHttp) {
    const auto enqueue = [&](const std::string& id) {
        C2dMessage m;
        m.message_id = id;
        m.body = Bytes{'h', 'i'};
        m.properties = {{"k", "v"}};
        m.ack = AckMode::full;
        hub->c2d().enqueue("d1", hub->registry().find("d1")->generation_id, std::move(m), [](auto) {});
        sim.run_until([] { return false; }, sim.now() + Duration::millis(10));
    };
    const std::string token = device_token("d1");
    const std::string base = "/devices/d1/messages/devicebound";
    EXPECT_EQ(call(bh::verb::get, base + "?api-version=2021-04-12", token).status, 204);  // empty
    enqueue("c1");
    enqueue("c2");
    const Response first = call(bh::verb::get, base, token);
    ASSERT_EQ(first.status, 200);
    EXPECT_EQ(first.body, "hi");
    std::map<std::string, std::string> h(first.headers.begin(), first.headers.end());
    EXPECT_EQ(h["iothub-messageid"], "c1");
    EXPECT_EQ(h["iothub-app-k"], "v");
    const std::string etag = h["ETag"];
    ASSERT_GE(etag.size(), 3u);
    const std::string lock = etag.substr(1, etag.size() - 2);  // as the Node SDK does
    EXPECT_EQ(call(bh::verb::delete_, base + "/" + lock + "?api-version=2021-04-12", token).status, 204);
    EXPECT_EQ(call(bh::verb::delete_, base + "/" + lock, token).status, 412);  // lock gone
    const Response second = call(bh::verb::get, base, token);
    std::map<std::string, std::string> h2(second.headers.begin(), second.headers.end());
    const std::string lock2 = h2["ETag"].substr(1, h2["ETag"].size() - 2);
    EXPECT_EQ(call(bh::verb::post, base + "/" + lock2 + "/abandon", token).status, 204);
    const Response again = call(bh::verb::get, base, token);  // redelivered, counted
    std::map<std::string, std::string> h3(again.headers.begin(), again.headers.end());
    EXPECT_EQ(h3["iothub-messageid"], "c2");
    EXPECT_EQ(h3["iothub-deliverycount"], "1");
    const std::string lock3 = h3["ETag"].substr(1, h3["ETag"].size() - 2);
    EXPECT_EQ(call(bh::verb::delete_, base + "/" + lock3 + "?reject", token).status, 204);
    EXPECT_EQ(hub->c2d().pending_count("d1"), 0u);
    EXPECT_EQ(call(bh::verb::get, "/devices/d2/messages/devicebound", token).status, 401);
}

TEST_F(HttpServerTest, HealthNeedsNoToken) {
    const Response r = call(bh::verb::get, "/health", "");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(nlohmann::json::parse(r.body)["status"], "ok");
}

TEST_F(HttpServerTest, PathsMatchCaseInsensitivelyAndDecodeIds) {
    ASSERT_TRUE(hub->registry().create([] { Device d; d.id = "a#b"; return d; }()).ok());
    EXPECT_EQ(call(bh::verb::post, "/DEVICES/a%23b/Messages/Events", device_token("a#b"), "x").status, 204);
    EXPECT_EQ(call(bh::verb::get, "/nowhere", service_token("iothubowner")).status, 404);
}

// A stream the test writes requests into and reads responses from.
class PipeStream : public Stream {
  public:
    void set_handlers(ReadHandler r, ClosedHandler c) override { read_ = std::move(r); closed_ = std::move(c); }
    void write(ByteView b) override { out.append(reinterpret_cast<const char*>(b.data()), b.size()); }
    void close() override { closed = true; }
    std::string peer() const override { return "test"; }
    void feed(const std::string& s) { read_(ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size())); }
    std::string out;
    bool closed = false;

  private:
    ReadHandler read_;
    ClosedHandler closed_;
};

TEST_F(HttpServerTest, BytesSplitAnywhereAndPipelinedRequestsAnswerInOrder) {
    auto stream = std::make_unique<PipeStream>();
    PipeStream* pipe = stream.get();
    server.serve(std::move(stream));
    const std::string token = service_token("iothubowner");
    const std::string one = "GET /devices/d1 HTTP/1.1\r\nHost: myhub\r\nAuthorization: " + token + "\r\n\r\n";
    const std::string two = "GET /devices/zz HTTP/1.1\r\nHost: myhub\r\nAuthorization: " + token + "\r\n\r\n";
    const std::string both = one + two;
    for (size_t i = 0; i < both.size(); i += 7) pipe->feed(both.substr(i, 7));
    sim.run_until([] { return false; }, sim.now() + Duration::seconds(1));
    const size_t first = pipe->out.find("HTTP/1.1 200");
    const size_t second = pipe->out.find("HTTP/1.1 404");
    ASSERT_NE(first, std::string::npos) << pipe->out;
    ASSERT_NE(second, std::string::npos);
    EXPECT_LT(first, second);
    EXPECT_FALSE(pipe->closed);
}

TEST_F(HttpServerTest, MalformedRequestGets400AndTheConnectionCloses) {
    auto stream = std::make_unique<PipeStream>();
    PipeStream* pipe = stream.get();
    server.serve(std::move(stream));
    pipe->feed("NOT HTTP AT ALL\r\n\r\n");
    EXPECT_NE(pipe->out.find("HTTP/1.1 400"), std::string::npos) << pipe->out;
    EXPECT_TRUE(pipe->closed);
    const std::string huge_header = "GET / HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n";
    auto stream2 = std::make_unique<PipeStream>();
    PipeStream* pipe2 = stream2.get();
    server.serve(std::move(stream2));
    pipe2->feed(huge_header);
    EXPECT_NE(pipe2->out.find("HTTP/1.1 400"), std::string::npos);
}

}  // namespace
}  // namespace hub::http
