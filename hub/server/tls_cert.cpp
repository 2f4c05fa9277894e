#include "hub/server/tls_cert.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "hub/server/posix_file.hpp"

namespace hub::server {
namespace {

// 10 years (with leap days) of validity: a local test hub should never see its cert expire.
constexpr long cert_valid_days = 3653;
// notBefore is set an hour back so a client whose clock is slightly behind accepts the cert.
constexpr long cert_backdate_seconds = 3600;
constexpr int serial_bytes = 16;

struct OpensslFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
    void operator()(X509* p) const { X509_free(p); }
    void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
    void operator()(BIO* p) const { BIO_free(p); }
    void operator()(BIGNUM* p) const { BN_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, OpensslFree>;

// The OpenSSL error queue as text (and cleared), prefixed with what we were doing.
Status openssl_status(const std::string& what) {
    std::string message = what;
    while (unsigned long err = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(err, buf, sizeof(buf));
        message += std::string("; ") + buf;
    }
    return Status(Code::internal, message);
}

Status add_extension(X509* cert, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    Owned<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
        return openssl_status(std::string("add extension ") + OBJ_nid2sn(nid) + "=" + value);
    }
    return Status::ok_status();
}

Status set_random_serial(X509* cert) {
    unsigned char bytes[serial_bytes];
    if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
        return openssl_status("RAND_bytes");
    }
    bytes[0] &= 0x7f;  // serials are positive
    bytes[0] |= 0x01;  // and never start with a zero byte
    Owned<BIGNUM> bn(BN_bin2bn(bytes, sizeof(bytes), nullptr));
    if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert))) {
        return openssl_status("set serial number");
    }
    return Status::ok_status();
}

Status set_names_and_validity(X509* cert) {
    X509_NAME* name = X509_get_subject_name(cert);
    const auto* org = reinterpret_cast<const unsigned char*>("iothub-sim local hub");
    const auto* cn = reinterpret_cast<const unsigned char*>("localhost");
    if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, org, -1, -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0) != 1 ||
        X509_set_issuer_name(cert, name) != 1) {
        return openssl_status("set subject");
    }
    if (!X509_gmtime_adj(X509_getm_notBefore(cert), -cert_backdate_seconds) ||
        !X509_time_adj_ex(X509_getm_notAfter(cert), cert_valid_days, 0, nullptr)) {
        return openssl_status("set validity");
    }
    return Status::ok_status();
}

Status add_extensions(X509* cert) {
    // Subject key id first: the authority key id of a self-signed cert is computed from it.
    const std::pair<int, const char*> extensions[] = {
        {NID_basic_constraints, "critical,CA:TRUE"},
        {NID_key_usage, "critical,digitalSignature,keyEncipherment,keyCertSign,cRLSign"},
        {NID_subject_key_identifier, "hash"},
        {NID_authority_key_identifier, "keyid:always"},
        {NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"},
    };
    for (const auto& [nid, value] : extensions) {
        if (Status s = add_extension(cert, nid, value); !s.ok()) {
            return s;
        }
    }
    return Status::ok_status();
}

Result<Owned<X509>> make_cert(EVP_PKEY* key) {
    Owned<X509> cert(X509_new());
    if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
        X509_set_pubkey(cert.get(), key) != 1) {
        return openssl_status("X509_new");
    }
    if (Status s = set_random_serial(cert.get()); !s.ok()) {
        return s;
    }
    if (Status s = set_names_and_validity(cert.get()); !s.ok()) {
        return s;
    }
    if (Status s = add_extensions(cert.get()); !s.ok()) {
        return s;
    }
    if (X509_sign(cert.get(), key, EVP_sha256()) <= 0) {
        return openssl_status("X509_sign");
    }
    return cert;
}

Bytes bio_bytes(BIO* bio) {
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    HUB_ASSERT(size >= 0);
    return Bytes(data, data + size);
}

Status generate(const CertFiles& files) {
    Owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
    if (!key) {
        return openssl_status("generate EC P-256 key");
    }
    Result<Owned<X509>> cert = make_cert(key.get());
    if (!cert.ok()) {
        return cert.status();
    }
    Owned<BIO> key_pem(BIO_new(BIO_s_mem()));
    Owned<BIO> cert_pem(BIO_new(BIO_s_mem()));
    if (!key_pem || !cert_pem ||
        PEM_write_bio_PrivateKey(key_pem.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                 nullptr) != 1 ||
        PEM_write_bio_X509(cert_pem.get(), cert->get()) != 1) {
        return openssl_status("write PEM");
    }
    // Key first: a cert.pem without its key.pem is treated as "make both anew" anyway.
    if (Status s = write_file_atomic(files.key_pem_path, bio_bytes(key_pem.get()), 0600);
        !s.ok()) {
        return s;
    }
    return write_file_atomic(files.cert_pem_path, bio_bytes(cert_pem.get()), 0644);
}

bool file_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

Result<CertFiles> ensure_self_signed_cert(const std::string& dir) {
    if (dir.empty()) {
        return Status(Code::invalid_argument, "certificate directory is empty");
    }
    if (Status s = make_dirs(dir); !s.ok()) {
        return s;
    }
    std::error_code ec;
    std::filesystem::path abs = std::filesystem::canonical(dir, ec);
    if (ec) {
        return Status(Code::io_error, "resolve " + dir + ": " + ec.message());
    }
    CertFiles files;
    files.cert_pem_path = (abs / "cert.pem").string();
    files.key_pem_path = (abs / "key.pem").string();
    if (file_exists(files.cert_pem_path) && file_exists(files.key_pem_path)) {
        return files;
    }
    if (Status s = generate(files); !s.ok()) {
        return s;
    }
    files.created = true;
    return files;
}

}  // namespace hub::server
