#include "hub/core/hub.hpp"

namespace hub {

namespace {

Status ensure_device(Registry& registry, const DeviceSpec& spec) {
    const Device* existing = registry.find(spec.id);
    if (existing == nullptr) {
        Device device;
        device.id = spec.id;
        device.primary_key = spec.primary_key;
        if (!spec.primary_key.empty()) {
            device.secondary_key = spec.primary_key;
        }
        return registry.create(std::move(device)).status();
    }
    if (spec.primary_key.empty() || existing->primary_key == spec.primary_key) {
        return Status();
    }
    Device updated = *existing;
    updated.primary_key = spec.primary_key;
    return registry.update(std::move(updated), "*").status();
}

}  // namespace

Result<std::unique_ptr<Hub>> Hub::open(Env& env, HubConfig config) {
    std::unique_ptr<Hub> hub(new Hub(env, std::move(config)));
    Result<std::unique_ptr<Registry>> registry = Registry::open(env);
    if (!registry.ok()) {
        return registry.status();
    }
    hub->registry_ = std::move(*registry);
    for (const PolicyKeySpec& spec : hub->config_.policy_keys) {
        Status s = hub->registry_->set_policy_keys(spec.name, spec.primary_key, "");
        if (!s.ok()) {
            return s;
        }
    }
    for (const DeviceSpec& spec : hub->config_.devices) {
        Status s = ensure_device(*hub->registry_, spec);
        if (!s.ok()) {
            return s;
        }
    }
    Result<std::unique_ptr<D2cLog>> d2c = D2cLog::open(env, hub->config_.d2c);
    if (!d2c.ok()) {
        return d2c.status();
    }
    hub->d2c_ = std::move(*d2c);
    Result<std::unique_ptr<D2cLog>> monitor = D2cLog::open(env, hub->config_.monitor);
    if (!monitor.ok()) {
        return monitor.status();
    }
    hub->monitor_stream_ = std::move(*monitor);
    hub->monitor_ = std::make_unique<Monitor>(env, hub->config_.host_name, *hub->monitor_stream_);
    hub->config_.c2d.feedback.user_id = hub->config_.host_name;
    Result<std::unique_ptr<C2dQueues>> c2d = C2dQueues::open(env, hub->config_.c2d);
    if (!c2d.ok()) {
        return c2d.status();
    }
    hub->c2d_ = std::move(*c2d);
    return hub;
}

Status Hub::remove_device(std::string_view id, std::string_view if_match) {
    Status s = registry_->remove(id, if_match);
    if (!s.ok()) {
        return s;
    }
    // The identity is gone durably; the purge follows in the next group commit. A crash in
    // between leaves a queue for a deleted device, which no one can receive from.
    c2d_->purge(std::string(id), [](Status) {});
    return Status();
}

}  // namespace hub
