// TlsCert: a self-signed certificate for a local hub, made with the OpenSSL 3 C API.
//
// iothubd serves AMQPS with a certificate it makes itself on first start and reuses later. The
// certificate is its own CA (basicConstraints CA:TRUE), so a client can pass the same cert.pem
// as its trust anchor (Node: client.setOptions({ca})). It is valid for 10 years for the names
// localhost and 127.0.0.1 (subjectAltName DNS:localhost, IP:127.0.0.1), with an EC P-256 key.
//
// Files: `<dir>/cert.pem` (mode 0644) and `<dir>/key.pem` (mode 0600). Both are written to a
// temporary name, fsynced and renamed, so a crash never leaves half a key behind. If both exist
// they are reused as they are; if only one exists, both are made anew (a lone cert or key is
// useless).
//
// Threading: plain blocking calls, meant for startup before the event loop runs.
//
// Example:
//   Result<CertFiles> files = ensure_self_signed_cert("/var/lib/iothubd/tls");
//   if (files.ok()) { tls.cert_pem_path = files->cert_pem_path; ... }
#pragma once

#include <string>

#include "hub/env/status.hpp"

namespace hub::server {

struct CertFiles {
    std::string cert_pem_path;  // absolute
    std::string key_pem_path;   // absolute
    bool created = false;       // false when existing files were reused
};

// Makes `dir` (and its parents) if needed, then makes or reuses cert.pem and key.pem in it.
// Errors: io_error when the directory or files cannot be written, internal when OpenSSL fails.
Result<CertFiles> ensure_self_signed_cert(const std::string& dir);

}  // namespace hub::server
