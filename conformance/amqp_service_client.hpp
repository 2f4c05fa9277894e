// AmqpServiceClient: the service side of cloud-to-device messaging over AMQP, as azure-iothub's
// Client speaks it: no SASL layer, a CBS put-token for the hub host signed with a shared access
// policy, a sender link to `/messages/devicebound` (each message's `to` names the device and
// its `iothub-ack` application property asks for feedback), and optionally a receiver on
// `/messages/serviceBound/feedback` for the delivery receipts.
//
// One connection, no reconnects: a conformance case or benchmark wants to see a failure, not
// hide it. Sans-IO over an Env (simulated or real); single-threaded; the Env must outlive it.
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
#include <string>

#include "hub/env/env.hpp"

namespace conformance {

struct ServiceClientConfig {
    std::string hub_address = "localhost:5671";
    std::string host_name = "localhost";  // the token's audience (the hub host, raw)
    std::string policy_name = "service";  // needs the ServiceConnect permission
    std::string policy_key;               // base64
    hub::Duration token_ttl = hub::Duration::seconds(3600);
    bool receive_feedback = false;
};

struct C2dToSend {
    std::string device_id;
    std::string message_id;
    hub::Bytes body;
    std::string ack;  // "none", "positive", "negative" or "full"; empty: no iothub-ack
};

class ServiceConnection;

class AmqpServiceClient {
  public:
    AmqpServiceClient(hub::Env& env, ServiceClientConfig config);
    ~AmqpServiceClient();
    AmqpServiceClient(const AmqpServiceClient&) = delete;
    AmqpServiceClient& operator=(const AmqpServiceClient&) = delete;

    // Connects once. Failures (connect, token refused, connection lost) go to on_failed.
    void start();
    void stop();
    // Queues a message; it goes out once the sender link is up. on_sent reports the hub's
    // disposition: ok for accepted, an error naming the outcome otherwise.
    void send(C2dToSend message);

    std::function<void(const std::string& message_id, const hub::Status& outcome)> on_sent;
    // Each feedback batch's body (a JSON array of records), accepted after the call.
    std::function<void(const std::string& json)> on_feedback;
    std::function<void(const hub::Status& why)> on_failed;

    const ServiceClientConfig& config() const { return config_; }

  private:
    friend class ServiceConnection;

    void fail(const hub::Status& why);

    hub::Env& env_;
    ServiceClientConfig config_;
    std::deque<C2dToSend> queue_;
    std::unique_ptr<ServiceConnection> connection_;
    std::unique_ptr<ServiceConnection> finished_;  // destroyed later, not inside its callback
    bool failed_ = false;
    std::shared_ptr<AmqpServiceClient*> self_;
};

}  // namespace conformance
