// AmqpTestPeer: a scriptable Proton client for the hub's AMQP adapter tests (test-only).
//
// It connects over an Env Stream with no SASL layer or with any SASL mechanism and initial
// response (its own client-side SASL plug-in, so MSSBCBS, EXTERNAL and odd PLAIN responses can
// be sent), opens links by address, sends messages, puts tokens on `$cbs`, and records what
// the hub answered: link and connection errors, the SASL outcome, the outcome of each sent
// message with the error condition of a rejection, CBS status codes and received messages.
//
// Ownership: the Env must outlive the peer. Single-threaded, deterministic.
//
// Example:
//   AmqpTestPeer peer(env, std::move(stream));
//   peer.start(PeerSasl{"PLAIN", std::string("\0dev1@sas.myhub\0", 16) + token});
//   ... run the simulator ...
//   peer.open_sender("/devices/dev1/messages/events");
//   peer.send("/devices/dev1/messages/events", "m1", "hello");
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/delivery.hpp>
#include <proton/disposition.h>
#include <proton/error_condition.hpp>
#include <proton/message.hpp>
#include <proton/message_id.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver.hpp>
#include <proton/receiver_options.hpp>
#include <proton/sasl.hpp>
#include <proton/sasl_plugin.h>
#include <proton/scalar.hpp>
#include <proton/sender.hpp>
#include <proton/sender_options.hpp>
#include <proton/session.hpp>
#include <proton/target_options.hpp>
#include <proton/tracker.hpp>
#include <proton/transport.hpp>

#include "hub/amqp/driver_pump.hpp"
#include "hub/amqp/proton_raw.hpp"

namespace hub::amqp {

struct PeerSasl {
    std::string mechanism;
    std::string response;  // the initial response, sent as is
};

class AmqpTestPeer : public proton::messaging_handler {
  public:
    AmqpTestPeer(Env& env, std::unique_ptr<Stream> stream) {
        pump_ = std::make_unique<DriverPump>(env, std::move(stream), "peer",
                                             [this](const Status& s) {
                                                 finished = true;
                                                 finish_status = s.to_string();
                                             });
    }
    ~AmqpTestPeer() override {
        trackers_.clear();
        held.clear();
        senders_.clear();
        receivers_.clear();
        session_ = proton::session();
        pump_.reset();
    }
    AmqpTestPeer(const AmqpTestPeer&) = delete;
    AmqpTestPeer& operator=(const AmqpTestPeer&) = delete;

    void start(std::optional<PeerSasl> sasl) {
        sasl_ = std::move(sasl);
        proton::connection_options o;
        o.handler(*this);
        o.sasl_enabled(sasl_.has_value());
        if (sasl_) {
            o.sasl_allowed_mechs(sasl_->mechanism);
            o.sasl_allow_insecure_mechs(true);
        }
        pump_->connect(o, [this](proton::transport t) {
            if (sasl_) pnx_sasl_set_implementation(raw(t), &kClientSasl, this);
        });
    }

    void open_sender(const std::string& address) {
        senders_[address] = session_.open_sender(address, proton::sender_options().name(address));
        pump_->process();
    }
    // `name` defaults to the address. With auto_accept false, messages are held (see hold()).
    void open_receiver(const std::string& address, int credit = 10, std::string name = {},
                       bool auto_accept = true) {
        if (name.empty()) name = address;
        if (!auto_accept) manual_.insert(name);
        receivers_[name] = session_.open_receiver(
            address,
            proton::receiver_options().name(name).credit_window(credit).auto_accept(auto_accept));
        pump_->process();
    }
    // Sends `accepted` for a held message WITHOUT settling it (rcv-settle-mode second style):
    // the hub then settles with its own outcome, recorded in hub_settled.
    void accept_unsettled(size_t held_index) {
        pn_delivery_update(raw(held.at(held_index)), PN_ACCEPTED);
        pump_->process();
    }
    void send(const std::string& address, proton::message m) {
        outbox_[address].push_back(std::move(m));
        flush();
        pump_->process();
    }
    void send(const std::string& address, const std::string& id, const std::string& body) {
        proton::message m;
        m.id(id);
        m.body(body);
        send(address, std::move(m));
    }
    void put_token(const std::string& audience, const std::string& token) {
        if (!senders_.contains("$cbs")) {
            senders_["$cbs"] = session_.open_sender("$cbs", proton::sender_options().name("$cbs"));
            proton::target_options t;
            t.address("cbs");
            receivers_["$cbs"] = session_.open_receiver(
                "$cbs", proton::receiver_options().name("cbs-rx").target(t));
        }
        proton::message m;
        m.id("tok-" + std::to_string(++tokens_sent_));
        m.reply_to("cbs");
        m.properties().put("operation", std::string("put-token"));
        m.properties().put("type", std::string("servicebus.windows.net:sastoken"));
        m.properties().put("name", audience);
        m.body(token);
        send("$cbs", std::move(m));
    }
    void close() {
        pump_->connection().close();
        pump_->process();
    }
    bool link_active(const std::string& address) {
        if (auto it = senders_.find(address); it != senders_.end()) return it->second.active();
        if (auto it = receivers_.find(address); it != receivers_.end()) return it->second.active();
        return false;
    }

    void on_connection_open(proton::connection& c) override {
        opened = true;
        session_ = c.open_session();
    }
    void on_transport_error(proton::transport& t) override {
        transport_error = t.error().name();
        sasl_outcome = t.sasl().outcome();
    }
    void on_connection_error(proton::connection& c) override { connection_error = c.error().name(); }
    void on_sender_error(proton::sender& s) override { link_errors[s.name()] = s.error().name(); }
    void on_receiver_error(proton::receiver& r) override { link_errors[r.name()] = r.error().name(); }
    void on_error(const proton::error_condition&) override {}
    void on_sendable(proton::sender&) override { flush(); }
    void on_message(proton::delivery& d, proton::message& m) override {
        if (d.receiver().name() == "cbs-rx") {
            cbs_status.push_back(proton::get<int32_t>(m.properties().get("status-code")));
        } else {
            received.push_back(m);
            if (manual_.contains(d.receiver().name())) held.push_back(d);
        }
    }
    void on_delivery_settle(proton::delivery& d) override {
        pn_delivery_t* pd = raw(d);
        const char* name = pn_condition_get_name(pn_disposition_condition(pn_delivery_remote(pd)));
        hub_settled.push_back(pn_delivery_remote_state(pd) == PN_ACCEPTED
                                  ? std::string("accepted")
                                  : std::string("rejected:") + (name == nullptr ? "" : name));
        d.settle();
    }
    void on_tracker_accept(proton::tracker& t) override { outcomes[trackers_[t]] = "accepted"; }
    void on_tracker_reject(proton::tracker& t) override {
        pn_condition_t* c = pn_disposition_condition(pn_delivery_remote(raw(t)));
        const char* name = pn_condition_get_name(c);
        outcomes[trackers_[t]] = std::string("rejected:") + (name == nullptr ? "" : name);
    }
    void on_tracker_release(proton::tracker& t) override { outcomes[trackers_[t]] = "released"; }

    bool opened = false;
    bool finished = false;
    std::string finish_status;
    std::string transport_error;
    std::string connection_error;
    enum proton::sasl::outcome sasl_outcome = proton::sasl::NONE;
    std::map<std::string, std::string> link_errors;  // link name (= address) -> condition
    std::map<std::string, std::string> outcomes;     // message id -> "accepted", "rejected:cond"
    std::vector<int32_t> cbs_status;
    std::vector<proton::message> received;
    std::vector<proton::delivery> held;      // unsettled messages of auto_accept=false links
    std::vector<std::string> hub_settled;    // the hub's final outcome for held messages

  private:
    void flush() {
        for (auto& [address, queue] : outbox_) {
            auto it = senders_.find(address);
            while (it != senders_.end() && it->second.active() && it->second.credit() > 0 &&
                   !queue.empty()) {
                const std::string id = queue.front().id().empty()
                                           ? std::string()
                                           : proton::to_string(queue.front().id());
                trackers_[it->second.send(queue.front())] = id;
                queue.pop_front();
            }
        }
    }

    // Client side of the SASL plug-in: pick our mechanism if offered, send our response.
    static bool init_client(pn_transport_t*) { return true; }
    static bool process_mechanisms(pn_transport_t* t, const char* mechs) {
        auto* self = static_cast<AmqpTestPeer*>(pnx_sasl_get_context(t));
        if (std::string(mechs).find(self->sasl_->mechanism) == std::string::npos) return false;
        pnx_sasl_set_selected_mechanism(t, self->sasl_->mechanism.c_str());
        pnx_sasl_set_bytes_out(t, pn_bytes(self->sasl_->response.size(),
                                           self->sasl_->response.data()));
        pnx_sasl_set_desired_state(t, SASL_POSTED_INIT);
        return true;
    }
    static void nothing(pn_transport_t*) {}
    static const char* no_mechanisms(pn_transport_t*) { return ""; }
    static bool no(pn_transport_t*) { return false; }
    static void ignore_init(pn_transport_t*, const char*, const pn_bytes_t*) {}
    static void ignore_bytes(pn_transport_t*, const pn_bytes_t*) {}
    static ssize_t zero(pn_transport_t*) { return 0; }
    static ssize_t no_coding(pn_transport_t*, pn_bytes_t, pn_bytes_t*) { return 0; }
    static constexpr pnx_sasl_implementation kClientSasl = {
        nothing,      no_mechanisms, no,           init_client,  nothing,
        ignore_init,  ignore_bytes,  process_mechanisms, ignore_bytes, ignore_bytes,
        no,           zero,          no_coding,    no_coding,
    };

    std::unique_ptr<DriverPump> pump_;
    std::optional<PeerSasl> sasl_;
    proton::session session_;
    std::map<std::string, proton::sender> senders_;
    std::map<std::string, proton::receiver> receivers_;
    std::map<std::string, std::deque<proton::message>> outbox_;
    std::map<proton::tracker, std::string> trackers_;
    std::set<std::string> manual_;  // receivers whose messages are held, not accepted
    int tokens_sent_ = 0;
};

}  // namespace hub::amqp
