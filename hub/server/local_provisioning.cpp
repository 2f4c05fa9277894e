#include "hub/server/local_provisioning.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "hub/auth/sas.hpp"
#include "hub/core/json_text.hpp"
#include "hub/core/monitor.hpp"
#include "hub/http/routes.hpp"

namespace hub::server {

namespace {

constexpr const char* kPolicyTempFile = "provisioning-policy.json.tmp";
constexpr const char* kLocalRegion = "local";

bool is_policy_key(const nlohmann::json& j, const char* name) {
    if (!j.contains(name) || !j[name].is_string()) return false;
    Result<Bytes> key = auth::base64_decode(j[name].get<std::string>());
    return key.ok() && key->size() >= 16 && key->size() <= 64;
}

Result<http::ProvisioningPolicy> parse_policy(const Bytes& bytes) {
    const nlohmann::json j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
    if (!j.is_object() || !j.contains("name") || !j["name"].is_string() ||
        !is_policy_key(j, "primaryKey") || !is_policy_key(j, "secondaryKey")) {
        return Status(Code::corruption,
                      std::string(kProvisioningPolicyFile) + " is not a provisioning policy");
    }
    http::ProvisioningPolicy policy;
    policy.name = j["name"].get<std::string>();
    policy.primary_key = j["primaryKey"].get<std::string>();
    policy.secondary_key = j["secondaryKey"].get<std::string>();
    return policy;
}

// Write, sync, rename: a crash leaves the old file or the whole new one.
Status write_policy(Env& env, const http::ProvisioningPolicy& policy) {
    const std::string text = json_text(nlohmann::json{{"name", policy.name},
                                                      {"primaryKey", policy.primary_key},
                                                      {"secondaryKey", policy.secondary_key}});
    Disk& disk = env.disk();
    (void)disk.remove(kPolicyTempFile);  // a leftover from a crash; missing is fine
    Status s = disk.append(kPolicyTempFile,
                           ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    if (s.ok()) s = disk.sync(kPolicyTempFile);
    if (s.ok()) s = disk.rename(kPolicyTempFile, kProvisioningPolicyFile);
    return s;
}

}  // namespace

Result<http::ProvisioningPolicy> load_or_create_provisioning_policy(Env& env) {
    Result<Bytes> existing = env.disk().read(kProvisioningPolicyFile);
    if (existing.ok()) return parse_policy(*existing);
    if (existing.status().code() != Code::not_found) return existing.status();
    http::ProvisioningPolicy policy;
    policy.primary_key = generate_device_key(env.random());
    policy.secondary_key = generate_device_key(env.random());
    HUB_ASSERT(auth::base64_decode(policy.primary_key)->size() == kPolicyKeyBytes);
    Status s = write_policy(env, policy);
    if (!s.ok()) return s;
    env.trace("provisioning.policy", "created " + policy.name);
    return policy;
}

ActivityFeed::ActivityFeed(D2cLog& log, Filter wanted, Report report)
    : log_(log), wanted_(std::move(wanted)), report_(std::move(report)) {
    next_sequence_.resize(log_.partition_count(), 0);
    for (uint32_t p = 0; p < log_.partition_count(); ++p) {
        next_sequence_[p] = log_.end_sequence_number(p);
    }
    listener_ = log_.add_commit_listener([this] { on_commit(); });
}

ActivityFeed::~ActivityFeed() {
    log_.remove_commit_listener(listener_);
}

void ActivityFeed::on_commit() {
    for (uint32_t p = 0; p < log_.partition_count(); ++p) {
        // Retention may have dropped events we never saw: start at the oldest one kept.
        uint64_t seq = std::max(next_sequence_[p], log_.first_sequence_number(p));
        for (; seq < log_.end_sequence_number(p); ++seq) {
            const StoredEvent* e = log_.event_at(p, seq);
            HUB_ASSERT(e != nullptr);
            if (wanted_(*e)) report_(e->message.device_id);
        }
        next_sequence_[p] = seq;
    }
}

Registry* LocalHubDirectory::registry_for(std::string_view hub_name) {
    return http::iequals(hub_name, hub_.config().host_name) ? &hub_.registry() : nullptr;
}

Result<std::unique_ptr<LocalProvisioning>> LocalProvisioning::open(Env& env, Hub& hub,
                                                                   std::string id_scope) {
    HUB_ASSERT(http::is_valid_id_scope(id_scope));
    Result<http::ProvisioningPolicy> policy = load_or_create_provisioning_policy(env);
    if (!policy.ok()) return policy.status();
    std::unique_ptr<LocalProvisioning> local(new LocalProvisioning(hub));
    provisioning::ProvisioningConfig config;
    config.id_scope = id_scope;
    Result<std::unique_ptr<provisioning::ProvisioningService>> service =
        provisioning::ProvisioningService::open(env, local->directory_, std::move(config));
    if (!service.ok()) return service.status();
    local->service_ = std::move(*service);
    if (Status s = local->link_only(hub); !s.ok()) return s;
    // Deprovisioning deletes the identity; its C2D queue goes as with a deleted device.
    local->service_->set_on_deprovisioned([&hub](std::string_view, std::string_view device_id) {
        hub.c2d().purge(std::string(device_id), [](Status) {});
    });
    local->watch_activity(hub);
    local->endpoint_.id_scope = std::move(id_scope);
    local->endpoint_.host_name = hub.config().host_name;
    local->endpoint_.policy = std::move(*policy);
    return local;
}

void LocalProvisioning::watch_activity(Hub& hub) {
    // Not-provisioned-here and already-activated devices are no error for the feed.
    const auto report = [this, name = hub.config().host_name](std::string_view device_id) {
        Status s = service_->report_activity(name, device_id);
        (void)s;
    };
    connects_ = std::make_unique<ActivityFeed>(
        hub.monitor_stream(),
        [](const StoredEvent& e) {
            for (const auto& [key, value] : e.message.properties) {
                if (key == "eventType") return value == kDeviceConnected;
            }
            return false;
        },
        report);
    telemetry_ = std::make_unique<ActivityFeed>(
        hub.d2c(), [](const StoredEvent&) { return true; }, report);
}

// Links the local hub (once: linking writes a record) and unlinks every other name.
Status LocalProvisioning::link_only(Hub& hub) {
    const std::string& name = hub.config().host_name;
    std::vector<std::string> stale;
    for (const auto& [linked, info] : service_->linked_hubs()) {
        if (linked != name) stale.push_back(linked);
    }
    for (const std::string& old : stale) {
        if (Status s = service_->unlink_hub(old); !s.ok()) return s;
    }
    if (service_->linked_hubs().contains(name)) return Status();
    Result<provisioning::LinkedHub> linked = service_->link_hub({name, kLocalRegion, 1});
    return linked.ok() ? Status() : linked.status();
}

}  // namespace hub::server
