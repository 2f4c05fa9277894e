#include "hub/http/http_server.hpp"
#include "hub/core/json_text.hpp"

#include <cctype>

#include <nlohmann/json.hpp>

#include "hub/auth/sas.hpp"
#include "hub/http/dps_routes.hpp"
#include "hub/http/http_connection.hpp"
#include "hub/http/routes.hpp"

namespace hub::http {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

bool Target::has_query(std::string_view name) const {
    for (const auto& [key, value] : query) {
        if (iequals(key, name)) return true;
    }
    return false;
}

std::string Target::query_value(std::string_view name) const {
    for (const auto& [key, value] : query) {
        if (iequals(key, name)) return value;
    }
    return {};
}

Result<Target> parse_target(std::string_view text) {
    Target t;
    const size_t q = text.find('?');
    std::string_view path = text.substr(0, q);
    std::string_view query = q == std::string_view::npos ? "" : text.substr(q + 1);
    if (path.empty() || path.front() != '/') {
        return Status(Code::invalid_argument, "request target must start with /");
    }
    for (size_t pos = 1; pos <= path.size();) {
        const size_t slash = std::min(path.find('/', pos), path.size());
        Result<std::string> segment = auth::url_decode(path.substr(pos, slash - pos));
        if (!segment.ok()) return segment.status();
        t.segments.push_back(*segment);
        pos = slash + 1;
    }
    while (!query.empty()) {
        const size_t amp = query.find('&');
        const std::string_view part = query.substr(0, amp);
        const size_t eq = part.find('=');
        t.query.emplace_back(std::string(part.substr(0, eq)),
                             eq == std::string_view::npos ? "" : std::string(part.substr(eq + 1)));
        query = amp == std::string_view::npos ? "" : query.substr(amp + 1);
    }
    return t;
}

HttpServer::HttpServer(Env& env, Hub& hub) : env_(env), hub_(hub) {}

HttpServer::~HttpServer() {
    for (const auto& [id, timer] : reap_timers_) env_.cancel(timer);
    connections_.clear();
    listener_.reset();
}

void HttpServer::serve_provisioning(provisioning::ProvisioningService& dps,
                                    ProvisioningEndpoint endpoint) {
    HUB_ASSERT(provisioning_ == nullptr);
    provisioning_ = std::make_unique<ProvisioningRoutes>(env_, dps, std::move(endpoint));
}

Status HttpServer::listen(const std::string& address) {
    Result<std::unique_ptr<Listener>> listener = env_.network().listen(
        address, [this](std::unique_ptr<Stream> stream) { serve(std::move(stream)); });
    if (!listener.ok()) return listener.status();
    listener_ = std::move(*listener);
    env_.trace("http.listen", listener_->address());
    return Status();
}

std::string HttpServer::address() const { return listener_ ? listener_->address() : ""; }

void HttpServer::serve(std::unique_ptr<Stream> stream) {
    const uint64_t id = next_id_++;
    auto connection = std::make_unique<HttpConnection>(
        env_, std::move(stream),
        [this](const Request& request, Respond respond) { handle(request, std::move(respond)); },
        [this, id] { reap(id); });
    HttpConnection* raw = connection.get();
    connections_.emplace(id, std::move(connection));
    raw->start();
}

void HttpServer::reap(uint64_t id) {
    reap_timers_[id] = env_.schedule(env_.now(), [this, id] {
        reap_timers_.erase(id);
        connections_.erase(id);
    });
}

Response HttpServer::health() const {
    const nlohmann::json body = {{"status", "ok"},
                                 {"hub", hub_.config().host_name},
                                 {"devices", hub_.registry().size()},
                                 {"d2cPartitions", hub_.d2c().partition_count()},
                                 {"httpConnections", connections_.size()}};
    return json_response(200, json_text(body));
}

void HttpServer::handle(const Request& request, Respond respond) {
    Result<Target> target = parse_target(std::string_view(request.target().data(),
                                                          request.target().size()));
    if (!target.ok()) return respond(error_response(target.status()));
    if (target->segments.size() == 1 && iequals(target->segments[0], "health")) {
        return respond(health());
    }
    // DPS has its own tokens (registration, provisioning policy): route before the hub's check.
    if (provisioning_ != nullptr && ProvisioningRoutes::owns(*target)) {
        return respond(provisioning_->handle(request, *target));
    }
    const auto auth = request.find(boost::beast::http::field::authorization);
    const std::string token = auth == request.end() ? "" : std::string(auth->value());
    Result<Principal> principal =
        authenticate(hub_.registry(), hub_.config().host_name, token, env_.utc_now_ms() / 1000);
    env_.trace("http.request", std::string(request.method_string()) + " " +
                                   std::string(request.target()) + " " +
                                   (principal.ok() ? principal->name : principal.status().message()));
    if (!principal.ok()) {
        return respond(error_response(principal.status()));
    }
    const std::vector<std::string>& s = target->segments;
    if (s.size() == 4 && iequals(s[0], "devices") && iequals(s[2], "messages") &&
        iequals(s[3], "events")) {
        if (principal->kind != Principal::Kind::device || principal->name != s[1]) {
            return respond(error_response(
                Status(Code::unauthorized, "the token is not for device " + s[1])));
        }
        return handle_d2c(hub_, request, s[1], std::move(respond));
    }
    if (s.size() >= 4 && s.size() <= 6 && iequals(s[0], "devices") && iequals(s[2], "messages") &&
        iequals(s[3], "devicebound")) {
        if (principal->kind != Principal::Kind::device || principal->name != s[1]) {
            return respond(error_response(
                Status(Code::unauthorized, "the token is not for device " + s[1])));
        }
        return handle_c2d(hub_, request, s[1], *target, std::move(respond));
    }
    if (!s.empty() && s.size() <= 2 && iequals(s[0], "devices")) {
        return handle_registry(hub_, request, *principal, *target, std::move(respond));
    }
    respond(error_response(Status(Code::not_found, "no such endpoint: " +
                                                       std::string(request.target())),
                           "NotFound"));
}

}  // namespace hub::http
