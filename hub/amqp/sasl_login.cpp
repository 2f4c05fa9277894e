#include "hub/amqp/sasl_login.hpp"

#include <algorithm>
#include <cctype>

#include "hub/core/registry.hpp"

namespace hub::amqp {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// "{name}{marker}{hub}" with the marker found from the right -> name; empty if no match.
std::string_view name_before(std::string_view authcid, std::string_view marker,
                             std::string_view hub_name) {
    const size_t at = authcid.rfind(marker);
    if (at == std::string_view::npos || at == 0) return {};
    if (!iequals(authcid.substr(at + marker.size()), hub_name)) return {};
    return authcid.substr(0, at);
}

Result<PlainUser> dps_user(std::string_view authcid) {
    static constexpr std::string_view kMarker = "/registrations/";
    const size_t at = authcid.find(kMarker);
    const std::string_view scope = authcid.substr(0, at);
    const std::string_view registration = authcid.substr(at + kMarker.size());
    // Registration ids are at most 128 characters (DPS docs), like device ids.
    if (scope.empty() || registration.empty() || registration.size() > 128 ||
        scope.find('/') != std::string_view::npos ||
        registration.find('/') != std::string_view::npos) {
        return Status(Code::unauthorized, "PLAIN user is not {idScope}/registrations/{id}");
    }
    return PlainUser{PlainUser::Kind::dps_registration, std::string(registration),
                     std::string(scope)};
}

}  // namespace

Result<PlainResponse> parse_plain_response(std::string_view response) {
    if (response.size() > kPlainResponseBytesMax) {
        return Status(Code::invalid_argument, "PLAIN response too long");
    }
    const size_t first = response.find('\0');
    const size_t second = first == std::string_view::npos ? first : response.find('\0', first + 1);
    if (second == std::string_view::npos) {
        return Status(Code::invalid_argument, "PLAIN response is not authzid NUL authcid NUL password");
    }
    PlainResponse out{std::string(response.substr(0, first)),
                      std::string(response.substr(first + 1, second - first - 1)),
                      std::string(response.substr(second + 1))};
    if (out.authcid.empty()) return Status(Code::invalid_argument, "PLAIN response without a user");
    HUB_ASSERT(out.authzid.size() + out.authcid.size() + out.password.size() + 2 == response.size());
    return out;
}

Result<PlainUser> parse_plain_user(std::string_view authcid, std::string_view hub_name) {
    if (authcid.find("/registrations/") != std::string_view::npos) return dps_user(authcid);
    // The service form first: "@sas.root." also contains "@sas.".
    if (std::string_view policy = name_before(authcid, "@sas.root.", hub_name); !policy.empty()) {
        return PlainUser{PlainUser::Kind::service, std::string(policy), {}};
    }
    if (std::string_view device = name_before(authcid, "@sas.", hub_name); !device.empty()) {
        if (!is_valid_device_id(device)) {
            return Status(Code::unauthorized, "PLAIN user names an invalid device id");
        }
        return PlainUser{PlainUser::Kind::device, std::string(device), {}};
    }
    return Status(Code::unauthorized, "PLAIN user is not {device}@sas.{hub}, "
                                      "{policy}@sas.root.{hub} or {idScope}/registrations/{id} "
                                      "for hub '" + std::string(hub_name) + "'");
}

}  // namespace hub::amqp
