#include "hub/amqp/selector_filter.hpp"

#include <charconv>
#include <string>

namespace hub::amqp {

namespace {

constexpr std::string_view kPrefix = "amqp.annotation.";
// Longer filters are refused before parsing: real ones are under 80 characters.
constexpr size_t kExpressionBytesMax = 256;

std::string_view trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
}

Status bad(std::string_view expression, const char* what) {
    return Status(Code::invalid_argument,
                  std::string("selector filter '") + std::string(expression) + "': " + what);
}

}  // namespace

Result<StartPosition> parse_selector(std::string_view expression) {
    if (expression.size() > kExpressionBytesMax) return bad(expression.substr(0, 32), "too long");
    std::string_view s = trim(expression);
    if (s.empty()) return StartPosition{};
    if (!s.starts_with(kPrefix)) return bad(expression, "must start with amqp.annotation.");
    s.remove_prefix(kPrefix.size());
    const size_t op = s.find_first_of("<>=");
    if (op == std::string_view::npos) return bad(expression, "no comparison");
    const std::string_view field = trim(s.substr(0, op));
    s.remove_prefix(op);
    StartPosition p;
    if (s.starts_with(">=")) {
        p.inclusive = true;
        s.remove_prefix(2);
    } else if (s.starts_with(">")) {
        s.remove_prefix(1);
    } else {
        return bad(expression, "only > and >= are supported");
    }
    s = trim(s);
    if (s.size() < 2 || s.front() != '\'' || s.back() != '\'') {
        return bad(expression, "the value must be in single quotes");
    }
    const std::string_view value = s.substr(1, s.size() - 2);
    if (field == "x-opt-offset" && value == "@latest") {
        p.kind = StartPosition::Kind::latest;
        return p;
    }
    int64_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size()) {
        return bad(expression, "the value is not an integer");
    }
    if (field == "x-opt-offset" || field == "x-opt-sequence-number") {
        p.kind = n < 0 ? StartPosition::Kind::earliest : StartPosition::Kind::sequence_number;
        p.value = n < 0 ? 0 : n;
        p.inclusive = n < 0 ? true : p.inclusive;  // "> -1" means from the first event
    } else if (field == "x-opt-enqueued-time") {
        p.kind = StartPosition::Kind::enqueued_time;
        p.value = n;
    } else {
        return bad(expression, "unknown field");
    }
    return p;
}

}  // namespace hub::amqp
