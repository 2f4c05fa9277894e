// SAS tokens as Azure IoT Hub uses them.
//
// Token: "SharedAccessSignature sr=<sr>&sig=<url-encoded base64 sig>&se=<epoch seconds>[&skn=<name>]"
// (fields in any order). The signature is base64(HMAC-SHA256(key = base64decode(key),
// msg = sr + "\n" + se)), computed over `sr` exactly as it appears in the token: device
// tokens carry a URL-encoded sr ("host%2Fdevices%2Fid"), service tokens a raw one. Matching
// the sr to a resource decodes it and compares case-insensitively.
//
// Pure functions: no clock (the caller passes now), no I/O. OpenSSL does the crypto.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "hub/env/env.hpp"

namespace hub::auth {

struct SasToken {
    std::string sr;   // as written in the token (still URL-encoded if it was)
    std::string sig;  // base64, URL-decoded
    std::string skn;  // empty when absent (device keys)
    int64_t se = 0;   // expiry, seconds since the Unix epoch
};

// Parses the token text. Errors: invalid_argument with what is wrong.
Result<SasToken> parse_sas_token(std::string_view text);

// Creates a token (used by our clients and tests). `sr` is used exactly as given.
std::string make_sas_token(std::string_view sr, std::string_view key_base64, int64_t expiry_s,
                           std::string_view key_name = {});

// Checks the signature with `key_base64` and that now_s < se.
// Errors: unauthorized ("signature mismatch", "token expired").
Status verify_sas_token(const SasToken& token, std::string_view key_base64, int64_t now_s);
// The Service Bus / Event Hubs convention: the HMAC key is the key text's own bytes, not its
// base64 decoding (the @azure/event-hubs client signs this way; reference §9).
Status verify_sas_token_text_key(const SasToken& token, std::string_view key_text, int64_t now_s);

// The device id a device token's sr names, if sr decodes to "{host}/devices/{id}" with the
// given host (case-insensitive). Errors: unauthorized.
Result<std::string> device_of_audience(std::string_view sr, std::string_view host_name);

// HMAC-SHA256 (32 bytes): SAS signatures, DPS group-derived device keys.
Bytes hmac_sha256(ByteView key, std::string_view message);

std::string url_encode_strict(std::string_view s);  // encodeURIComponent plus !'()*
Result<std::string> url_decode(std::string_view s);
std::string base64_encode(ByteView bytes);
Result<Bytes> base64_decode(std::string_view text);

}  // namespace hub::auth
