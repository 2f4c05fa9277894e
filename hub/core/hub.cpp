#include "hub/core/hub.hpp"

namespace hub {

Result<std::unique_ptr<Hub>> Hub::open(Env& env, HubConfig config) {
    std::unique_ptr<Hub> hub(new Hub(env, std::move(config)));
    for (const DeviceSpec& spec : hub->config_.devices) {
        Device device;
        device.id = spec.id;
        device.primary_key =
            spec.primary_key.empty() ? generate_device_key(env.random()) : spec.primary_key;
        Status s = hub->registry_.add(std::move(device));
        if (!s.ok()) {
            return s;
        }
    }
    Result<std::unique_ptr<D2cLog>> d2c = D2cLog::open(env, hub->config_.d2c);
    if (!d2c.ok()) {
        return d2c.status();
    }
    hub->d2c_ = std::move(*d2c);
    return hub;
}

}  // namespace hub
