// Internal to hub/http: the endpoint handlers behind HttpServer::handle().
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "hub/core/access.hpp"
#include "hub/core/hub.hpp"
#include "hub/http/http_types.hpp"

namespace hub::http {

// A request target split into URL-decoded path segments and raw query parameters.
struct Target {
    std::vector<std::string> segments;
    std::vector<std::pair<std::string, std::string>> query;
    bool has_query(std::string_view name) const;
    std::string query_value(std::string_view name) const;
};
Result<Target> parse_target(std::string_view target);
bool iequals(std::string_view a, std::string_view b);

void handle_d2c(Hub& hub, const Request& request, const std::string& device_id, Respond respond);
// GET .../devicebound, DELETE .../devicebound/{lock}[?reject], POST .../{lock}/abandon.
void handle_c2d(Hub& hub, const Request& request, const std::string& device_id,
                const Target& target, Respond respond);
void handle_registry(Hub& hub, const Request& request, const Principal& principal,
                     const Target& target, Respond respond);

}  // namespace hub::http
