#include "hub/core/provisioning/registration.hpp"

#include "hub/core/provisioning/enrollment.hpp"
#include "hub/core/provisioning/json_fields.hpp"
#include "hub/core/time_format.hpp"

namespace hub::provisioning {

namespace {

using nlohmann::json;

constexpr const char* kStatusNames[] = {"unassigned", "assigning", "assigned", "failed",
                                        "disabled"};
constexpr const char* kSubstatusNames[] = {"initialAssignment", "deviceDataMigrated",
                                           "deviceDataReset", "reprovisionedToInitialAssignment"};

Status corrupt(const std::string& what) { return Status(Code::invalid_argument, what); }

template <typename Enum, size_t N>
std::optional<Enum> enum_from_name(const char* const (&names)[N], std::string_view name) {
    for (size_t i = 0; i < N; ++i) {
        if (name == names[i]) return static_cast<Enum>(i);
    }
    return std::nullopt;
}

Status read_state(const json& j, const char* name, LifecycleState& out) {
    std::string text;
    Status s = json_fields::read(j, name, text);
    if (!s.ok()) return s;
    std::optional<LifecycleState> state = lifecycle_state_from_name(text);
    if (!state) return corrupt(std::string(name) + ": unknown lifecycle state '" + text + "'");
    out = *state;
    return Status();
}

Status read_substatus(const json& j, Substatus& out) {
    std::string text = substatus_name(out);
    Status s = json_fields::read(j, "substatus", text);
    if (!s.ok()) return s;
    std::optional<Substatus> sub = substatus_from_name(text);
    if (!sub) return corrupt("unknown substatus '" + text + "'");
    out = *sub;
    return Status();
}

json registration_state_json(const RegistrationOperation& op) {
    json state = {{"registrationId", op.registration_id},
                  {"status", registration_status_name(op.status)}};
    if (op.status == RegistrationStatus::assigned) {
        state["createdDateTimeUtc"] = format_utc_ms(op.registration_created_ms);
        state["assignedHub"] = op.assigned_hub;
        state["deviceId"] = op.device_id;
        state["substatus"] = substatus_name(op.substatus);
        state["etag"] = op.etag;
    }
    if (op.error_code != 0) state["errorCode"] = op.error_code;
    if (!op.error_message.empty()) state["errorMessage"] = op.error_message;
    state["lastUpdatedDateTimeUtc"] = format_utc_ms(op.updated_ms);
    if (!op.payload.empty()) {
        // Our extension point: the device's payload comes back as it was sent.
        state["payload"] = json::parse(op.payload, nullptr, false);
    }
    return state;
}

}  // namespace

const char* registration_status_name(RegistrationStatus status) {
    const auto i = static_cast<size_t>(status);
    HUB_ASSERT(i < std::size(kStatusNames));
    return kStatusNames[i];
}

std::optional<RegistrationStatus> registration_status_from_name(std::string_view name) {
    return enum_from_name<RegistrationStatus>(kStatusNames, name);
}

const char* substatus_name(Substatus substatus) {
    const auto i = static_cast<size_t>(substatus);
    HUB_ASSERT(i < std::size(kSubstatusNames));
    return kSubstatusNames[i];
}

std::optional<Substatus> substatus_from_name(std::string_view name) {
    return enum_from_name<Substatus>(kSubstatusNames, name);
}

std::string DeviceLifecycle::etag() const { return version_etag(version); }

json RegistrationOperation::to_json() const {
    json j = {{"operationId", operation_id}, {"status", registration_status_name(status)}};
    // While assigning, DPS answers {operationId, status} and the device polls again.
    if (finished()) j["registrationState"] = registration_state_json(*this);
    return j;
}

json transition_record_json(const LifecycleTransition& t) {
    json j = {{"atMs", t.at_ms},
              {"to", lifecycle_state_name(t.to)},
              {"event", lifecycle_event_name(t.event)},
              {"reason", t.reason}};
    if (t.from) j["from"] = lifecycle_state_name(*t.from);
    return j;
}

Result<LifecycleTransition> transition_from_record(const json& j) {
    LifecycleTransition t;
    Status s = json_fields::read(j, "atMs", t.at_ms);
    if (s.ok()) s = read_state(j, "to", t.to);
    if (s.ok() && !json_fields::absent(j, "from")) {
        LifecycleState from = LifecycleState::provisioned;
        s = read_state(j, "from", from);
        t.from = from;
    }
    std::string event;
    if (s.ok()) s = json_fields::read(j, "event", event);
    if (s.ok()) s = json_fields::read(j, "reason", t.reason);
    if (!s.ok()) return s;
    std::optional<LifecycleEvent> e = lifecycle_event_from_name(event);
    if (!e) return corrupt("unknown lifecycle event '" + event + "'");
    t.event = *e;
    return t;
}

json lifecycle_record_json(const DeviceLifecycle& d) {
    return json{{"registrationId", d.registration_id},
                {"deviceId", d.device_id},
                {"groupId", d.group_id},
                {"state", lifecycle_state_name(d.state)},
                {"assignedHub", d.assigned_hub},
                {"initialHub", d.initial_hub},
                {"substatus", substatus_name(d.substatus)},
                {"reason", d.reason},
                {"createdMs", d.created_ms},
                {"updatedMs", d.updated_ms},
                {"version", d.version}};
}

Result<DeviceLifecycle> lifecycle_from_record(const json& j) {
    if (!j.is_object()) return corrupt("a device record is not an object");
    DeviceLifecycle d;
    Status s = json_fields::read(j, "registrationId", d.registration_id);
    if (s.ok()) s = json_fields::read(j, "deviceId", d.device_id);
    if (s.ok()) s = json_fields::read(j, "groupId", d.group_id);
    if (s.ok()) s = read_state(j, "state", d.state);
    if (s.ok()) s = json_fields::read(j, "assignedHub", d.assigned_hub);
    if (s.ok()) s = json_fields::read(j, "initialHub", d.initial_hub);
    if (s.ok()) s = read_substatus(j, d.substatus);
    if (s.ok()) s = json_fields::read(j, "reason", d.reason);
    if (s.ok()) s = json_fields::read(j, "createdMs", d.created_ms);
    if (s.ok()) s = json_fields::read(j, "updatedMs", d.updated_ms);
    if (s.ok()) s = json_fields::read(j, "version", d.version);
    if (!s.ok()) return s;
    if (!is_valid_registration_id(d.registration_id)) return corrupt("bad registrationId");
    return d;
}

json operation_record_json(const RegistrationOperation& op) {
    return json{{"operationId", op.operation_id},
                {"sequence", op.sequence},
                {"registrationId", op.registration_id},
                {"status", registration_status_name(op.status)},
                {"payload", op.payload},
                {"createdMs", op.created_ms},
                {"updatedMs", op.updated_ms},
                {"assignedHub", op.assigned_hub},
                {"deviceId", op.device_id},
                {"substatus", substatus_name(op.substatus)},
                {"etag", op.etag},
                {"registrationCreatedMs", op.registration_created_ms},
                {"errorCode", op.error_code},
                {"errorMessage", op.error_message}};
}

Result<RegistrationOperation> operation_from_record(const json& j) {
    if (!j.is_object()) return corrupt("an operation record is not an object");
    RegistrationOperation op;
    std::string status;
    Status s = json_fields::read(j, "operationId", op.operation_id);
    if (s.ok()) s = json_fields::read(j, "sequence", op.sequence);
    if (s.ok()) s = json_fields::read(j, "registrationId", op.registration_id);
    if (s.ok()) s = json_fields::read(j, "status", status);
    if (s.ok()) s = json_fields::read(j, "payload", op.payload);
    if (s.ok()) s = json_fields::read(j, "createdMs", op.created_ms);
    if (s.ok()) s = json_fields::read(j, "updatedMs", op.updated_ms);
    if (s.ok()) s = json_fields::read(j, "assignedHub", op.assigned_hub);
    if (s.ok()) s = json_fields::read(j, "deviceId", op.device_id);
    if (s.ok()) s = read_substatus(j, op.substatus);
    if (s.ok()) s = json_fields::read(j, "etag", op.etag);
    if (s.ok()) s = json_fields::read(j, "registrationCreatedMs", op.registration_created_ms);
    if (s.ok()) s = json_fields::read(j, "errorCode", op.error_code);
    if (s.ok()) s = json_fields::read(j, "errorMessage", op.error_message);
    if (!s.ok()) return s;
    std::optional<RegistrationStatus> parsed = registration_status_from_name(status);
    if (!parsed || op.operation_id.empty()) return corrupt("bad operation status or id");
    op.status = *parsed;
    return op;
}

}  // namespace hub::provisioning
