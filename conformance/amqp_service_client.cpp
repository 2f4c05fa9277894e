#include "conformance/amqp_service_client.hpp"

#include <algorithm>
#include <utility>
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
#include <proton/timestamp.hpp>
#include <proton/tracker.hpp>
#include <proton/types.hpp>

#include "conformance/sdk_amqp.hpp"
#include "hub/amqp/driver_pump.hpp"
#include "hub/auth/sas.hpp"

namespace conformance {

using hub::Code;
using hub::Status;

namespace {
constexpr const char* kPutTokenId = "service-put-token-1";
// Feedback batches the hub may push before we accept them.
constexpr int kFeedbackCredit = 10;
}  // namespace

class ServiceConnection : public proton::messaging_handler {
  public:
    ServiceConnection(AmqpServiceClient& client, std::unique_ptr<hub::Stream> stream)
        : client_(client) {
        pump_ = std::make_unique<hub::amqp::DriverPump>(
            client.env_, std::move(stream), "service",
            [this](const Status& status) {
                client_.fail(status.ok() ? Status(Code::unavailable, "the hub closed the connection")
                                         : status);
            });
    }
    ~ServiceConnection() override {
        in_flight_.clear();
        cbs_ = proton::sender();
        c2d_ = proton::sender();
        feedback_ = proton::receiver();
        pump_.reset();
    }

    void start() {
        pump_->connect(sdk_connection_options(*this, "service", client_.config_.host_name));
    }

    void send_more() {
        // A finished connection's links still look open locally: never hand it a message.
        if (pump_->finished() || !c2d_ || !c2d_.active()) {
            return;
        }
        C2dToSend out;
        while (c2d_.credit() > 0 && client_.next_outgoing(&out)) {
            proton::message m;
            m.id(out.message_id);
            m.to("/devices/" + hub::auth::url_encode_strict(out.device_id) +
                 "/messages/devicebound");
            if (!out.ack.empty()) m.properties().put("iothub-ack", out.ack);
            if (out.expiry_time_utc_ms) m.expiry_time(proton::timestamp(*out.expiry_time_utc_ms));
            proton::binary body;
            body.assign(out.body.begin(), out.body.end());
            m.body(body);
            client_.env_.trace("service.transfer", out.message_id);
            in_flight_.emplace_back(c2d_.send(m), std::move(out));
        }
        pump_->process();
    }

    // Every unsettled send goes back to the client (the connection is gone), in send order.
    std::vector<C2dToSend> take_in_flight() {
        std::vector<C2dToSend> out;
        for (auto& [tracker, message] : in_flight_) {
            out.push_back(std::move(message));
        }
        in_flight_.clear();
        return out;
    }

    void on_connection_open(proton::connection& c) override {
        CbsLinks cbs = open_cbs_links(c);
        session_ = cbs.session;
        cbs_ = cbs.sender;
    }

    void on_sendable(proton::sender& s) override {
        if (s == cbs_ && !token_sent_) {
            send_put_token();
        } else if (s == c2d_) {
            send_more();
        }
    }

    void on_message(proton::delivery& d, proton::message& m) override {
        d.accept();
        if (feedback_ && d.receiver() == feedback_) {
            if (client_.on_feedback && m.body().type() == proton::BINARY) {
                const proton::binary b = proton::get<proton::binary>(m.body());
                client_.on_feedback(std::string(b.begin(), b.end()));
            }
            return;
        }
        if (!put_token_accepted(m, kPutTokenId)) {
            client_.fail(Status(Code::unauthorized, "the hub refused the policy token"));
            return;
        }
        c2d_ = session_.open_sender("/messages/devicebound", proton::sender_options().name("c2d"));
        if (client_.config_.receive_feedback) {
            feedback_ = session_.open_receiver(
                "/messages/serviceBound/feedback",
                proton::receiver_options().name("feedback").credit_window(kFeedbackCredit));
        }
    }

    void on_tracker_accept(proton::tracker& t) override { settled(t, Status()); }
    void on_tracker_reject(proton::tracker& t) override {
        settled(t, Status(Code::failed_precondition, "rejected"));
    }
    void on_tracker_release(proton::tracker& t) override {
        settled(t, Status(Code::unavailable, "released"));
    }
    void on_error(const proton::error_condition& error) override {
        client_.env_.trace("service.error", error.name() + ": " + error.description());
    }

  private:
    void send_put_token() {
        const ServiceClientConfig& config = client_.config_;
        const int64_t expiry_s =
            client_.env_.utc_now_ms() / 1000 + config.token_ttl.ns / 1000000000;
        cbs_.send(put_token_request(kPutTokenId, config.host_name,
                                    hub::auth::make_sas_token(config.host_name, config.policy_key,
                                                              expiry_s, config.policy_name)));
        token_sent_ = true;
    }

    void settled(proton::tracker& t, const Status& outcome) {
        auto it = std::find_if(in_flight_.begin(), in_flight_.end(),
                               [&](const auto& item) { return item.first == t; });
        if (it == in_flight_.end()) {
            return;
        }
        const std::string id = it->second.message_id;
        in_flight_.erase(it);
        client_.on_settled(id, outcome);  // last: on_sent may stop the client
    }

    AmqpServiceClient& client_;
    proton::session session_;
    proton::sender cbs_;
    proton::sender c2d_;
    proton::receiver feedback_;
    bool token_sent_ = false;
    std::unique_ptr<hub::amqp::DriverPump> pump_;
    std::vector<std::pair<proton::tracker, C2dToSend>> in_flight_;
};

AmqpServiceClient::AmqpServiceClient(hub::Env& env, ServiceClientConfig config)
    : env_(env),
      config_(std::move(config)),
      link_(env, config_.backoff_min, config_.backoff_max) {}

AmqpServiceClient::~AmqpServiceClient() {
    connection_.reset();
    finished_.reset();
}

void AmqpServiceClient::start() {
    HUB_ASSERT(!failed_);
    link_.start();
    if (!connection_ && !link_.retry_pending()) {
        connect();
    }
}

void AmqpServiceClient::connect() {
    connection_.reset();
    finished_.reset();
    link_.dial(config_.hub_address, [this](hub::Result<std::unique_ptr<hub::Stream>> result) {
        if (!result.ok()) {
            fail(result.status());
            return;
        }
        ++connects_;
        connection_ = std::make_unique<ServiceConnection>(*this, std::move(*result));
        connection_->start();
    });
}

void AmqpServiceClient::stop() {
    link_.stop();
    if (connection_) {
        std::vector<C2dToSend> returned = connection_->take_in_flight();
        for (auto it = returned.rbegin(); it != returned.rend(); ++it) {
            queue_.push_front(std::move(*it));
        }
        in_flight_ = 0;
    }
    connection_.reset();
    finished_.reset();
}

void AmqpServiceClient::send(C2dToSend message) {
    env_.trace("service.queue", message.message_id);
    queue_.push_back(std::move(message));
    if (connection_) {
        connection_->send_more();
    }
}

bool AmqpServiceClient::next_outgoing(C2dToSend* out) {
    if (queue_.empty()) {
        return false;
    }
    *out = std::move(queue_.front());
    queue_.pop_front();
    ++in_flight_;
    return true;
}

void AmqpServiceClient::on_settled(const std::string& message_id, const Status& outcome) {
    HUB_ASSERT(in_flight_ > 0);
    --in_flight_;
    link_.succeeded();  // the hub answers: the connection works
    env_.trace(outcome.ok() ? "service.accepted" : "service.refused", message_id);
    if (on_sent) {
        on_sent(message_id, outcome);
    }
}

void AmqpServiceClient::fail(const Status& why) {
    if (failed_) {
        return;
    }
    ++failures_;
    if (connection_) {
        // Unsettled sends: the hub may or may not have them. Resend them first, in send order.
        std::vector<C2dToSend> returned = connection_->take_in_flight();
        for (auto it = returned.rbegin(); it != returned.rend(); ++it) {
            queue_.push_front(std::move(*it));
        }
        in_flight_ = 0;
    }
    if (config_.reconnect) {
        env_.trace("service.lost", why.to_string());
        link_.retry_later([this] { connect(); });
        return;  // the dead connection goes at the next connect(), not inside its callback
    }
    failed_ = true;
    env_.trace("service.failed", why.to_string());
    finished_ = std::move(connection_);  // may be inside its callback: destroy it later
    if (on_failed) {
        on_failed(why);
    }
}

}  // namespace conformance
