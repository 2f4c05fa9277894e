// TlsNetwork: hub::Network over TCP + TLS (Boost.Asio + OpenSSL 3), private to hub/server.
//
// listen("host:port") binds a TCP acceptor and runs the TLS server handshake on each accepted
// socket (TLS 1.2 or newer, the certificate and key of TlsConfig); only a stream whose
// handshake succeeded is handed to the AcceptHandler. connect("host:port") resolves, connects
// and runs the TLS client handshake, verifying the server's certificate against
// TlsConfig::ca_pem_path and its name against `host` (SNI + RFC 6125 host name check).
//
// Streams follow env.hpp to the letter: handlers are set once; write() appends to a queue that
// one async_write at a time drains in order; close() flushes the queue, sends a TLS
// close_notify (best effort, bounded by `close_linger`) and closes the socket; a peer's orderly
// close (close_notify or FIN) reports an ok Status, a reset or failure a non-ok one. No
// callback runs after the owner called close() or destroyed the stream, and none runs inside
// write(), close() or set_handlers(): they all come from the io_context.
//
// Memory: OpenSSL works on the socket directly and buffers nothing while a connection idles
// (tls_stream_core.hpp says why and what it saves).
//
// Process state: the constructor ignores SIGPIPE (OpenSSL writes with write(2)).
//
// Ownership: each stream's socket lives in a shared state object that the pending Asio
// operations also hold, so a handler that completes after the owner dropped the stream finds
// the state alive and a `callbacks_on` flag off. The io_context must outlive the TlsNetwork,
// and the TlsNetwork (its SSL contexts) must outlive its listeners.
//
// Threading: single-threaded; everything runs on the thread that runs the io_context.
//
// Example:
//   TlsNetwork net(io, TlsConfig{cert, key, ca});
//   auto listener = net.listen("127.0.0.1:0", [&](std::unique_ptr<Stream> s) { ... });
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "hub/env/env.hpp"

namespace hub::server {

struct TlsConfig {
    std::string cert_pem_path;  // server certificate chain for listen(); may be empty otherwise
    std::string key_pem_path;   // server private key for listen()
    std::string ca_pem_path;    // trust anchor for connect(); may be empty if never connecting
};

// Time limits of one stream. Defaults suit a hub on a LAN or loopback.
struct TlsTimeouts {
    // TCP connect + TLS handshake: a peer that stalls longer is treated as gone.
    Duration handshake = Duration::seconds(10);
    // After close(): time to flush queued bytes and exchange close_notify before a hard close.
    Duration close_linger = Duration::seconds(5);
    // Slow-client protection: a peer that takes none of our queued bytes for this long is
    // disconnected (resource_exhausted), so it cannot pin its queue and its hub state forever.
    Duration write_stall = Duration::seconds(60);
};

// "host:port" split in two. Accepts "[v6]:port". Errors: invalid_argument.
struct HostPort {
    std::string host;
    uint16_t port = 0;
};
Result<HostPort> parse_host_port(const std::string& address);

class TlsNetwork final : public Network {
  public:
    TlsNetwork(boost::asio::io_context& io, TlsConfig config, TlsTimeouts timeouts = {});
    ~TlsNetwork() override;
    TlsNetwork(const TlsNetwork&) = delete;
    TlsNetwork& operator=(const TlsNetwork&) = delete;

    // Errors: invalid_argument for a bad address or TLS files, unavailable when the address
    // is in use or cannot be bound.
    Result<std::unique_ptr<Listener>> listen(const std::string& address,
                                             AcceptHandler on_accept) override;
    void connect(const std::string& address, ConnectHandler on_connected) override;

  private:
    Result<std::shared_ptr<boost::asio::ssl::context>> server_context();
    Result<std::shared_ptr<boost::asio::ssl::context>> client_context();

    boost::asio::io_context& io_;
    TlsConfig config_;
    TlsTimeouts timeouts_;
    // Made on first use (a client-only env needs no server cert and vice versa). Shared with
    // listeners and in-flight handshakes, which may finish after this object is gone.
    std::shared_ptr<boost::asio::ssl::context> server_ctx_;
    std::shared_ptr<boost::asio::ssl::context> client_ctx_;
    // Where every stream of this network decrypts into (see tls_stream_core.hpp).
    std::shared_ptr<Bytes> scratch_;
};

}  // namespace hub::server
