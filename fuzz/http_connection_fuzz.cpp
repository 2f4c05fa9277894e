// Fuzz target: untrusted bytes into one hub HTTP connection (Beast's parser, our routes).
//
// Input format as amqp_connection: [u8 n][n bytes] chunks, each one read; n = 0 lets 100 ms of
// virtual time pass (group commits). Valid tokens for the fixed world are substituted for
// placeholders, so the fuzzer reaches the routes behind authentication: DEVTOKEN (device dev1),
// SVCTOKEN (iothubowner), DPSTOKEN (registration dps1), GRPTOKEN (registration grp1 through
// the group "fleet") and DPSSVCTOKEN (the provisioning service policy). The server serves the
// DPS routes too. The hub may refuse anything; it must never crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_stream.hpp"
#include "hub/auth/sas.hpp"
#include "hub/core/provisioning/enrollment.hpp"
#include "hub/http/http_server.hpp"

namespace {

void replace_all(std::string& s, const std::string& from, const std::string& to) {
    for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
        s.replace(pos, from.size(), to);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    bool alive = false;  // declared first: the world (which owns the stream) goes before it
    fuzz::HubWorld world;
    hub::http::HttpServer server(world.node, *world.hub);
    hub::http::ProvisioningEndpoint endpoint;
    endpoint.id_scope = fuzz::kIdScope;
    endpoint.host_name = fuzz::kHubHostName;
    endpoint.policy.primary_key = fuzz::kDeviceKey;
    endpoint.policy.secondary_key = fuzz::kDeviceKey;
    server.serve_provisioning(*world.dps, endpoint);
    const int64_t expiry = world.node.utc_now_ms() / 1000 + 3600;
    const auto registration_token = [&](const std::string& id, const std::string& key) {
        return hub::auth::make_sas_token(std::string(fuzz::kIdScope) + "/registrations/" + id,
                                         key, expiry, "registration");
    };
    const std::string dps_token = registration_token(fuzz::kEnrollmentId, fuzz::kDeviceKey);
    const std::string group_token = registration_token(
        "grp1", *hub::provisioning::derive_device_key(fuzz::kDeviceKey, "grp1"));
    const std::string dps_service_token = hub::auth::make_sas_token(
        fuzz::kHubHostName, fuzz::kDeviceKey, expiry,
        std::string(hub::http::kProvisioningPolicyName));
    const std::string device_token = hub::auth::make_sas_token(
        hub::auth::url_encode_strict(std::string(fuzz::kHubHostName) + "/devices/" + fuzz::kDeviceId),
        fuzz::kDeviceKey, expiry);
    const std::string service_token = hub::auth::make_sas_token(
        fuzz::kHubHostName, world.hub->registry().policy("iothubowner")->primary_key, expiry,
        "iothubowner");
    auto stream = std::make_unique<fuzz::FuzzStream>(&alive);
    fuzz::FuzzStream* input = stream.get();
    server.serve(std::move(stream));
    fuzz::feed_chunks(world, input, alive, data, size, [&](std::string chunk) {
        replace_all(chunk, "DPSSVCTOKEN", dps_service_token);  // before SVCTOKEN, its suffix
        replace_all(chunk, "DEVTOKEN", device_token);
        replace_all(chunk, "SVCTOKEN", service_token);
        replace_all(chunk, "DPSTOKEN", dps_token);
        replace_all(chunk, "GRPTOKEN", group_token);
        return chunk;
    });
    return 0;
}
