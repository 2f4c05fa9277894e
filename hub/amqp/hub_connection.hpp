// HubConnection: the hub's side of one AMQP connection (a Proton messaging_handler).
//
// It accepts the connection (with or without a SASL layer), answers CBS put-token requests on
// `$cbs` (status-code 200 or 401, correlation id = the request's message id), and serves D2C
// links `/devices/{id}/messages/events` for the devices whose tokens it accepted. A D2C
// transfer is settled `accepted` only after the hub's log made it durable; a transfer from a
// device whose token has expired, or that the log refuses, is `rejected` with an AMQP error.
//
// Owned by AmqpServer. The Env and Hub must outlive it. Not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <proton/delivery.hpp>
#include <proton/message.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/sender.hpp>

#include "hub/amqp/driver_pump.hpp"
#include "hub/core/hub.hpp"

namespace hub::amqp {

// Credit the hub grants a D2C link: bounds the transfers in flight per link.
constexpr int kD2cCreditWindow = 100;
// CBS replies waiting for link credit: a client that never grants credit can't grow this.
constexpr size_t kCbsRepliesQueuedMax = 16;

class HubConnection : public proton::messaging_handler {
  public:
    HubConnection(Env& env, Hub& hub, std::unique_ptr<Stream> stream, uint64_t id,
                  std::function<void()> on_finished);
    ~HubConnection() override;
    HubConnection(const HubConnection&) = delete;
    HubConnection& operator=(const HubConnection&) = delete;

    void start();

    void on_connection_open(proton::connection& c) override;
    void on_session_open(proton::session& s) override;
    void on_receiver_open(proton::receiver& r) override;
    void on_sender_open(proton::sender& s) override;
    void on_sendable(proton::sender& s) override;
    void on_message(proton::delivery& d, proton::message& m) override;
    // Proton's default throws; a peer's error is routine here and only traced.
    void on_error(const proton::error_condition& error) override;

  private:
    void handle_put_token(proton::delivery& d, const proton::message& m);
    void handle_d2c(proton::delivery& d, proton::message& m, const std::string& device_id);
    void on_d2c_durable(uint64_t ticket, bool ok);
    void send_cbs_replies();
    bool authorized(const std::string& device_id) const;
    void trace(std::string_view kind, const std::string& detail);
    void mark_connected(const std::string& device_id);
    void report_disconnects(const Status& reason);

    Env& env_;
    Hub& hub_;
    uint64_t id_;
    std::string name_;
    // Device id -> token expiry (Unix seconds) for every device this connection proved.
    std::map<std::string, int64_t> token_expiry_s_;
    // Devices with a link open on this connection: reported connected to the monitor, and
    // disconnected when the connection ends.
    std::set<std::string> connected_devices_;
    proton::sender cbs_sender_;
    std::deque<proton::message> cbs_replies_;
    // Whether this connection still exists, for callbacks that may outlive it.
    std::shared_ptr<HubConnection*> self_;
    std::unique_ptr<DriverPump> pump_;
    // D2C deliveries waiting for their durable write, by ticket. Declared after the pump so
    // they are released while the driver still exists.
    std::map<uint64_t, proton::delivery> awaiting_durable_;
    uint64_t next_ticket_ = 0;
};

}  // namespace hub::amqp
