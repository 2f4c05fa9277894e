// The Device Provisioning Service over HTTPS: device registration and enrollment management.
#include "hub/http/dps_routes.hpp"

#include <nlohmann/json.hpp>

#include "hub/core/json_text.hpp"
#include "hub/core/time_format.hpp"

namespace hub::http {

namespace {

using boost::beast::http::field;
using boost::beast::http::verb;
using nlohmann::json;
namespace prov = hub::provisioning;

std::string header(const Request& request, field name) {
    const auto it = request.find(name);
    return it == request.end() ? "" : std::string(it->value());
}

struct DpsError {
    int http_status;
    int32_t error_code;
};

// DPS's six-digit error codes are the HTTP status * 1000 + a detail number; 401002 is the
// code DPS answers an unauthorized registration with [recollection]; the others follow the
// form with our own detail numbers (404001 and 503001 match registration.hpp's).
DpsError dps_error_of(Code code) {
    switch (code) {
        case Code::invalid_argument: return {400, 400004};
        case Code::unauthorized: return {401, 401002};
        case Code::not_found: return {404, 404001};
        case Code::already_exists: return {409, 409001};
        case Code::failed_precondition: return {412, 412002};
        case Code::resource_exhausted: return {429, 429001};
        case Code::unavailable: return {503, 503001};
        default: return {500, 500001};
    }
}

// The registration state the service API reports for a device record: DPS's
// DeviceRegistrationState, with status derived from the lifecycle.
json registration_state_json(const prov::DeviceLifecycle& d) {
    const char* status = "unassigned";
    switch (d.state) {
        case prov::LifecycleState::provisioned: status = "unassigned"; break;
        case prov::LifecycleState::bootstrapped:
        case prov::LifecycleState::activated: status = "assigned"; break;
        case prov::LifecycleState::deactivated:
        case prov::LifecycleState::deprovisioned: status = "disabled"; break;
    }
    json j = {{"registrationId", d.registration_id},
              {"createdDateTimeUtc", format_utc_ms(d.created_ms)},
              {"status", status},
              {"lastUpdatedDateTimeUtc", format_utc_ms(d.updated_ms)},
              {"etag", d.etag()}};
    if (!d.assigned_hub.empty()) {
        j["assignedHub"] = d.assigned_hub;
        j["deviceId"] = d.device_id;
        j["substatus"] = prov::substatus_name(d.substatus);
    }
    return j;
}

Result<json> parse_body(const Request& request) {
    json body = json::parse(request.body(), nullptr, false);
    if (body.is_discarded()) return Status(Code::invalid_argument, "the body is not JSON");
    if (!body.is_object()) return Status(Code::invalid_argument, "the body is not a JSON object");
    return body;
}

// A body's id field must name what the URL names; a missing one is taken from the URL.
Status check_body_id(json& body, const char* name, const std::string& url_id) {
    if (!body.contains(name) || body[name].is_null()) {
        body[name] = url_id;
        return Status();
    }
    if (!body[name].is_string() || body[name].get<std::string>() != url_id) {
        return Status(Code::invalid_argument,
                      std::string(name) + " in the body differs from the URL's '" + url_id + "'");
    }
    return Status();
}

}  // namespace

ProvisioningRoutes::ProvisioningRoutes(Env& env, prov::ProvisioningService& dps,
                                       ProvisioningEndpoint endpoint)
    : env_(env), dps_(dps), endpoint_(std::move(endpoint)) {
    HUB_ASSERT(is_valid_id_scope(endpoint_.id_scope));
    HUB_ASSERT(!endpoint_.host_name.empty());
    HUB_ASSERT(!endpoint_.policy.primary_key.empty());
}

bool ProvisioningRoutes::owns(const Target& target) {
    const std::vector<std::string>& s = target.segments;
    if (s.empty() || iequals(s[0], "devices")) return false;
    if (iequals(s[0], "enrollments") || iequals(s[0], "enrollmentGroups")) return true;
    if (iequals(s[0], "registrations")) return s.size() == 2;
    return s.size() >= 3 && iequals(s[1], "registrations");
}

Response ProvisioningRoutes::handle(const Request& request, const Target& target) {
    HUB_ASSERT(owns(target));
    const bool device = target.segments.size() >= 3 && iequals(target.segments[1], "registrations");
    Response response = device ? device_call(request, target) : service_call(request, target);
    env_.trace("dps.request", std::string(request.method_string()) + " " +
                                  std::string(request.target()) + " " +
                                  std::to_string(response.status));
    return response;
}

Response ProvisioningRoutes::error(const Status& status) {
    HUB_ASSERT(!status.ok());
    const DpsError e = dps_error_of(status.code());
    return error(e.http_status, e.error_code, status.message());
}

Response ProvisioningRoutes::error(int http_status, int32_t error_code,
                                   const std::string& message) {
    HUB_ASSERT(http_status >= 400 && http_status <= 599);
    HUB_ASSERT(error_code / 1000 == http_status);
    const json body = {{"errorCode", error_code},
                       {"trackingId", env_.random().guid_text()},
                       {"message", message},
                       {"timestampUtc", format_utc_ms(env_.utc_now_ms())}};
    Response r = json_response(http_status, json_text(body));
    if (http_status == 429) {
        r.headers.emplace_back("retry-after", std::to_string(kDpsRetryAfterSeconds));
    }
    return r;
}

// ---- Device side.

Response ProvisioningRoutes::device_call(const Request& request, const Target& target) {
    const std::vector<std::string>& s = target.segments;
    if (s[0] != endpoint_.id_scope) {
        return error(Status(Code::not_found, "no provisioning service with id scope '" + s[0] +
                                                 "' (this one is " + endpoint_.id_scope + ")"));
    }
    if (s.size() == 4 && iequals(s[3], "register")) {
        if (request.method() != verb::put) {
            return error(405, 405001, "register wants PUT");
        }
        return register_device(request, s[2]);
    }
    if (s.size() == 5 && iequals(s[3], "operations")) {
        if (request.method() != verb::get) {
            return error(405, 405001, "an operation's status wants GET");
        }
        return operation_status(request, s[2], s[4]);
    }
    return error(
        Status(Code::not_found, "no such provisioning endpoint: " + std::string(request.target())));
}

Response ProvisioningRoutes::register_device(const Request& request,
                                             const std::string& registration_id) {
    Result<json> body = parse_body(request);
    if (!body.ok()) return error(body.status());
    if (Status s = check_body_id(*body, "registrationId", registration_id); !s.ok()) {
        return error(s);
    }
    const std::string payload = body->contains("payload") && !(*body)["payload"].is_null()
                                    ? json_text((*body)["payload"])
                                    : "";
    Result<prov::RegistrationOperation> op = dps_.register_device(
        registration_id, header(request, field::authorization), payload, env_.utc_now_ms());
    if (!op.ok()) return error(op.status());
    HUB_ASSERT(op->registration_id == registration_id);
    // 202 while the assignment runs (the device polls); a refusal (disabled) is final.
    Response r = json_response(op->finished() ? 200 : 202, json_text(op->to_json()));
    if (!op->finished()) {
        r.headers.emplace_back("retry-after", std::to_string(kDpsRetryAfterSeconds));
    }
    return r;
}

Response ProvisioningRoutes::operation_status(const Request& request,
                                              const std::string& registration_id,
                                              const std::string& operation_id) {
    Status allowed =
        authorize_registration(dps_, endpoint_.id_scope, registration_id,
                               header(request, field::authorization), env_.utc_now_ms() / 1000);
    if (!allowed.ok()) return error(allowed);
    Result<prov::RegistrationOperation> op = dps_.get_operation_status(operation_id);
    // Another registration's operation is as unknown to this device as a made-up one.
    if (!op.ok() || op->registration_id != registration_id) {
        return error(Status(Code::not_found, "no operation '" + operation_id +
                                                 "' for registration '" + registration_id + "'"));
    }
    Response r = json_response(200, json_text(op->to_json()));
    if (!op->finished()) {
        r.headers.emplace_back("retry-after", std::to_string(kDpsRetryAfterSeconds));
    }
    return r;
}

// ---- Service side.

Response ProvisioningRoutes::service_call(const Request& request, const Target& target) {
    Status allowed = authorize_provisioning_service(
        endpoint_, header(request, field::authorization), env_.utc_now_ms() / 1000);
    if (!allowed.ok()) return error(allowed);
    const std::vector<std::string>& s = target.segments;
    if (s.size() != 2 || s[1].empty()) {
        return error(Status(Code::not_found, "not supported by this provisioning service: " +
                                                 std::string(request.target())));
    }
    if (request.method() == verb::post && iequals(s[1], "query") &&
        (iequals(s[0], "enrollments") || iequals(s[0], "enrollmentGroups"))) {
        return query(request, iequals(s[0], "enrollments"));
    }
    if (iequals(s[0], "enrollments")) return enrollment_call(request, s[1]);
    if (iequals(s[0], "enrollmentGroups")) return group_call(request, s[1]);
    HUB_ASSERT(iequals(s[0], "registrations"));
    if (request.method() != verb::get) {
        return error(405, 405001, "registration states support GET only");
    }
    return registration_state(s[1]);
}

Response ProvisioningRoutes::enrollment_call(const Request& request, const std::string& id) {
    const std::string if_match = header(request, field::if_match);
    switch (request.method()) {
        case verb::get: {
            const prov::IndividualEnrollment* e = dps_.find_enrollment(id);
            if (e == nullptr) return error(Status(Code::not_found, "no enrollment '" + id + "'"));
            return json_response(200, json_text(prov::enrollment_to_json(*e)));
        }
        case verb::delete_: {
            Status s = dps_.remove_enrollment(id, if_match);
            return s.ok() ? Response{204, {}, {}} : error(s);
        }
        case verb::put: {
            Result<json> body = parse_body(request);
            if (!body.ok()) return error(body.status());
            if (Status s = check_body_id(*body, "registrationId", id); !s.ok()) return error(s);
            Result<prov::IndividualEnrollment> e = prov::enrollment_from_json(*body);
            if (!e.ok()) return error(e.status());
            // createOrUpdate: no If-Match creates, or replaces what is there; an If-Match
            // (the SDK sends the enrollment's etag) must match an existing one.
            Result<prov::IndividualEnrollment> done =
                dps_.find_enrollment(id) == nullptr && if_match.empty()
                    ? dps_.create_enrollment(std::move(*e))
                    : dps_.update_enrollment(std::move(*e), if_match.empty() ? "*" : if_match);
            if (!done.ok()) return error(done.status());
            return json_response(200, json_text(prov::enrollment_to_json(*done)));
        }
        default: return error(405, 405001, "enrollments support PUT, GET and DELETE");
    }
}

Response ProvisioningRoutes::group_call(const Request& request, const std::string& id) {
    const std::string if_match = header(request, field::if_match);
    switch (request.method()) {
        case verb::get: {
            const prov::EnrollmentGroup* g = dps_.find_group(id);
            if (g == nullptr) {
                return error(Status(Code::not_found, "no enrollment group '" + id + "'"));
            }
            return json_response(200, json_text(prov::group_to_json(*g)));
        }
        case verb::delete_: {
            Status s = dps_.remove_group(id, if_match);
            return s.ok() ? Response{204, {}, {}} : error(s);
        }
        case verb::put: {
            Result<json> body = parse_body(request);
            if (!body.ok()) return error(body.status());
            if (Status s = check_body_id(*body, "enrollmentGroupId", id); !s.ok()) return error(s);
            Result<prov::EnrollmentGroup> g = prov::group_from_json(*body);
            if (!g.ok()) return error(g.status());
            Result<prov::EnrollmentGroup> done =
                dps_.find_group(id) == nullptr && if_match.empty()
                    ? dps_.create_group(std::move(*g))
                    : dps_.update_group(std::move(*g), if_match.empty() ? "*" : if_match);
            if (!done.ok()) return error(done.status());
            return json_response(200, json_text(prov::group_to_json(*done)));
        }
        default: return error(405, 405001, "enrollment groups support PUT, GET and DELETE");
    }
}

Response ProvisioningRoutes::query(const Request& request, bool individual) {
    Result<json> body = parse_body(request);
    if (!body.ok()) return error(body.status());
    // Every query is "SELECT *": the text is accepted but not interpreted.
    if (!body->contains("query") || !(*body)["query"].is_string()) {
        return error(Status(Code::invalid_argument, "the body needs a query string"));
    }
    size_t page = kDpsQueryPageMax;
    if (const std::string n(request["x-ms-max-item-count"]); !n.empty()) {
        const bool digits = n.size() <= 9 && n.find_first_not_of("0123456789") == std::string::npos;
        if (!digits || std::stoul(n) == 0) {
            return error(Status(Code::invalid_argument, "x-ms-max-item-count must be 1 or more"));
        }
        page = std::min<size_t>(std::stoul(n), kDpsQueryPageMax);
    }
    // The continuation token is the last id of the previous page (ids never contain '"').
    const std::string after(request["x-ms-continuation"]);
    json items = json::array();
    std::string last;
    if (individual) {
        for (const prov::IndividualEnrollment* e : dps_.list_enrollments(after, page)) {
            items.push_back(prov::enrollment_to_json(*e));
            last = e->registration_id;
        }
    } else {
        for (const prov::EnrollmentGroup* g : dps_.list_groups(after, page)) {
            items.push_back(prov::group_to_json(*g));
            last = g->group_id;
        }
    }
    HUB_ASSERT(items.size() <= page);
    const bool more = items.size() == page && !(individual ? dps_.list_enrollments(last, 1).empty()
                                                           : dps_.list_groups(last, 1).empty());
    Response r = json_response(200, json_text(items));
    r.headers.emplace_back("x-ms-item-type", individual ? "enrollment" : "enrollmentGroup");
    if (more) r.headers.emplace_back("x-ms-continuation", last);
    return r;
}

Response ProvisioningRoutes::registration_state(const std::string& id) {
    const prov::DeviceLifecycle* d = dps_.lifecycle(id);
    if (d == nullptr) return error(Status(Code::not_found, "no registration '" + id + "'"));
    return json_response(200, json_text(registration_state_json(*d)));
}

}  // namespace hub::http
