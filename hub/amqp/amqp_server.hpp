// AmqpServer: the hub's AMQP 1.0 front door, sans-IO over Env::Network.
//
// It listens on an address, and for each accepted stream runs one Proton connection_driver
// (HubConnection) that speaks AMQP to the peer: the CBS put-token exchange on `$cbs`, and D2C
// sender links on `/devices/{id}/messages/events` whose transfers are accepted only after the
// hub's log made them durable. The Env and the Hub must outlive the server.
//
// Example:
//   AmqpServer server(env, hub);
//   Status s = server.listen("127.0.0.1:5671");
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "hub/core/hub.hpp"
#include "hub/env/env.hpp"

namespace hub::provisioning {
class ProvisioningService;
}

namespace hub::amqp {

class HubConnection;

class AmqpServer {
  public:
    AmqpServer(Env& env, Hub& hub);
    ~AmqpServer();
    AmqpServer(const AmqpServer&) = delete;
    AmqpServer& operator=(const AmqpServer&) = delete;

    // Starts listening on "host:port" (port 0 picks a free one).
    Status listen(const std::string& address);
    // The bound address; empty before listen().
    std::string address() const;
    size_t connection_count() const { return connections_.size(); }

    // Serves one already-connected stream (used by listen() and by fuzzing).
    void serve(std::unique_ptr<Stream> stream);
    // Also serves the Device Provisioning Service's AMQP links on new connections (after a
    // SASL PLAIN login as "{idScope}/registrations/{id}"). `dps` must outlive the server.
    void serve_provisioning(provisioning::ProvisioningService& dps) { dps_ = &dps; }

  private:
    void reap(uint64_t connection_id);
    void claim(const std::string& device_id, uint64_t connection_id);

    Env& env_;
    Hub& hub_;
    provisioning::ProvisioningService* dps_ = nullptr;
    std::unique_ptr<Listener> listener_;
    uint64_t next_connection_id_ = 1;
    std::map<uint64_t, std::unique_ptr<HubConnection>> connections_;
    std::map<uint64_t, TimerId> reap_timers_;  // connection id -> pending destruction
    std::map<uint64_t, TimerId> claim_timers_;  // pending one-connection-per-device checks
    uint64_t next_claim_ = 0;
};

}  // namespace hub::amqp
