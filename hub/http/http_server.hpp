// HttpServer: the hub's HTTPS front door (the TLS is the Env's), sans-IO over Env::Network.
//
// Serves Azure IoT Hub's REST surface (reference §2) for the Node and other SDKs:
//   device:   POST /devices/{id}/messages/events          D2C, single or batch (204 when durable)
//             GET /devices/{id}/messages/devicebound      C2D: 200 with ETag "lock" or 204
//             DELETE .../devicebound/{lock}[?reject]      complete / reject (204 when durable)
//             POST .../devicebound/{lock}/abandon         abandon
//   service:  PUT/GET/DELETE /devices/{id}, GET /devices   the identity registry
//   anyone:   GET /health                                   liveness, no token needed
//   DPS:      /{idScope}/registrations/..., /enrollments/..., /enrollmentGroups/...,
//             /registrations/{id} once serve_provisioning() was called (dps_routes.hpp)
// Every request carries a SAS token in Authorization; device calls need the device's own
// token, registry calls a policy with registry read or write rights. Errors use Azure's body
// {"Message":"ErrorCode:...;...","ExceptionMessage":"..."}. Paths match case-insensitively
// (the SDKs and the docs disagree on case), device ids are URL-decoded.
//
// The Env and Hub (and the ProvisioningService given to serve_provisioning) must outlive the
// server.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "hub/core/hub.hpp"
#include "hub/http/dps_access.hpp"
#include "hub/http/http_types.hpp"

namespace hub::http {

class HttpConnection;
class ProvisioningRoutes;

class HttpServer {
  public:
    HttpServer(Env& env, Hub& hub);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    Status listen(const std::string& address);
    std::string address() const;
    void serve(std::unique_ptr<Stream> stream);
    size_t connection_count() const { return connections_.size(); }
    // Also serves the Device Provisioning Service's device and service routes on this port
    // (the Node provisioning clients always dial 443). REQUIRES: called once, before serving.
    void serve_provisioning(provisioning::ProvisioningService& dps, ProvisioningEndpoint endpoint);

    // Routes one request (exposed for tests: no bytes involved).
    void handle(const Request& request, Respond respond);

  private:
    void reap(uint64_t id);
    Response health() const;

    Env& env_;
    Hub& hub_;
    std::unique_ptr<Listener> listener_;
    uint64_t next_id_ = 1;
    std::map<uint64_t, std::unique_ptr<HttpConnection>> connections_;
    std::map<uint64_t, TimerId> reap_timers_;
    std::unique_ptr<ProvisioningRoutes> provisioning_;  // null: no DPS on this server
};

}  // namespace hub::http
