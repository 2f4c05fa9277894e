// HubConnection's authentication: SASL logins, proven identities, and their expiry.
#include <algorithm>
#include <cctype>
#include <vector>

#include <proton/connection.hpp>
#include <proton/error_condition.hpp>
#include <proton/receiver.hpp>
#include <proton/sender.hpp>
#include <proton/source.hpp>
#include <proton/target.hpp>

#include "hub/amqp/hub_connection.hpp"
#include "hub/core/provisioning/provisioning_service.hpp"
#include "hub/amqp/sasl_login.hpp"

namespace hub::amqp {

namespace {

std::string upper(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

bool is_device_link(const std::string& address, const std::string& device_id) {
    return address.starts_with("/devices/" + device_id + "/");
}

}  // namespace

SaslVerdict HubConnection::on_sasl_init(const SaslInit& init) {
    // Proton matched the mechanism against kMechanisms case-insensitively.
    const std::string mechanism = upper(init.mechanism);
    trace("sasl.init", mechanism);
    if (mechanism == "ANONYMOUS" || mechanism == "MSSBCBS") {
        return SaslVerdict{true, "anonymous"};  // the peer must then put a token on $cbs
    }
    if (mechanism == "PLAIN") {
        return plain_login(init.response);
    }
    // EXTERNAL means "the identity the transport already proved", i.e. a TLS client certificate
    // (X.509 devices). Our TLS asks for no client certificate yet, so no transport carries an
    // authenticated peer: succeeding would let anyone in unproven. Refused until X.509 exists.
    trace("sasl.refused", mechanism + ": no authenticated transport identity");
    return SaslVerdict{};
}

SaslVerdict HubConnection::plain_login(std::string_view response) {
    Result<PlainResponse> plain = parse_plain_response(response);
    Result<PlainUser> user = plain.ok() ? parse_plain_user(plain->authcid, entity())
                                        : Result<PlainUser>(plain.status());
    if (user.ok() && !plain->authzid.empty() && plain->authzid != plain->authcid) {
        user = Status(Code::unauthorized, "PLAIN authzid differs from the user");
    }
    if (!user.ok()) {
        trace("sasl.refused", "PLAIN " + user.status().to_string());
        return SaslVerdict{};
    }
    if (user->kind == PlainUser::Kind::dps_registration) {
        // With a DPS served here, a bad registration token fails the login itself, as Azure
        // DPS does (the SDK then reports UnauthorizedError at once); without one it is kept
        // for the links to refuse.
        if (dps_ != nullptr) {
            Status ok = user->id_scope == dps_->id_scope()
                            ? dps_->check_registration_token(user->name, plain->password,
                                                             env_.utc_now_ms())
                            : Status(Code::unauthorized, "unknown id scope " + user->id_scope);
            trace("sasl.dps", plain->authcid + " " + ok.to_string());
            if (!ok.ok()) return SaslVerdict{};
        } else {
            trace("sasl.dps", plain->authcid + " (token unverified: no DPS here)");
        }
        Result<auth::SasToken> token = auth::parse_sas_token(plain->password);
        dps_login_ = DpsLogin{user->id_scope, user->name, plain->password,
                              token.ok() ? token->se : 0};
        arm_expiry_timer();
        return SaslVerdict{true, plain->authcid};
    }
    const bool device = user->kind == PlainUser::Kind::device;
    Result<Principal> who = authenticate(hub_.registry(), hub_.config().host_name,
                                         plain->password, env_.utc_now_ms() / 1000);
    if (who.ok() && (who->name != user->name ||
                     (who->kind == Principal::Kind::device) != device)) {
        who = Status(Code::unauthorized, "the token is not for PLAIN user " + plain->authcid);
    }
    const Status status = who.ok() ? prove(*who) : who.status();
    trace("sasl.plain", plain->authcid + " " + status.to_string());
    if (!status.ok()) {
        hub_.monitor().connection_error(device ? user->name : std::string(), status.to_string());
        return SaslVerdict{};
    }
    return SaslVerdict{true, plain->authcid};
}

Status HubConnection::prove(const Principal& who) {
    if (who.kind == Principal::Kind::device) {
        const bool is_new = !token_expiry_s_.contains(who.name);
        token_expiry_s_[who.name] = who.expiry_s;
        if (is_new && on_device_proven_) on_device_proven_(who.name);
    } else if (who.may(kServiceConnect)) {
        service_expiry_s_ = std::max(service_expiry_s_, who.expiry_s);
    } else {
        return Status(Code::unauthorized, "policy " + who.name + " lacks ServiceConnect");
    }
    arm_expiry_timer();
    return Status();
}

bool HubConnection::authorized(const std::string& device_id) const {
    auto it = token_expiry_s_.find(device_id);
    return it != token_expiry_s_.end() && env_.utc_now_ms() / 1000 < it->second;
}

bool HubConnection::service_authorized() const {
    return env_.utc_now_ms() / 1000 < service_expiry_s_;
}

void HubConnection::arm_expiry_timer() {
    int64_t earliest_s = service_expiry_s_;
    const auto consider = [&](int64_t expiry_s) {
        earliest_s = earliest_s == 0 ? expiry_s : std::min(earliest_s, expiry_s);
    };
    for (const auto& [device_id, expiry_s] : token_expiry_s_) consider(expiry_s);
    if (dps_login_ && dps_login_->expiry_s != 0) consider(dps_login_->expiry_s);
    if (earliest_s == expiry_timer_at_s_) return;
    env_.cancel(expiry_timer_);
    expiry_timer_ = 0;
    expiry_timer_at_s_ = earliest_s;
    if (earliest_s == 0) return;
    // A token is valid while now < se (seconds), so it lapses at se * 1000 ms UTC. Env timers
    // run on the monotonic clock: wait the difference, at least 1 ms so time always moves.
    const int64_t delay_ms = std::max<int64_t>(1, earliest_s * 1000 - env_.utc_now_ms());
    expiry_timer_ = env_.schedule(env_.now() + Duration::millis(delay_ms), [this] {
        expiry_timer_ = 0;
        expiry_timer_at_s_ = 0;
        on_tokens_expired();
    });
}

void HubConnection::on_tokens_expired() {
    if (pump_->finished()) return;
    const int64_t now_s = env_.utc_now_ms() / 1000;
    std::vector<std::string> expired;
    for (const auto& [device_id, expiry_s] : token_expiry_s_) {
        if (now_s >= expiry_s) expired.push_back(device_id);
    }
    const bool service_expired = service_expiry_s_ != 0 && now_s >= service_expiry_s_;
    const bool dps_expired =
        dps_login_ && dps_login_->expiry_s != 0 && now_s >= dps_login_->expiry_s;
    for (const std::string& device_id : expired) token_expiry_s_.erase(device_id);
    if (service_expired) service_expiry_s_ = 0;
    if (dps_expired) {
        dps_login_->expiry_s = 0;  // new DPS links are refused: their check sees the lapse
        trace("amqp.token-expired", "dps " + dps_login_->registration_id);
    }
    if (!expired.empty() || service_expired || dps_expired) {
        const bool only_dps = expired.empty() && !service_expired;
        const proton::error_condition why(
            "amqp:unauthorized-access",
            only_dps ? "the registration's SAS token expired"
                     : "the SAS token expired and was not renewed on $cbs");
        const bool dps_live = dps_login_ && dps_login_->expiry_s != 0;
        if (token_expiry_s_.empty() && service_expiry_s_ == 0 && !dps_live) {
            pump_->connection().close(why);  // nothing else is proven here: the connection goes
        } else {
            for (const std::string& device_id : expired) close_device_links(device_id, why);
            if (service_expired) close_service_links(why);
            if (dps_expired) close_dps_links(why);
        }
        for (const std::string& device_id : expired) {
            trace("amqp.token-expired", device_id);
            devicebound_.erase(device_id);
            if (connected_devices_.erase(device_id) > 0) {
                hub_.monitor().device_disconnected(device_id, "SAS token expired (not renewed)");
                hub_.registry().set_connected(device_id, false, env_.utc_now_ms());
            }
        }
    }
    arm_expiry_timer();
    pump_->process();
}

void HubConnection::close_device_links(const std::string& device_id,
                                       const proton::error_condition& why) {
    for (proton::sender s : all_senders()) {
        if (s.active() && is_device_link(s.source().address(), device_id)) s.close(why);
    }
    for (proton::receiver r : all_receivers()) {
        if (r.active() && is_device_link(r.target().address(), device_id)) r.close(why);
    }
}

void HubConnection::close_service_links(const proton::error_condition& why) {
    for (auto& [name, reader] : readers_) reader.link.close(why);
    for (auto& [name, link] : feedback_links_) link.close(why);
    readers_.clear();
    feedback_links_.clear();
    for (proton::receiver r : all_receivers()) {
        if (r.active() && r.target().address() == "/messages/devicebound") r.close(why);
    }
}

void HubConnection::close_dps_links(const proton::error_condition& why) {
    for (proton::sender s : all_senders()) {
        if (s.active() && !dps_registration_of(s.source().address()).empty()) s.close(why);
    }
    for (proton::receiver r : all_receivers()) {
        if (r.active() && !dps_registration_of(r.target().address()).empty()) r.close(why);
    }
}

void HubConnection::evict(const std::string& device_id) {
    if (token_expiry_s_.erase(device_id) == 0) return;
    trace("amqp.evict", device_id + " ConnectionForcefullyClosedOnNewConnection");
    const proton::error_condition why("amqp:link:detach-forced",
                                      "ConnectionForcefullyClosedOnNewConnection (400027): "
                                      "a new connection for device " + device_id);
    if (token_expiry_s_.empty() && service_expiry_s_ == 0) {
        pump_->connection().close(why);  // a device's own connection: it goes entirely
    } else {
        close_device_links(device_id, why);
    }
    devicebound_.erase(device_id);
    if (connected_devices_.erase(device_id) > 0) {
        hub_.monitor().device_disconnected(device_id, "ConnectionForcefullyClosedOnNewConnection");
    }
    arm_expiry_timer();
    pump_->process();
}

}  // namespace hub::amqp
