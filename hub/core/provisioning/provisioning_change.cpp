#include "hub/core/provisioning/provisioning_change.hpp"
#include "hub/core/json_text.hpp"

#include "hub/core/provisioning/json_fields.hpp"

namespace hub::provisioning {

namespace {

using nlohmann::json;

constexpr const char* kLogName = "provisioning.log";

Status corrupt(const std::string& what) {
    return Status(Code::corruption, std::string(kLogName) + ": " + what);
}

json hub_json(const LinkedHub& hub) {
    return json{
        {"name", hub.name}, {"region", hub.region}, {"allocationWeight", hub.allocation_weight}};
}

Result<LinkedHub> hub_from_json(const json& j) {
    LinkedHub hub;
    uint64_t weight = 0;
    Status s = json_fields::read(j, "name", hub.name);
    if (s.ok()) s = json_fields::read(j, "region", hub.region);
    if (s.ok()) s = json_fields::read(j, "allocationWeight", weight);
    if (!s.ok()) return s;
    if (weight > kAllocationWeightMax) return Status(Code::invalid_argument, "allocationWeight");
    hub.allocation_weight = static_cast<uint32_t>(weight);
    s = validate_linked_hub(hub);
    if (!s.ok()) return s;
    return hub;
}

Status read_name(const json& j, const char* key, std::optional<std::string>& out) {
    if (json_fields::absent(j, key)) return Status();
    std::string name;
    Status s = json_fields::read(j, key, name);
    if (!s.ok()) return s;
    out = std::move(name);
    return Status();
}

Status decode_configuration(const json& j, Change& c) {
    if (!json_fields::absent(j, "hub")) {
        Result<LinkedHub> hub = hub_from_json(j["hub"]);
        if (!hub.ok()) return hub.status();
        c.hub = std::move(*hub);
    }
    if (!json_fields::absent(j, "enrollment")) {
        Result<IndividualEnrollment> e = enrollment_from_json(j["enrollment"]);
        if (!e.ok()) return e.status();
        c.enrollment = std::move(*e);
    }
    if (!json_fields::absent(j, "group")) {
        Result<EnrollmentGroup> g = group_from_json(j["group"]);
        if (!g.ok()) return g.status();
        c.group = std::move(*g);
    }
    Status s = read_name(j, "hubRemoved", c.hub_removed);
    if (s.ok()) s = read_name(j, "enrollmentRemoved", c.enrollment_removed);
    if (s.ok()) s = read_name(j, "groupRemoved", c.group_removed);
    return s;
}

Status decode_registration(const json& j, Change& c) {
    if (!json_fields::absent(j, "device")) {
        Result<DeviceLifecycle> d = lifecycle_from_record(j["device"]);
        if (!d.ok()) return d.status();
        c.device = std::move(*d);
    }
    if (!json_fields::absent(j, "transition")) {
        Result<LifecycleTransition> t = transition_from_record(j["transition"]);
        if (!t.ok()) return t.status();
        c.transition = std::move(*t);
    }
    if (!json_fields::absent(j, "operation")) {
        Result<RegistrationOperation> op = operation_from_record(j["operation"]);
        if (!op.ok()) return op.status();
        c.operation = std::move(*op);
    }
    return Status();
}

}  // namespace

std::string encode_change(const Change& c) {
    HUB_ASSERT(!c.transition || c.device);
    json j = json::object();
    if (c.hub) j["hub"] = hub_json(*c.hub);
    if (c.hub_removed) j["hubRemoved"] = *c.hub_removed;
    if (c.enrollment) {
        j["enrollment"] = enrollment_to_json(*c.enrollment);
        j["enrollment"]["version"] = c.enrollment->version;
    }
    if (c.enrollment_removed) j["enrollmentRemoved"] = *c.enrollment_removed;
    if (c.group) {
        j["group"] = group_to_json(*c.group);
        j["group"]["version"] = c.group->version;
    }
    if (c.group_removed) j["groupRemoved"] = *c.group_removed;
    if (c.device) j["device"] = lifecycle_record_json(*c.device);
    if (c.transition) j["transition"] = transition_record_json(*c.transition);
    if (c.operation) j["operation"] = operation_record_json(*c.operation);
    HUB_ASSERT(!j.empty());
    return json_text(j);
}

Result<Change> decode_change(const Bytes& record) {
    const json j = json::parse(record.begin(), record.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.empty()) {
        return corrupt("a record is not a non-empty JSON object");
    }
    Change c;
    Status s = decode_configuration(j, c);
    if (s.ok()) s = decode_registration(j, c);
    if (!s.ok()) return corrupt(s.message());
    if (c.transition && !c.device) return corrupt("a transition without its device");
    return c;
}

}  // namespace hub::provisioning
