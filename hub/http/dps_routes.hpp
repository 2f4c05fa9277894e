// Internal to hub/http: the Device Provisioning Service (DPS) routes of the HTTPS front door.
//
// Concept (reference §5, §9; the Node provisioning device HTTP transport and
// azure-iot-provisioning-service's ProvisioningServiceClient): DPS shares the hub's HTTPS
// port, because the Node clients always dial 443 (a local DPS must share localhost:443). The
// paths do not overlap the hub's:
//   device:  PUT /{idScope}/registrations/{registrationId}/register           -> 202 assigning
//            GET /{idScope}/registrations/{registrationId}/operations/{opId}  -> 200 + status
//   service: PUT/GET/DELETE /enrollments/{registrationId}
//            PUT/GET/DELETE /enrollmentGroups/{enrollmentGroupId}
//            POST /enrollments/query, /enrollmentGroups/query  (every query is SELECT *;
//                 x-ms-max-item-count and x-ms-continuation page through them)
//            GET /registrations/{registrationId}          (the device registration state)
// `forceRegistration` is accepted and has no effect: every register runs the allocation again
// as the enrollment's reprovision policy says. Device calls authenticate with the registration's SAS token (sr =
// "{idScope}/registrations/{registrationId}", skn = "registration"); service calls with the
// provisioning policy's token (dps_access.hpp). A still-assigning operation carries
// `retry-after` (seconds), which the Node transport uses as its next poll delay.
// Errors use DPS's body {"errorCode": <HTTP status * 1000 + n>, "trackingId": "<uuid>",
// "message": "...", "timestampUtc": "..."} (the .NET ProvisioningErrorDetails fields); the
// Node clients only look at the HTTP status.
//
// Synchronous: every ProvisioningService call is durable when it returns, so each request is
// answered before handle() returns. The Env, the service and the routes are single-threaded.
// The Env and the ProvisioningService must outlive the routes.
#pragma once

#include <cstdint>
#include <string>

#include "hub/core/provisioning/provisioning_service.hpp"
#include "hub/http/dps_access.hpp"
#include "hub/http/routes.hpp"

namespace hub::http {

// Seconds a device waits before polling an assigning operation. Our assignments run on the
// next timer tick (ProvisioningConfig::assignment_delay defaults to 0), so one second lets a
// device finish quickly without polling in a tight loop. [inference: DPS sends a few seconds]
constexpr int kDpsRetryAfterSeconds = 1;
// Items per query page (x-ms-max-item-count asks for fewer): ProvisioningService lists at most
// 1000 at a time, the registry's page size too.
constexpr size_t kDpsQueryPageMax = 1000;

class ProvisioningRoutes {
  public:
    ProvisioningRoutes(Env& env, provisioning::ProvisioningService& dps,
                       ProvisioningEndpoint endpoint);
    ProvisioningRoutes(const ProvisioningRoutes&) = delete;
    ProvisioningRoutes& operator=(const ProvisioningRoutes&) = delete;

    // Whether `target` is a DPS path (the server routes it here, before the hub's own token
    // check). "/devices/..." always stays the hub's, even for a device called "registrations".
    static bool owns(const Target& target);
    // REQUIRES: owns(target).
    Response handle(const Request& request, const Target& target);

    const ProvisioningEndpoint& endpoint() const { return endpoint_; }

  private:
    Response device_call(const Request& request, const Target& target);
    Response register_device(const Request& request, const std::string& registration_id);
    Response operation_status(const Request& request, const std::string& registration_id,
                              const std::string& operation_id);
    Response service_call(const Request& request, const Target& target);
    Response enrollment_call(const Request& request, const std::string& id);
    Response group_call(const Request& request, const std::string& id);
    // POST /enrollments/query, /enrollmentGroups/query: pages in id order.
    Response query(const Request& request, bool individual);
    Response registration_state(const std::string& id);
    // DPS's error body with a fresh tracking id; 429 also carries retry-after.
    Response error(const Status& status);
    Response error(int http_status, int32_t error_code, const std::string& message);

    Env& env_;
    provisioning::ProvisioningService& dps_;
    const ProvisioningEndpoint endpoint_;
};

}  // namespace hub::http
