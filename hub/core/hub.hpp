// Hub: the domain of one IoT hub (registry + D2C log), single-threaded and sans-IO.
//
// A Hub is built by Hub::open() over an Env: it recovers its durable state from env.disk()
// and then serves the front doors (hub/amqp). It owns no sockets and reads no clock except
// through the Env. The Env must outlive the Hub.
//
// Example:
//   HubConfig config;
//   config.devices.push_back({"dev1", primary_key});
//   Result<std::unique_ptr<Hub>> hub = Hub::open(env, config);
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hub/core/c2d_queue.hpp"
#include "hub/core/d2c_log.hpp"
#include "hub/core/monitor.hpp"
#include "hub/core/registry.hpp"
#include "hub/env/env.hpp"

namespace hub {

// A device the configuration asks for. Created if the registry lacks it; an existing device
// keeps its identity, and gets this primary key if one is given and differs.
struct DeviceSpec {
    std::string id;
    std::string primary_key;  // base64; empty means "generate one" (on creation only)
};

// A shared access policy (iothubowner, service, ...) whose primary key is fixed by the
// deployment rather than generated.
struct PolicyKeySpec {
    std::string name;
    std::string primary_key;  // base64
};

struct HubConfig {
    // The host name devices put in their SAS token audience ("{host}/devices/{id}").
    std::string host_name = "localhost";
    D2cLogConfig d2c;
    // The connection-monitoring stream (same log machinery, its own files).
    D2cLogConfig monitor = [] {
        D2cLogConfig c;
        c.file_prefix = "monitor";
        return c;
    }();
    std::vector<DeviceSpec> devices;
    std::vector<PolicyKeySpec> policy_keys;
    // Cloud-to-device queues and feedback (reference §3 defaults).
    C2dConfig c2d;
};

class Hub {
  public:
    static Result<std::unique_ptr<Hub>> open(Env& env, HubConfig config);

    Hub(const Hub&) = delete;
    Hub& operator=(const Hub&) = delete;

    Env& env() { return env_; }
    const HubConfig& config() const { return config_; }
    Registry& registry() { return *registry_; }
    D2cLog& d2c() { return *d2c_; }
    D2cLog& monitor_stream() { return *monitor_stream_; }
    Monitor& monitor() { return *monitor_; }
    C2dQueues& c2d() { return *c2d_; }

    // Deletes a device identity (durable when this returns) and purges its C2D queue
    // (feedback Purged where acks were requested). Errors: as Registry::remove.
    Status remove_device(std::string_view id, std::string_view if_match);
    // When this process opened the hub (UTC ms): the Event Hub's created_at.
    int64_t opened_ms() const { return opened_ms_; }

  private:
    Hub(Env& env, HubConfig config)
        : env_(env), config_(std::move(config)), opened_ms_(env.utc_now_ms()) {}

    Env& env_;
    HubConfig config_;
    std::unique_ptr<Registry> registry_;
    std::unique_ptr<D2cLog> d2c_;
    std::unique_ptr<D2cLog> monitor_stream_;
    std::unique_ptr<Monitor> monitor_;
    std::unique_ptr<C2dQueues> c2d_;
    int64_t opened_ms_ = 0;
};

}  // namespace hub
