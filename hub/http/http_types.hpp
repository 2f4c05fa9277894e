// Requests and responses between the HTTP connection and the handlers.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "hub/env/status.hpp"

namespace hub::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;

struct Response {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

// Handlers answer once, possibly later (after a durable write).
using Respond = std::function<void(Response)>;

// A JSON response.
Response json_response(int status, std::string body);
// Azure's error shape: {"Message":"ErrorCode:<code>;<text>","ExceptionMessage":"..."}; the
// SDKs split the code out of Message. The HTTP status and code come from the Status's code
// unless `error_code` overrides it (e.g. "DeviceNotFound" vs "IotHubNotFound").
Response error_response(const Status& status, std::string error_code = {});

}  // namespace hub::http
