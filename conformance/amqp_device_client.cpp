#include "conformance/amqp_device_client.hpp"

#include <algorithm>
#include <vector>

#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/delivery.hpp>
#include <proton/error_condition.hpp>
#include <proton/message.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver.hpp>
#include <proton/receiver_options.hpp>
#include <proton/scalar.hpp>
#include <proton/sender.hpp>
#include <proton/sender_options.hpp>
#include <proton/session.hpp>
#include <proton/target_options.hpp>
#include <proton/tracker.hpp>
#include <proton/types.hpp>

#include "conformance/sdk_amqp.hpp"
#include "hub/amqp/driver_pump.hpp"
#include "hub/auth/sas.hpp"

namespace conformance {

using hub::Status;

// One connection attempt: CBS, then the D2C link. Lives until the connection ends.
class ClientConnection : public proton::messaging_handler {
  public:
    ClientConnection(AmqpDeviceClient& client, std::unique_ptr<hub::Stream> stream)
        : client_(client),
          d2c_address_("/devices/" + client.config_.device_id + "/messages/events") {
        pump_ = std::make_unique<hub::amqp::DriverPump>(
            client.env_, std::move(stream), "device-" + client.config_.device_id,
            [this](const Status& status) { client_.on_connection_lost(status); });
    }
    ~ClientConnection() override {
        in_flight_.clear();
        cbs_sender_ = proton::sender();
        d2c_ = proton::sender();
        c2d_ = proton::receiver();
        pump_.reset();
    }

    void start() {
        pump_->connect(sdk_connection_options(*this, "device-" + client_.config_.device_id,
                                              client_.config_.host_name));
    }

    // Sends queued messages while credit and the in-flight bound allow.
    void send_more() {
        // A finished connection's links still look open locally: never hand it a message.
        if (pump_->finished() || !d2c_ || !d2c_.active()) {
            return;
        }
        AmqpDeviceClient::Outgoing out;
        while (d2c_.credit() > 0 && in_flight_.size() < client_.config_.in_flight_max &&
               client_.next_outgoing(&out)) {
            proton::message m;
            m.id(out.message_id);
            m.to(d2c_address_);
            proton::binary body;
            body.assign(out.body.begin(), out.body.end());
            m.body(body);
            client_.env_.trace("client.transfer", out.message_id);
            proton::tracker t = d2c_.send(m);
            in_flight_.push_back({t, std::move(out)});
        }
        pump_->process();
    }

    // Everything unsettled goes back to the client (the connection is gone).
    std::vector<AmqpDeviceClient::Outgoing> take_in_flight() {
        std::vector<AmqpDeviceClient::Outgoing> out;
        for (auto& [tracker, message] : in_flight_) {
            out.push_back(std::move(message));
        }
        in_flight_.clear();
        return out;
    }

    void on_connection_open(proton::connection& c) override {
        CbsLinks cbs = open_cbs_links(c);
        session_ = cbs.session;
        cbs_sender_ = cbs.sender;
    }

    void on_sendable(proton::sender& s) override {
        if (s == cbs_sender_ && !token_sent_) {
            send_put_token();
        } else if (s == d2c_) {
            send_more();
        }
    }

    void on_message(proton::delivery& d, proton::message& m) override {
        if (c2d_ && d.receiver() == c2d_) {
            settle_c2d(d, m);
            return;
        }
        d.accept();
        if (!put_token_accepted(m, kPutTokenId)) {
            ++client_.token_refusals_;
            client_.env_.trace("client.cbs-refused", client_.config_.device_id);
            d.connection().close(proton::error_condition("amqp:unauthorized-access",
                                                         "put-token refused"));
            return;
        }
        client_.env_.trace("client.cbs-ok", client_.config_.device_id);
        d2c_ = session_.open_sender(d2c_address_, proton::sender_options().name("d2c"));
        if (client_.on_c2d) {
            c2d_ = session_.open_receiver(
                "/devices/" + client_.config_.device_id + "/messages/devicebound",
                proton::receiver_options().name("c2d").auto_accept(false).credit_window(
                    kC2dCredit));
        }
    }

    void on_error(const proton::error_condition& error) override {
        client_.env_.trace("client.error", error.name() + ": " + error.description());
    }
    void on_tracker_accept(proton::tracker& t) override { settle(t, true); }
    void on_tracker_reject(proton::tracker& t) override { settle(t, false); }
    void on_tracker_release(proton::tracker& t) override { settle(t, false); }

  private:
    static constexpr const char* kPutTokenId = "put-token-1";
    // C2D messages the hub may push before we settle them (the hub locks each for a minute).
    static constexpr int kC2dCredit = 10;

    void settle_c2d(proton::delivery& d, proton::message& m) {
        ReceivedC2d received;
        received.message_id = m.id().empty() ? std::string() : proton::to_string(m.id());
        if (m.body().type() == proton::BINARY) {
            const proton::binary b = proton::get<proton::binary>(m.body());
            received.body.assign(b.begin(), b.end());
        }
        client_.env_.trace("client.c2d", received.message_id);
        switch (client_.on_c2d(received)) {
            case C2dOutcome::complete: d.accept(); break;
            case C2dOutcome::reject: d.reject(); break;
            case C2dOutcome::abandon: d.release(); break;
        }
    }

    void send_put_token() {
        const DeviceClientConfig& config = client_.config_;
        const std::string sr =
            hub::auth::url_encode_strict(config.host_name + "/devices/" + config.device_id);
        const int64_t expiry_s =
            client_.env_.utc_now_ms() / 1000 + config.token_ttl.ns / 1000000000;
        cbs_sender_.send(
            put_token_request(kPutTokenId, sr, hub::auth::make_sas_token(sr, config.key, expiry_s)));
        token_sent_ = true;
    }

    void settle(proton::tracker& t, bool accepted) {
        auto it = std::find_if(in_flight_.begin(), in_flight_.end(),
                               [&](const auto& item) { return item.first == t; });
        if (it == in_flight_.end()) {
            return;
        }
        AmqpDeviceClient::Outgoing message = std::move(it->second);
        in_flight_.erase(it);
        client_.env_.trace(accepted ? "client.accepted" : "client.returned", message.message_id);
        if (accepted) {
            client_.on_accepted(message.message_id);
        } else {
            client_.on_returned(std::move(message));
        }
        send_more();
    }

    AmqpDeviceClient& client_;
    std::string d2c_address_;
    proton::session session_;
    proton::sender cbs_sender_;
    proton::sender d2c_;
    proton::receiver c2d_;
    bool token_sent_ = false;
    std::unique_ptr<hub::amqp::DriverPump> pump_;
    std::vector<std::pair<proton::tracker, AmqpDeviceClient::Outgoing>> in_flight_;
};

AmqpDeviceClient::AmqpDeviceClient(hub::Env& env, DeviceClientConfig config)
    : env_(env),
      config_(std::move(config)),
      link_(env, config_.backoff_min, config_.backoff_max) {}

AmqpDeviceClient::~AmqpDeviceClient() { connection_.reset(); }

void AmqpDeviceClient::send(std::string message_id, Bytes body) {
    env_.trace("client.queue", message_id);
    queue_.push_back(Outgoing{std::move(message_id), std::move(body)});
    if (connection_) {
        connection_->send_more();
    }
}

void AmqpDeviceClient::start() {
    link_.start();
    if (!connection_ && !link_.retry_pending()) {
        connect();
    }
}

void AmqpDeviceClient::stop() {
    link_.stop();
    if (connection_) {
        for (Outgoing& message : connection_->take_in_flight()) {
            queue_.push_front(std::move(message));
        }
        in_flight_ = 0;
        connection_.reset();
    }
}

void AmqpDeviceClient::connect() {
    connection_.reset();
    link_.dial(config_.hub_address, [this](hub::Result<std::unique_ptr<hub::Stream>> result) {
        if (!result.ok()) {
            on_connection_lost(result.status());
            return;
        }
        ++connects_;
        connection_ = std::make_unique<ClientConnection>(*this, std::move(*result));
        connection_->start();
    });
}

void AmqpDeviceClient::on_connection_lost(const Status& status) {
    ++failures_;
    env_.trace("client.lost", config_.device_id + " " + status.to_string());
    if (connection_) {
        std::vector<Outgoing> returned = connection_->take_in_flight();
        for (auto it = returned.rbegin(); it != returned.rend(); ++it) {
            queue_.push_front(std::move(*it));
        }
        in_flight_ = 0;
    }
    link_.retry_later([this] { connect(); });
}

bool AmqpDeviceClient::next_outgoing(Outgoing* out) {
    while (!queue_.empty()) {
        Outgoing next = std::move(queue_.front());
        queue_.pop_front();
        if (acknowledged_.contains(next.message_id)) {
            continue;  // accepted on an earlier attempt
        }
        *out = std::move(next);
        ++in_flight_;
        return true;
    }
    return false;
}

void AmqpDeviceClient::on_accepted(const std::string& message_id) {
    HUB_ASSERT(in_flight_ > 0);
    --in_flight_;
    link_.succeeded();
    if (acknowledged_.insert(message_id).second && on_acknowledged) {
        on_acknowledged(message_id);
    }
}

void AmqpDeviceClient::on_returned(Outgoing message) {
    HUB_ASSERT(in_flight_ > 0);
    --in_flight_;
    queue_.push_back(std::move(message));
}

}  // namespace conformance
