// UTC timestamps in the ISO 8601 form Azure IoT Hub uses ("2026-01-01T00:00:00.000Z").
//
// Pure integer arithmetic (no locale, no time zone database, no libc time functions), so the
// simulator formats identically everywhere. Azure's "never" is "0001-01-01T00:00:00Z".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "hub/env/status.hpp"

namespace hub {

// Milliseconds since the Unix epoch -> "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string format_utc_ms(int64_t utc_ms);
// The registry's null time, as the service writes it.
inline constexpr const char* kNeverUtc = "0001-01-01T00:00:00Z";
// Parses "YYYY-MM-DDTHH:MM:SS[.fraction]Z" (fraction up to 7 digits, as .NET writes).
// Errors: invalid_argument.
Result<int64_t> parse_utc_ms(std::string_view text);

}  // namespace hub
