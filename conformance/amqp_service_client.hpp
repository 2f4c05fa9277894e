// AmqpServiceClient: the service side of cloud-to-device messaging over AMQP, as azure-iothub's
// Client speaks it: no SASL layer, a CBS put-token for the hub host signed with a shared access
// policy, a sender link to `/messages/devicebound` (each message's `to` names the device and
// its `iothub-ack` application property asks for feedback), and optionally a receiver on
// `/messages/serviceBound/feedback` for the delivery receipts.
//
// By default one connection, no reconnects: a conformance case or benchmark wants to see a
// failure, not hide it. With `reconnect` set (the simulator's services), a lost connection
// (reset, hub crash, refused token) is retried with jittered exponential backoff like
// AmqpDeviceClient: sends the hub never settled go out again on the next connection, first in
// their original order (at-least-once: a resend may enqueue a message twice when only the
// `accepted` got lost), and the feedback receiver is attached again. A send the hub settles
// with another outcome (rejected, released) is reported through on_sent and not retried.
// Sans-IO over an Env (simulated or real); single-threaded; the Env must outlive it.
//
// Example:
//   AmqpServiceClient service(env, {.hub_address = "localhost:5671", .policy_key = key});
//   service.on_sent = [](const std::string& id, const hub::Status& s) { ... };
//   service.on_feedback = [](const std::string& json) { ... };
//   service.start();
//   service.send({.device_id = "d1", .message_id = "m1", .body = {'h', 'i'}, .ack = "full"});
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "conformance/reconnector.hpp"
#include "hub/env/env.hpp"

namespace conformance {

struct ServiceClientConfig {
    std::string hub_address = "localhost:5671";
    std::string host_name = "localhost";  // the token's audience (the hub host, raw)
    std::string policy_name = "service";  // needs the ServiceConnect permission
    std::string policy_key;               // base64
    hub::Duration token_ttl = hub::Duration::seconds(3600);
    bool receive_feedback = false;
    // Reconnect after a lost connection instead of failing (see the header comment).
    bool reconnect = false;
    hub::Duration backoff_min = hub::Duration::millis(100);
    hub::Duration backoff_max = hub::Duration::seconds(5);
};

struct C2dToSend {
    std::string device_id;
    std::string message_id;
    hub::Bytes body;
    std::string ack;  // "none", "positive", "negative" or "full"; empty: no iothub-ack
    // AMQP absolute-expiry-time (UTC ms); unset: the hub's default TTL. A resend keeps it.
    std::optional<int64_t> expiry_time_utc_ms = std::nullopt;
};

class ServiceConnection;

class AmqpServiceClient {
  public:
    AmqpServiceClient(hub::Env& env, ServiceClientConfig config);
    ~AmqpServiceClient();
    AmqpServiceClient(const AmqpServiceClient&) = delete;
    AmqpServiceClient& operator=(const AmqpServiceClient&) = delete;

    // Connects. Without `reconnect`, failures (connect, token refused, connection lost) go to
    // on_failed and the client stays down; with it, the client reconnects after a backoff.
    void start();
    // Stops reconnecting and drops the connection; unsettled sends go back to the queue.
    void stop();
    // Queues a message; it goes out once the sender link is up. on_sent reports the hub's
    // disposition: ok for accepted, an error naming the outcome otherwise.
    void send(C2dToSend message);

    std::function<void(const std::string& message_id, const hub::Status& outcome)> on_sent;
    // Each feedback batch's body (a JSON array of records), accepted after the call.
    std::function<void(const std::string& json)> on_feedback;
    std::function<void(const hub::Status& why)> on_failed;

    const ServiceClientConfig& config() const { return config_; }
    // Sends not yet settled by the hub (queued or in flight).
    size_t pending() const { return queue_.size() + in_flight_; }
    uint64_t connects() const { return connects_; }
    uint64_t connection_failures() const { return failures_; }

  private:
    friend class ServiceConnection;

    void connect();
    void fail(const hub::Status& why);
    // Called by the connection.
    bool next_outgoing(C2dToSend* out);
    void on_settled(const std::string& message_id, const hub::Status& outcome);

    hub::Env& env_;
    ServiceClientConfig config_;
    std::deque<C2dToSend> queue_;
    size_t in_flight_ = 0;
    std::unique_ptr<ServiceConnection> connection_;
    std::unique_ptr<ServiceConnection> finished_;  // destroyed later, not inside its callback
    bool failed_ = false;
    Reconnector link_;
    uint64_t connects_ = 0;
    uint64_t failures_ = 0;
};

}  // namespace conformance
