#include "hub/core/time_format.hpp"

#include <cstdio>

namespace hub {

namespace {

// Days since 1970-01-01 <-> civil date (proleptic Gregorian), after Howard Hinnant's
// public-domain date algorithms.
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2 ? 1 : 0;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t* y, int64_t* m, int64_t* d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp + (mp < 10 ? 3 : -9);
    *y = yoe + era * 400 + (*m <= 2 ? 1 : 0);
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool digits(std::string_view s, size_t pos, size_t n, int64_t* out) {
    if (pos + n > s.size()) return false;
    int64_t v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

}  // namespace

std::string format_utc_ms(int64_t utc_ms) {
    const int64_t days = floor_div(utc_ms, 86'400'000);
    const int64_t ms_of_day = utc_ms - days * 86'400'000;
    int64_t y = 0, m = 0, d = 0;
    civil_from_days(days, &y, &m, &d);
    char buf[96];  // room for any int64 fields, though real dates need 24
    std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ",
                  static_cast<long long>(y), static_cast<long long>(m), static_cast<long long>(d),
                  static_cast<long long>(ms_of_day / 3'600'000),
                  static_cast<long long>(ms_of_day / 60'000 % 60),
                  static_cast<long long>(ms_of_day / 1000 % 60),
                  static_cast<long long>(ms_of_day % 1000));
    return buf;
}

Result<int64_t> parse_utc_ms(std::string_view s) {
    int64_t y, mo, d, h, mi, sec;
    const bool shape = digits(s, 0, 4, &y) && s.size() > 19 && s[4] == '-' &&
                       digits(s, 5, 2, &mo) && s[7] == '-' && digits(s, 8, 2, &d) &&
                       s[10] == 'T' && digits(s, 11, 2, &h) && s[13] == ':' &&
                       digits(s, 14, 2, &mi) && s[16] == ':' && digits(s, 17, 2, &sec);
    if (!shape || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) {
        return Status(Code::invalid_argument, "not an ISO 8601 UTC time: " + std::string(s));
    }
    size_t pos = 19;
    int64_t ms = 0;
    if (s[pos] == '.') {
        size_t n = 0;
        int64_t scale = 100;
        for (++pos; pos < s.size() && s[pos] >= '0' && s[pos] <= '9' && n < 7; ++pos, ++n) {
            ms += (s[pos] - '0') * scale;
            scale /= 10;
        }
        if (n == 0) return Status(Code::invalid_argument, "empty fraction in " + std::string(s));
    }
    if (pos + 1 != s.size() || s[pos] != 'Z') {
        return Status(Code::invalid_argument, "ISO 8601 time must end in Z: " + std::string(s));
    }
    return ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60'000 + sec * 1000 + ms;
}

}  // namespace hub
