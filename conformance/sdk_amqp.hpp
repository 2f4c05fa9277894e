// What every Azure IoT SDK connection does before its own links, shared by our device and
// service clients: an AMQP connection with no SASL layer (SAS authentication goes through
// CBS), a session with a sender to `$cbs` and a receiver for its replies, and a put-token
// request whose reply must carry status-code 200 (reference §1.2, §1.4).
//
// Header-only helpers over Proton handles; no state. Single-threaded like the clients.
//
// Example:
//   pump->connect(sdk_connection_options(*this, "device-d1", "myhub"));
//   // on_connection_open: CbsLinks cbs = open_cbs_links(c);
//   // on_sendable($cbs):  cbs.sender.send(put_token_request("t1", audience, token));
//   // on_message(reply):  if (!put_token_accepted(reply, "t1")) ...
#pragma once

#include <cstdint>
#include <string>

#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/message.hpp>
#include <proton/message_id.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver_options.hpp>
#include <proton/scalar.hpp>
#include <proton/sender.hpp>
#include <proton/sender_options.hpp>
#include <proton/session.hpp>
#include <proton/target_options.hpp>

namespace conformance {

// Put-token replies the hub may send before we accept them.
constexpr int kCbsReplyCredit = 10;

inline proton::connection_options sdk_connection_options(proton::messaging_handler& handler,
                                                         const std::string& container_id,
                                                         const std::string& host_name) {
    proton::connection_options options;
    options.handler(handler);
    options.sasl_enabled(false);  // as the Azure SDKs do with SAS: no SASL layer
    options.container_id(container_id);
    options.virtual_host(host_name);
    return options;
}

struct CbsLinks {
    proton::session session;
    proton::sender sender;  // put-token requests go here
};

inline CbsLinks open_cbs_links(proton::connection& connection) {
    CbsLinks links;
    links.session = connection.open_session();
    links.sender = links.session.open_sender("$cbs", proton::sender_options().name("cbs-sender"));
    proton::target_options reply_target;
    reply_target.address("cbs");
    links.session.open_receiver("$cbs", proton::receiver_options()
                                            .name("cbs-receiver")
                                            .target(reply_target)
                                            .credit_window(kCbsReplyCredit));
    return links;
}

inline proton::message put_token_request(const std::string& request_id,
                                         const std::string& audience, const std::string& token) {
    proton::message m;
    m.id(proton::message_id(request_id));
    m.to("$cbs");
    m.reply_to("cbs");
    m.properties().put("operation", std::string("put-token"));
    m.properties().put("type", std::string("servicebus.windows.net:sastoken"));
    m.properties().put("name", audience);
    m.body(token);
    return m;
}

// True if `reply` answers `request_id` with status-code 200 (the Node SDK accepts nothing else).
inline bool put_token_accepted(const proton::message& reply, const std::string& request_id) {
    if (reply.correlation_id() != proton::message_id(request_id)) {
        return false;
    }
    const proton::scalar code = reply.properties().exists("status-code")
                                    ? reply.properties().get("status-code")
                                    : proton::scalar();
    return code.type() == proton::INT && proton::get<int32_t>(code) == 200;
}

}  // namespace conformance
