// A property of the DPS routes: random sequences of service and device calls (good and bad
// tokens, bodies, etags and paths) always get a well-formed answer (JSON on success, DPS's
// error body otherwise), and what the answers say agrees with a small model of enrollments:
// what was PUT can be read back with its etag, what was DELETEd is gone, and a device whose
// enrollment exists and is enabled registers with its key and ends up assigned to the hub.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <optional>
#include <set>

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

constexpr const char* kScope = "0ne0000PROP";
constexpr const char* kPolicyKey = "cHJvcGVydHkta2V5LXByb3BlcnR5LWtleS1wcm9wZXI=";
const std::vector<std::string> kIds = {"a", "b", "c"};

class OneHub : public prov::HubDirectory {
  public:
    explicit OneHub(Hub& hub) : hub_(hub) {}
    Registry* registry_for(std::string_view name) override {
        return name == hub_.config().host_name ? &hub_.registry() : nullptr;
    }

  private:
    Hub& hub_;
};

struct World {
    explicit World(uint64_t seed) : sim(seed), net(sim, Random(seed + 1)), node(sim, net, "hub") {
        HubConfig config;
        config.host_name = "myhub";
        hub = std::move(*Hub::open(node, config));
        directory = std::make_unique<OneHub>(*hub);
        prov::ProvisioningConfig dps_config;
        dps_config.id_scope = kScope;
        dps = std::move(*prov::ProvisioningService::open(node, *directory, dps_config));
        RC_ASSERT(dps->link_hub({"myhub", "local", 1}).ok());
        server = std::make_unique<HttpServer>(node, *hub);
        ProvisioningEndpoint endpoint;
        endpoint.id_scope = kScope;
        endpoint.host_name = "myhub";
        endpoint.policy.primary_key = kPolicyKey;
        server->serve_provisioning(*dps, endpoint);
    }

    Response call(bh::verb method, const std::string& target, const std::string& token,
                  const std::string& body, const std::string& if_match) {
        Request request(method, target, 11);
        if (!token.empty()) request.set(bh::field::authorization, token);
        if (!if_match.empty()) request.set(bh::field::if_match, if_match);
        request.body() = body;
        request.prepare_payload();
        std::optional<Response> out;
        server->handle(request, [&](Response r) { out = std::move(r); });
        RC_ASSERT(out.has_value());  // every DPS route answers at once
        check_well_formed(*out);
        return *out;
    }
    static void check_well_formed(const Response& r) {
        static const std::set<int> kStatuses = {200, 202, 204, 400, 401, 404, 405, 412, 429};
        RC_ASSERT(kStatuses.contains(r.status));
        if (r.status == 204) {
            RC_ASSERT(r.body.empty());
            return;
        }
        const json j = json::parse(r.body, nullptr, false);
        RC_ASSERT(!j.is_discarded());
        if (r.status >= 400) {
            RC_ASSERT(j["errorCode"].is_number_integer());
            RC_ASSERT(j["errorCode"].get<int>() / 1000 == r.status);
            RC_ASSERT(j["trackingId"].get<std::string>().size() == 36u);
            RC_ASSERT(j["message"].is_string());
        }
    }
    std::string service_token(bool good) {
        return auth::make_sas_token("myhub", good ? kPolicyKey : std::string(44, 'A'),
                                    node.utc_now_ms() / 1000 + 3600, "provisioningserviceowner");
    }
    std::string device_token(const std::string& id, const std::string& key) {
        return auth::make_sas_token(std::string(kScope) + "/registrations/" + id, key,
                                    node.utc_now_ms() / 1000 + 3600, "registration");
    }

    simnet::Simulator sim;
    simnet::SimNetwork net;
    simnet::SimNode node;
    std::unique_ptr<Hub> hub;
    std::unique_ptr<OneHub> directory;
    std::unique_ptr<prov::ProvisioningService> dps;
    std::unique_ptr<HttpServer> server;
};

struct Enrolled {
    std::string etag;
    std::string key;
    bool enabled = true;
};

// One random service call on an enrollment; updates the model from what the answer says and
// checks the answer against the model.
void enrollment_step(World& w, std::map<std::string, Enrolled>& model) {
    const std::string id = *rc::gen::elementOf(kIds);
    const std::string path = "/enrollments/" + id + "?api-version=2021-10-01";
    const bool good_token = *rc::gen::weightedElement<bool>({{9, true}, {1, false}});
    const int op = *rc::gen::inRange(0, 3);
    const auto known = model.find(id);
    if (op == 0) {  // PUT: a valid body, or junk
        const bool enabled = *rc::gen::arbitrary<bool>();
        const bool junk = *rc::gen::weightedElement<bool>({{1, true}, {5, false}});
        const std::string body =
            junk ? *rc::gen::elementOf(std::vector<std::string>{"{", "[]", R"({"attestation":7})"})
                 : json{{"registrationId", id},
                        {"provisioningStatus", enabled ? "enabled" : "disabled"}}
                       .dump();
        const std::string if_match =
            known != model.end() && *rc::gen::arbitrary<bool>() ? known->second.etag : "";
        const Response r = w.call(bh::verb::put, path, w.service_token(good_token), body, if_match);
        RC_ASSERT(r.status == (!good_token ? 401 : junk ? 400 : 200));
        if (r.status == 200) {
            const json e = json::parse(r.body);
            model[id] = {e["etag"].get<std::string>(),
                         e["attestation"]["symmetricKey"]["primaryKey"].get<std::string>(),
                         enabled};
        }
    } else if (op == 1) {  // GET
        const Response r = w.call(bh::verb::get, path, w.service_token(good_token), "", "");
        RC_ASSERT(r.status == (!good_token ? 401 : known != model.end() ? 200 : 404));
        if (r.status == 200) RC_ASSERT(json::parse(r.body)["etag"] == known->second.etag);
    } else {  // DELETE, with a stale etag now and then
        const bool stale = *rc::gen::weightedElement<bool>({{1, true}, {3, false}});
        const Response r = w.call(bh::verb::delete_, path, w.service_token(good_token), "",
                                  stale ? "\"AAAAAAAAAAA=\"" : "");
        RC_ASSERT(r.status == (!good_token ? 401 : known == model.end() ? 404 : stale ? 412 : 204));
        if (r.status == 204) model.erase(id);
    }
}

// One registration with the right or a wrong key; an admitted one is assigned to the hub.
void register_step(World& w, const std::map<std::string, Enrolled>& model) {
    const std::string id = *rc::gen::elementOf(kIds);
    const auto known = model.find(id);
    const bool right = known != model.end() && *rc::gen::arbitrary<bool>();
    const std::string key = right ? known->second.key : std::string(44, 'B');
    const std::string base = std::string("/") + kScope + "/registrations/" + id;
    const Response r = w.call(bh::verb::put, base + "/register", w.device_token(id, key), "{}", "");
    if (known == model.end()) {
        RC_ASSERT(r.status == 404);  // no enrollment, no group
        return;
    }
    if (!right) {
        RC_ASSERT(r.status == 401);
        return;
    }
    RC_ASSERT(r.status == (known->second.enabled ? 202 : 200));
    w.sim.run_until([] { return false; }, w.sim.now() + Duration::millis(20));
    const std::string op = json::parse(r.body)["operationId"].get<std::string>();
    const Response done =
        w.call(bh::verb::get, base + "/operations/" + op, w.device_token(id, key), "", "");
    RC_ASSERT(done.status == 200);
    const json j = json::parse(done.body);
    RC_ASSERT(j["status"] == (known->second.enabled ? "assigned" : "disabled"));
    if (known->second.enabled) RC_ASSERT(j["registrationState"]["assignedHub"] == "myhub");
}

// A random target under the DPS paths: never a crash, always a well-formed answer.
void odd_step(World& w) {
    static const std::vector<std::string> kSegments = {kScope,
                                                       "registrations",
                                                       "register",
                                                       "operations",
                                                       "enrollments",
                                                       "enrollmentGroups",
                                                       "query",
                                                       "z",
                                                       "%2F",
                                                       "x y",
                                                       "",
                                                       "0neOTHER"};
    const auto segments = *rc::gen::container<std::vector<std::string>>(
        *rc::gen::inRange(1, 6), rc::gen::elementOf(kSegments));
    std::string target;
    for (const std::string& s : segments) {
        target += "/" + s;
    }
    const bh::verb method = *rc::gen::elementOf(
        std::vector<bh::verb>{bh::verb::get, bh::verb::put, bh::verb::post, bh::verb::delete_});
    const std::string body = *rc::gen::elementOf(std::vector<std::string>{"", "{}", "{", "null"});
    Result<Target> parsed = parse_target(target);
    if (!parsed.ok() || !ProvisioningRoutes::owns(*parsed)) return;  // the hub's, not ours
    // A good service token only reads: a write here would change what the model steps expect.
    const bool reads = method == bh::verb::get;
    w.call(method, target, reads && *rc::gen::arbitrary<bool>() ? w.service_token(true) : "", body,
           "");
}

RC_GTEST_PROP(DpsRoutesProperty, AnswersAreWellFormedAndAgreeWithTheModel, ()) {
    World w(*rc::gen::inRange<uint64_t>(1, 1'000'000));
    std::map<std::string, Enrolled> model;
    const int steps = *rc::gen::inRange(1, 40);
    for (int i = 0; i < steps; ++i) {
        switch (*rc::gen::inRange(0, 3)) {
            case 0: enrollment_step(w, model); break;
            case 1: register_step(w, model); break;
            default: odd_step(w); break;
        }
    }
}

}  // namespace
}  // namespace hub::http
