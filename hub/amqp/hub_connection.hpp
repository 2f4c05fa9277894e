// HubConnection: the hub's side of one AMQP connection (a Proton messaging_handler).
//
// It accepts the connection with no SASL layer (the Azure Node SDKs) or with SASL ANONYMOUS,
// MSSBCBS, PLAIN or EXTERNAL (SaslServer). ANONYMOUS and MSSBCBS succeed and leave
// authentication to CBS. PLAIN carries a SAS token (sasl_login.hpp): a device or policy login
// proves that identity exactly as a put-token would, with the same expiry; a DPS registration
// login is recorded unverified (dps_login()) for a DPS link to check; a bad token fails SASL
// (outcome auth) and closes the connection. EXTERNAL is refused: there is no transport identity.
// Every proven identity lapses when its token expires unless a put-token on `$cbs` renewed it:
// its links are detached with amqp:unauthorized-access (the connection is closed if it has no
// other identity) and the monitor reports the device disconnected.
// It serves:
//  - CBS on `$cbs`: put-token with a device token (that device's links) or a policy token
//    (service links), answered status-code 200 or 401, correlation id = the request's id;
//  - D2C links `/devices/{id}/messages/events` for proven devices: a transfer is settled
//    `accepted` only after the hub's log made it durable, else `rejected` with the condition
//    the SDKs translate (amqp_errors.hpp: too large, device gone, store failure); module
//    links `/devices/{d}/modules/{m}/...` are amqp:not-found (the registry has no modules);
//  - C2D: the device's receiver on `/devices/{id}/messages/devicebound` gets its queued
//    messages under a lock; accepted/rejected/released/modified complete/reject/abandon/abandon
//    them. A service sender on `/messages/devicebound` enqueues (accepted once durable), and a
//    receiver on `/messages/serviceBound/feedback` gets feedback batches the same way;
//  - the Event Hubs-compatible endpoint for policies with ServiceConnect: `$management` READ
//    requests, and receivers on `{entity}/ConsumerGroups/{cg}/Partitions/{p}` that get events
//    from their filter's start position and then tail the log as commits land.
// Devices with a link open are reported to the hub's monitor as connected, and disconnected
// when the connection ends.
//
// Owned by AmqpServer. The Env and Hub must outlive it. Not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <proton/delivery.hpp>
#include <proton/link.hpp>
#include <proton/message.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver.hpp>
#include <proton/sender.hpp>
#include <proton/tracker.hpp>

#include "hub/amqp/driver_pump.hpp"
#include "hub/amqp/eventhub.hpp"
#include "hub/amqp/sasl_frame_guard.hpp"
#include "hub/amqp/sasl_server.hpp"
#include "hub/core/access.hpp"
#include "hub/core/hub.hpp"

namespace hub::provisioning {
class ProvisioningService;
}

namespace hub::amqp {

// Credit the hub grants a D2C link: bounds the transfers in flight per link.
constexpr int kD2cCreditWindow = 100;
// Replies waiting for link credit: a client that never grants credit can't grow this.
constexpr size_t kRepliesQueuedMax = 16;
// Event Hubs receivers per connection (each one holds a reader and a log listener slot).
constexpr size_t kPartitionReadersMax = 128;
// Set explicitly rather than taken from Proton's defaults (STYLE §2): a 64 KiB frame (a 256 KB
// message spans frames), sessions and links bounded per connection (a gateway multiplexes a
// few devices per session, two links each), and Azure's 240 s AMQP idle timeout.
constexpr uint32_t kFrameBytesMax = 64 * 1024;
constexpr uint16_t kSessionsMax = 256;
constexpr size_t kLinksPerConnectionMax = 2048;
constexpr int64_t kIdleTimeoutMs = 240 * 1000;
// The connection-monitoring stream's Event Hubs entity is the hub's name with this suffix.
inline constexpr const char* kMonitorEntitySuffix = "-monitor";

// A DPS registration that logged in with SASL PLAIN ({idScope}/registrations/{id}). The token
// is kept as sent, NOT verified: DPS tokens are signed with enrollment keys the hub's registry
// does not hold, so the DPS link built on this connection must verify it before serving.
struct DpsLogin {
    std::string id_scope;
    std::string registration_id;
    std::string token;
    int64_t expiry_s = 0;  // the token's se; 0 when unreadable or once it lapsed
};

class HubConnection : public proton::messaging_handler {
  public:
    // `on_device_proven` runs when a device's token is accepted here, so the server can enforce
    // one connection per device (a new one closes the old).
    HubConnection(Env& env, Hub& hub, std::unique_ptr<Stream> stream, uint64_t id,
                  std::function<void()> on_finished,
                  std::function<void(const std::string&)> on_device_proven);
    ~HubConnection() override;
    HubConnection(const HubConnection&) = delete;
    HubConnection& operator=(const HubConnection&) = delete;

    void start();
    // The hub may have C2D messages for `device_id` / feedback now (from AmqpServer).
    void on_c2d_available(const std::string& device_id);
    void on_feedback_available();
    // Another connection proved this device: drop it here (Azure's 400027).
    void evict(const std::string& device_id);
    bool has_device(const std::string& device_id) const {
        return token_expiry_s_.contains(device_id);
    }
    const std::optional<DpsLogin>& dps_login() const { return dps_login_; }
    // Serves the Device Provisioning Service's links ({idScope}/registrations/{id}, see
    // hub_connection_dps.cpp) with `dps`, which must outlive the connection. Without it those
    // addresses are not found.
    void serve_provisioning(provisioning::ProvisioningService* dps) { dps_ = dps; }

    void on_connection_open(proton::connection& c) override;
    void on_session_open(proton::session& s) override;
    void on_receiver_open(proton::receiver& r) override;
    void on_sender_open(proton::sender& s) override;
    void on_sender_close(proton::sender& s) override;
    void on_receiver_close(proton::receiver& r) override;
    void on_sendable(proton::sender& s) override;
    void on_message(proton::delivery& d, proton::message& m) override;
    void on_tracker_accept(proton::tracker& t) override;
    void on_tracker_reject(proton::tracker& t) override;
    void on_tracker_release(proton::tracker& t) override;
    // Proton's default throws; a peer's error is routine here and only traced.
    void on_error(const proton::error_condition& error) override;

  private:
    // A link the hub answers requests on ($cbs, $management), with replies awaiting credit.
    struct ReplyLink {
        proton::sender link;
        std::deque<proton::message> queue;
        void send(proton::message reply);
        void flush();
    };
    struct Reader {
        proton::sender link;
        PartitionReader reader;
    };
    // A C2D or feedback message sent and not yet settled by the receiver: its lock.
    struct Outstanding {
        std::string device_id;  // empty for feedback
        std::string lock_token;
        // The delivery itself: tags are only unique per link, and the CBS, management and
        // Event Hubs senders number theirs from 1 too, so a tag alone can name another link's
        // delivery (settling that one must not settle this lock).
        proton::tracker tracker = proton::tracker();
    };
    enum class Settle { complete, reject, abandon };

    // DPS links (hub_connection_dps.cpp). The registration id of a DPS address, or "".
    std::string dps_registration_of(const std::string& address) const;
    bool dps_link_allowed(proton::link& link, const std::string& registration_id);
    void handle_dps_request(proton::delivery& d, proton::message& m,
                            const std::string& registration_id);

    SaslVerdict on_sasl_init(const SaslInit& init);
    SaslVerdict plain_login(std::string_view response);
    // Authorises a proven identity on this connection (CBS put-token or SASL PLAIN).
    // Errors: unauthorized (a policy without ServiceConnect).
    Status prove(const Principal& who);
    void arm_expiry_timer();
    void on_tokens_expired();
    void close_device_links(const std::string& device_id, const proton::error_condition& why);
    void close_service_links(const proton::error_condition& why);
    void close_dps_links(const proton::error_condition& why);
    void handle_put_token(proton::delivery& d, const proton::message& m);
    void handle_d2c(proton::delivery& d, proton::message& m, const std::string& device_id);
    bool open_d2c_receiver(proton::receiver& r, const std::string& address);
    void on_durable(uint64_t ticket, const Status& status);
    void open_partition_reader(proton::sender& s, const PartitionAddress& address);
    void pump_readers();
    void open_devicebound(proton::sender& s, const std::string& device_id);
    void open_feedback(proton::sender& s);
    void pump_devicebound(proton::sender& link, const std::string& device_id);
    void pump_feedback(proton::sender& link);
    void send_locked(proton::sender& link, proton::message m, Outstanding lock);
    void settle(proton::tracker& t, Settle how);
    void on_settled(uint64_t ticket, const std::string& kind, const std::string& device_id,
                    const Status& status);
    void handle_c2d_send(proton::delivery& d, proton::message& m);
    bool authorized(const std::string& device_id) const;
    bool service_authorized() const;
    void trace(std::string_view kind, const std::string& detail);
    void mark_connected(const std::string& device_id);
    void report_disconnects(const Status& reason);
    std::string entity() const;
    // The log behind an Event Hubs entity: the hub's D2C stream, or "{hub}-monitor" for the
    // connection-monitoring events. nullptr for anything else.
    D2cLog* stream_for(const std::string& name);
    bool link_limit_reached(proton::link& l);
    std::vector<proton::sender> all_senders();
    std::vector<proton::receiver> all_receivers();

    Env& env_;
    Hub& hub_;
    uint64_t id_;
    std::string name_;
    // Device id -> token expiry (Unix seconds) for every device this connection proved.
    std::map<std::string, int64_t> token_expiry_s_;
    int64_t service_expiry_s_ = 0;  // a policy with ServiceConnect, until then
    std::set<std::string> connected_devices_;
    std::optional<DpsLogin> dps_login_;
    provisioning::ProvisioningService* dps_ = nullptr;
    ReplyLink dps_reply_;  // answers to DPS requests
    // One timer for the earliest token expiry (Unix seconds) among the identities above.
    TimerId expiry_timer_ = 0;
    int64_t expiry_timer_at_s_ = 0;
    std::function<void(const std::string&)> on_device_proven_;
    ReplyLink cbs_;
    ReplyLink management_;
    std::map<std::string, Reader> readers_;  // by link name
    std::map<std::string, proton::sender> devicebound_;  // device id -> its C2D link
    std::map<std::string, proton::sender> feedback_links_;  // by link name
    std::map<std::string, Outstanding> outstanding_;  // delivery tag -> lock
    uint64_t next_tag_ = 0;
    std::map<D2cLog*, uint64_t> log_listeners_;  // log -> our commit listener on it
    // Whether this connection still exists, for callbacks that may outlive it.
    std::shared_ptr<HubConnection*> self_;
    // Before the pump: Proton holds pointers into it until the transport is freed.
    SaslServer sasl_;
    SaslFrameGuard frame_guard_;
    std::unique_ptr<DriverPump> pump_;
    // D2C deliveries waiting for their durable write, by ticket. Declared after the pump so
    // they are released while the driver still exists.
    std::map<uint64_t, proton::delivery> awaiting_durable_;
    // C2D/feedback deliveries the receiver left unsettled, waiting for the queue's answer.
    std::map<uint64_t, proton::tracker> awaiting_settlement_;
    uint64_t next_ticket_ = 0;
};

}  // namespace hub::amqp
