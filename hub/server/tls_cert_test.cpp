// Tests for ensure_self_signed_cert: names, CA flag, validity, key mode, reuse.
#include "hub/server/tls_cert.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "hub/server/test_temp_dir.hpp"

namespace hub::server {
namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct X509Deleter {
    void operator()(X509* x) const { X509_free(x); }
};

std::unique_ptr<X509, X509Deleter> load_cert(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "r");
    HUB_ASSERT(f != nullptr);
    X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    return std::unique_ptr<X509, X509Deleter>(x);
}

TEST(TlsCert, MakesASelfSignedCaForLocalhost) {
    TestTempDir dir;
    Result<CertFiles> files = ensure_self_signed_cert(dir.sub("a/b/tls"));
    ASSERT_TRUE(files.ok()) << files.status().to_string();
    EXPECT_TRUE(files->created);
    EXPECT_EQ(files->cert_pem_path.front(), '/');

    auto cert = load_cert(files->cert_pem_path);
    ASSERT_TRUE(cert);
    EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
    EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
    EXPECT_NE(X509_check_host(cert.get(), "example.com", 0, 0, nullptr), 1);
    EXPECT_EQ(X509_check_ca(cert.get()), 1);  // basicConstraints CA:TRUE
    EXPECT_EQ(X509_check_issued(cert.get(), cert.get()), X509_V_OK);  // self-issued
    EXPECT_EQ(X509_verify(cert.get(), X509_get0_pubkey(cert.get())), 1);  // self-signed

    int days = 0;
    int seconds = 0;
    ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(cert.get())), 1);
    EXPECT_GE(days, 3650);
    EXPECT_LE(days, 3660);

    struct stat st {};
    ASSERT_EQ(::stat(files->key_pem_path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_NE(slurp(files->key_pem_path).find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
}

TEST(TlsCert, ReusesExistingFiles) {
    TestTempDir dir;
    Result<CertFiles> first = ensure_self_signed_cert(dir.path());
    ASSERT_TRUE(first.ok());
    const std::string cert_pem = slurp(first->cert_pem_path);
    const std::string key_pem = slurp(first->key_pem_path);
    Result<CertFiles> second = ensure_self_signed_cert(dir.path());
    ASSERT_TRUE(second.ok());
    EXPECT_FALSE(second->created);
    EXPECT_EQ(slurp(second->cert_pem_path), cert_pem);
    EXPECT_EQ(slurp(second->key_pem_path), key_pem);
}

TEST(TlsCert, RemakesBothWhenOneIsMissing) {
    TestTempDir dir;
    Result<CertFiles> first = ensure_self_signed_cert(dir.path());
    ASSERT_TRUE(first.ok());
    const std::string cert_pem = slurp(first->cert_pem_path);
    ASSERT_EQ(std::remove(first->key_pem_path.c_str()), 0);
    Result<CertFiles> second = ensure_self_signed_cert(dir.path());
    ASSERT_TRUE(second.ok());
    EXPECT_TRUE(second->created);
    EXPECT_NE(slurp(second->cert_pem_path), cert_pem);
}

TEST(TlsCert, UnwritableDirectoryIsAnError) {
    TestTempDir dir;
    {
        std::ofstream(dir.sub("file")) << "x";
    }
    Result<CertFiles> files = ensure_self_signed_cert(dir.sub("file/tls"));
    ASSERT_FALSE(files.ok());
    EXPECT_NE(files.status().message().find("not a directory"), std::string::npos)
        << files.status().to_string();
}

}  // namespace
}  // namespace hub::server
