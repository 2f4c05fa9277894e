// Fuzz target: every small text parser that sees untrusted input. The first byte picks the
// parser, the rest is its input. Each must return a value or an error, never crash; where a
// parser has an inverse, what it accepts must survive a round trip.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "conformance/connection_string.hpp"
#include "hub/amqp/eventhub.hpp"
#include "hub/amqp/selector_filter.hpp"
#include "hub/auth/sas.hpp"
#include "hub/core/c2d_store.hpp"
#include "hub/core/device_json.hpp"
#include "hub/core/time_format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
    switch (data[0] % 8) {
        case 0: (void)hub::auth::parse_sas_token(text); break;
        case 1: (void)hub::amqp::parse_selector(text); break;
        case 2: (void)conformance::parse_device_connection_string(text); break;
        case 3: {
            hub::Result<int64_t> t = hub::parse_utc_ms(text);
            if (t.ok() && *t > -62135596800000 && *t < 253402300800000) {  // years 1..9999
                HUB_ASSERT(*hub::parse_utc_ms(hub::format_utc_ms(*t)) == *t);
            }
            break;
        }
        case 4: {
            const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
            if (!j.is_discarded()) (void)hub::device_from_json(j);
            break;
        }
        case 5: (void)hub::amqp::parse_partition_address(text); break;
        case 6: (void)hub::parse_ack_mode(text); break;
        case 7: {
            hub::Result<std::string> decoded = hub::auth::url_decode(text);
            if (decoded.ok()) {
                HUB_ASSERT(*hub::auth::url_decode(hub::auth::url_encode_strict(*decoded)) == *decoded);
            }
            break;
        }
    }
    return 0;
}
