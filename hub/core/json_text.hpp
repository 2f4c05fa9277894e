// JSON to text for anything the hub writes or sends. nlohmann's dump() throws on invalid UTF-8,
// and strings reach our JSON from untrusted places (request targets in error bodies, token
// audiences in monitoring events, AMQP message ids, which Proton does not validate): replace
// bad bytes with U+FFFD instead of letting a peer crash the hub (found by http_connection_fuzz).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace hub {

template <typename Json>
std::string json_text(const Json& json, int indent = -1) {
    return json.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace hub
