// AmqpDeviceClient: a device that sends D2C messages over AMQP until the hub accepts each one.
//
// It speaks what the official Azure device SDKs speak: an AMQP connection without SASL, a CBS
// put-token on `$cbs` with a SAS token for "{host}/devices/{id}", then a sender link to
// `/devices/{id}/messages/events`. Messages are sent unsettled; a message counts as
// acknowledged when the hub settles it `accepted`. Anything else (rejection, a reset, a hub
// crash) puts it back in the queue, and the client reconnects with jittered exponential
// backoff: at-least-once delivery from the device's side. With `on_c2d` set, the client also
// receives cloud-to-device messages and settles each as the callback says.
//
// Sans-IO over an Env (simulated or real). Single-threaded. The Env must outlive the client.
//
// Example:
//   AmqpDeviceClient client(env, {.hub_address = "hub:5671", .device_id = "d1", .key = key});
//   client.on_acknowledged = [](const std::string& id) { ... };
//   client.send("m1", body);
//   client.start();
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "conformance/reconnector.hpp"
#include "hub/env/env.hpp"

namespace conformance {

using hub::Bytes;
using hub::Duration;

struct DeviceClientConfig {
    std::string hub_address = "localhost:5671";
    std::string host_name = "localhost";  // the audience host in the SAS token
    std::string device_id;
    std::string key;  // base64 device key
    Duration token_ttl = Duration::seconds(3600);
    Duration backoff_min = Duration::millis(100);
    Duration backoff_max = Duration::seconds(5);
    // Unsettled messages at once: bounds what one connection loss puts back in the queue.
    uint32_t in_flight_max = 16;
};

// How a device settles a cloud-to-device message (AMQP accepted / rejected / released).
enum class C2dOutcome { complete, reject, abandon };

struct ReceivedC2d {
    std::string message_id;
    Bytes body;
};

class ClientConnection;

class AmqpDeviceClient {
  public:
    AmqpDeviceClient(hub::Env& env, DeviceClientConfig config);
    ~AmqpDeviceClient();
    AmqpDeviceClient(const AmqpDeviceClient&) = delete;
    AmqpDeviceClient& operator=(const AmqpDeviceClient&) = delete;

    // Queues a message; it is (re)sent until accepted. Message ids must be unique.
    void send(std::string message_id, Bytes body);
    // Connects (and keeps reconnecting while messages are pending).
    void start();
    // Stops reconnecting and drops the connection.
    void stop();

    // Called once per message id, the first time the hub accepts it.
    std::function<void(const std::string& message_id)> on_acknowledged;
    // Set before start() to also receive cloud-to-device messages on
    // /devices/{id}/messages/devicebound; the returned outcome settles each one.
    std::function<C2dOutcome(const ReceivedC2d&)> on_c2d;

    size_t pending() const { return queue_.size() + in_flight_; }
    uint64_t connects() const { return connects_; }
    uint64_t connection_failures() const { return failures_; }
    // Put-token requests the hub answered with a status other than 200.
    uint64_t token_refusals() const { return token_refusals_; }
    const DeviceClientConfig& config() const { return config_; }

  private:
    friend class ClientConnection;
    struct Outgoing {
        std::string message_id;
        Bytes body;
    };

    void connect();
    void on_connection_lost(const hub::Status& status);
    void schedule_reconnect();
    // Called by the connection.
    bool next_outgoing(Outgoing* out);
    void on_accepted(const std::string& message_id);
    void on_returned(Outgoing message);

    hub::Env& env_;
    DeviceClientConfig config_;
    std::deque<Outgoing> queue_;
    size_t in_flight_ = 0;
    std::set<std::string> acknowledged_;
    std::unique_ptr<ClientConnection> connection_;
    Reconnector link_;
    uint64_t connects_ = 0;
    uint64_t failures_ = 0;
    uint64_t token_refusals_ = 0;
};

}  // namespace conformance
