// The Device Provisioning Service over AMQP (reference §5; azure-iot-provisioning-device-amqp):
// after a SASL PLAIN login "{idScope}/registrations/{registrationId}" with the registration's
// SAS token, the device attaches a sender and a receiver on that same address. Each request
// carries a correlation id and application properties:
//   iotdps-operation-type: iotdps-register (+ iotdps-forceRegistration; body {registrationId,
//                          payload?} as JSON)
//                          iotdps-get-operationstatus (+ iotdps-operation-id)
// and the answer comes back on the receiver with the same correlation id, the operation as JSON
// in a data section (the HTTPS shapes) and, while it is still assigning, `retry-after` in
// seconds. A refused request is rejected with the condition the SDK maps (amqp_errors.hpp).
#include <nlohmann/json.hpp>

#include <proton/binary.hpp>
#include <proton/message_id.hpp>
#include <proton/scalar.hpp>

#include "hub/amqp/amqp_errors.hpp"
#include "hub/amqp/hub_connection.hpp"
#include "hub/core/json_text.hpp"
#include "hub/core/provisioning/provisioning_service.hpp"

namespace hub::amqp {
namespace {

// Seconds a device waits before polling an assigning operation (as over HTTPS: our
// assignments finish on the next timer tick).
constexpr int32_t kDpsRetryAfterSeconds = 1;

std::string body_text(const proton::message& m) {
    if (m.body().type() == proton::BINARY) {
        const proton::binary b = proton::get<proton::binary>(m.body());
        return std::string(b.begin(), b.end());
    }
    return m.body().type() == proton::STRING ? proton::get<std::string>(m.body()) : "";
}

// The register body's `payload` as JSON text ("" when absent). Errors: invalid_argument.
Result<std::string> register_payload(const proton::message& m) {
    const std::string text = body_text(m);
    if (text.empty()) return std::string();
    const nlohmann::json body = nlohmann::json::parse(text, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
        return Status(Code::invalid_argument, "the register body is not a JSON object");
    }
    const auto payload = body.find("payload");
    return payload == body.end() || payload->is_null() ? std::string() : json_text(*payload);
}

}  // namespace

std::string HubConnection::dps_registration_of(const std::string& address) const {
    if (dps_ == nullptr) return {};
    const std::string prefix = dps_->id_scope() + "/registrations/";
    const size_t start = address.starts_with('/') ? 1 : 0;  // tolerate a leading '/'
    if (address.compare(start, prefix.size(), prefix) != 0) return {};
    const std::string id = address.substr(start + prefix.size());
    return id.find('/') == std::string::npos ? id : std::string();
}

// Only the registration this connection logged in as, with a token its enrollment signed.
bool HubConnection::dps_link_allowed(proton::link& link, const std::string& registration_id) {
    Status why;
    if (!dps_login_ || dps_login_->id_scope != dps_->id_scope() ||
        dps_login_->registration_id != registration_id) {
        why = Status(Code::unauthorized, "log in with SASL PLAIN as " + dps_->id_scope() +
                                             "/registrations/" + registration_id);
    } else {
        why = dps_->check_registration_token(registration_id, dps_login_->token,
                                             env_.utc_now_ms());
    }
    if (why.ok()) return true;
    trace("amqp.attach.refused", "dps " + registration_id + " " + why.message());
    link.close(proton::error_condition(kUnauthorizedAccess, why.message()));
    return false;
}

void HubConnection::handle_dps_request(proton::delivery& d, proton::message& m,
                                       const std::string& registration_id) {
    const std::string type = string_property(m, "iotdps-operation-type");
    Result<provisioning::RegistrationOperation> op =
        Status(Code::invalid_argument, "unknown iotdps-operation-type '" + type + "'");
    if (type == "iotdps-register") {
        Result<std::string> payload = register_payload(m);
        op = payload.ok() ? dps_->register_device(registration_id, dps_login_->token, *payload,
                                                  env_.utc_now_ms())
                          : Result<provisioning::RegistrationOperation>(payload.status());
    } else if (type == "iotdps-get-operationstatus") {
        op = dps_->get_operation_status(string_property(m, "iotdps-operation-id"));
        if (op.ok() && op->registration_id != registration_id) {
            op = Status(Code::not_found, "no such operation for " + registration_id);
        }
    }
    trace("dps." + type, registration_id + " " + (op.ok() ? op->operation_id : op.status().to_string()));
    if (!op.ok()) {
        reject_delivery(d, error_for(op.status()));
        return;
    }
    d.accept();
    proton::message reply;
    reply.correlation_id(m.correlation_id());
    const std::string json = json_text(op->to_json());
    reply.body(proton::binary(json.begin(), json.end()));
    reply.inferred(true);  // a data section: the SDK parses body.content
    if (!op->finished()) {
        reply.properties().put("retry-after", kDpsRetryAfterSeconds);
    }
    dps_reply_.send(std::move(reply));
}

}  // namespace hub::amqp
