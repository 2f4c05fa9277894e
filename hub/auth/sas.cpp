#include "hub/auth/sas.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace hub::auth {

namespace {

constexpr std::string_view kPrefix = "SharedAccessSignature ";
// Longer tokens are refused before parsing: no real token comes near this.
constexpr size_t kTokenBytesMax = 4096;

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

Status set_field(SasToken& token, std::string_view key, std::string_view value) {
    if (key == "sr") {
        token.sr = std::string(value);
    } else if (key == "sig") {
        Result<std::string> sig = url_decode(value);
        if (!sig.ok()) return sig.status();
        token.sig = *sig;
    } else if (key == "skn") {
        Result<std::string> skn = url_decode(value);
        if (!skn.ok()) return skn.status();
        token.skn = *skn;
    } else if (key == "se") {
        auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), token.se);
        if (ec != std::errc() || ptr != value.data() + value.size()) {
            return Status(Code::invalid_argument, "SAS token: se is not an integer");
        }
    }
    return Status::ok_status();  // unknown fields are ignored, as the service does
}

}  // namespace

Bytes hmac_sha256(ByteView key, std::string_view message) {
    Bytes out(EVP_MAX_MD_SIZE);
    unsigned int len = 0;
    const unsigned char* ok =
        HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(message.data()), message.size(), out.data(), &len);
    HUB_ASSERT(ok != nullptr && len == 32);
    out.resize(len);
    return out;
}

std::string url_encode_strict(std::string_view s) {
    static const char* kHex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        }
    }
    return out;
}

Result<std::string> url_decode(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out.push_back(s[i]);
            continue;
        }
        if (i + 2 >= s.size()) {
            return Status(Code::invalid_argument, "bad percent-encoding");
        }
        const int hi = hex_value(s[i + 1]);
        const int lo = hex_value(s[i + 2]);
        if (hi < 0 || lo < 0) {
            return Status(Code::invalid_argument, "bad percent-encoding");
        }
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

std::string base64_encode(ByteView bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                  static_cast<int>(bytes.size()));
    out.resize(static_cast<size_t>(n));
    return out;
}

Result<Bytes> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) {
        return Status(Code::invalid_argument, "base64: length is not a multiple of 4");
    }
    Bytes out(3 * (text.size() / 4) + 1);
    const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    if (n < 0) {
        return Status(Code::invalid_argument, "base64: invalid character");
    }
    size_t len = static_cast<size_t>(n);
    // EVP_DecodeBlock counts padding as zero bytes: remove them.
    for (size_t i = text.size(); i > 0 && text[i - 1] == '=' && len > 0; --i) {
        --len;
    }
    out.resize(len);
    return out;
}

Result<SasToken> parse_sas_token(std::string_view text) {
    if (text.size() > kTokenBytesMax) {
        return Status(Code::invalid_argument, "SAS token too long");
    }
    if (text.substr(0, kPrefix.size()) != kPrefix) {
        return Status(Code::invalid_argument, "not a SharedAccessSignature token");
    }
    SasToken token;
    std::string_view rest = text.substr(kPrefix.size());
    while (!rest.empty()) {
        const size_t amp = rest.find('&');
        const std::string_view field = rest.substr(0, amp);
        const size_t eq = field.find('=');
        if (eq == std::string_view::npos) {
            return Status(Code::invalid_argument, "SAS token field without '='");
        }
        Status s = set_field(token, field.substr(0, eq), field.substr(eq + 1));
        if (!s.ok()) return s;
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    }
    if (token.sr.empty() || token.sig.empty() || token.se == 0) {
        return Status(Code::invalid_argument, "SAS token needs sr, sig and se");
    }
    return token;
}

std::string make_sas_token(std::string_view sr, std::string_view key_base64, int64_t expiry_s,
                           std::string_view key_name) {
    Result<Bytes> key = base64_decode(key_base64);
    HUB_ASSERT(key.ok());
    const std::string to_sign = std::string(sr) + "\n" + std::to_string(expiry_s);
    const std::string sig = base64_encode(hmac_sha256(*key, to_sign));
    std::string token = std::string(kPrefix) + "sr=" + std::string(sr) +
                        "&sig=" + url_encode_strict(sig);
    if (!key_name.empty()) {
        token += "&skn=" + url_encode_strict(key_name);
    }
    return token + "&se=" + std::to_string(expiry_s);
}

namespace {

Status verify_with_key_bytes(const SasToken& token, ByteView key, int64_t now_s) {
    const std::string to_sign = token.sr + "\n" + std::to_string(token.se);
    const std::string expected = base64_encode(hmac_sha256(key, to_sign));
    if (expected.size() != token.sig.size() ||
        CRYPTO_memcmp(expected.data(), token.sig.data(), expected.size()) != 0) {
        return Status(Code::unauthorized, "signature mismatch");
    }
    if (now_s >= token.se) {
        return Status(Code::unauthorized, "token expired");
    }
    return Status::ok_status();
}

}  // namespace

Status verify_sas_token(const SasToken& token, std::string_view key_base64, int64_t now_s) {
    Result<Bytes> key = base64_decode(key_base64);
    if (!key.ok()) {
        return Status(Code::unauthorized, "key is not valid base64");
    }
    return verify_with_key_bytes(token, *key, now_s);
}

Status verify_sas_token_text_key(const SasToken& token, std::string_view key_text, int64_t now_s) {
    return verify_with_key_bytes(
        token, ByteView(reinterpret_cast<const uint8_t*>(key_text.data()), key_text.size()), now_s);
}

Result<std::string> device_of_audience(std::string_view sr, std::string_view host_name) {
    Result<std::string> decoded = url_decode(sr);
    if (!decoded.ok()) {
        return Status(Code::unauthorized, "audience is not valid percent-encoding");
    }
    const std::string prefix = std::string(host_name) + "/devices/";
    const std::string& audience = *decoded;
    if (audience.size() <= prefix.size() ||
        !iequals(std::string_view(audience).substr(0, prefix.size()), prefix)) {
        return Status(Code::unauthorized, "audience '" + audience + "' is not a device of " +
                                              std::string(host_name));
    }
    std::string device = audience.substr(prefix.size());
    if (device.find('/') != std::string::npos) {
        return Status(Code::unauthorized, "audience names a module or sub-resource");
    }
    return device;
}

}  // namespace hub::auth
