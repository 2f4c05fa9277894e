#include "hub/http/http_types.hpp"
#include "hub/core/json_text.hpp"

#include <nlohmann/json.hpp>

namespace hub::http {

namespace {

std::pair<int, const char*> http_status_of(Code code) {
    switch (code) {
        case Code::invalid_argument: return {400, "ArgumentInvalid"};
        case Code::unauthorized: return {401, "IotHubUnauthorizedAccess"};
        case Code::resource_exhausted: return {403, "IotHubQuotaExceeded"};
        case Code::not_found: return {404, "DeviceNotFound"};
        case Code::already_exists: return {409, "DeviceAlreadyExists"};
        case Code::failed_precondition: return {412, "PreconditionFailed"};
        case Code::unavailable: return {503, "ServiceUnavailable"};
        default: return {500, "ServerError"};
    }
}

}  // namespace

Response json_response(int status, std::string body) {
    return Response{status, {{"Content-Type", "application/json; charset=utf-8"}}, std::move(body)};
}

Response error_response(const Status& status, std::string error_code) {
    auto [http_status, default_code] = http_status_of(status.code());
    if (error_code.empty()) error_code = default_code;
    const nlohmann::json body = {
        {"Message", "ErrorCode:" + error_code + ";" + status.message()},
        {"ExceptionMessage", status.to_string()},
    };
    return json_response(http_status, json_text(body));
}

}  // namespace hub::http
