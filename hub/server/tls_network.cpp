#include "hub/server/tls_network.hpp"

#include <csignal>

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <exception>
#include <utility>

#include "hub/server/tls_stream_core.hpp"

namespace hub::server {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

// Decrypted bytes land here before the read handler sees them; one buffer serves every stream
// of a network (single-threaded). A TLS record carries at most 16 KiB of plaintext.
constexpr size_t read_scratch_bytes = 16 * 1024;
// Accepted sockets still in their TLS handshake; more are refused so a flood of idle TCP
// connections cannot pin unbounded memory (each waits at most TlsTimeouts::handshake).
constexpr size_t handshakes_in_flight_max = 256;
// Pause before accepting again after an accept error such as EMFILE, so it does not spin.
constexpr auto accept_retry_delay = std::chrono::milliseconds(100);

std::chrono::nanoseconds to_chrono(Duration d) { return std::chrono::nanoseconds(d.ns); }

Status net_status(const std::string& what, const error_code& ec) {
    return Status(Code::unavailable, what + ": " + ec.message());
}

std::string endpoint_text(const tcp::endpoint& ep) {
    const std::string host = ep.address().to_string();
    const std::string port = std::to_string(ep.port());
    return ep.address().is_v6() ? "[" + host + "]:" + port : host + ":" + port;
}

bool is_ip_literal(const std::string& host) {
    error_code ec;
    (void)asio::ip::make_address(host, ec);
    return !ec;
}

// The owner's handle. Dropping it is close(): queued bytes still go out, no callback runs.
class TlsStream final : public Stream {
  public:
    explicit TlsStream(std::shared_ptr<TlsStreamCore> core) : core_(std::move(core)) {}
    ~TlsStream() override { core_->close_by_owner(); }
    TlsStream(const TlsStream&) = delete;
    TlsStream& operator=(const TlsStream&) = delete;

    void set_handlers(ReadHandler on_read, ClosedHandler on_closed) override {
        core_->set_handlers(std::move(on_read), std::move(on_closed));
    }
    void write(ByteView bytes) override { core_->write(bytes); }
    void close() override { core_->close_by_owner(); }
    std::string peer() const override { return core_->peer(); }

  private:
    std::shared_ptr<TlsStreamCore> core_;
};

// The accept loop of one listener, shared with its pending accept and handshakes.
class ListenerState : public std::enable_shared_from_this<ListenerState> {
  public:
    ListenerState(asio::io_context& io, std::shared_ptr<ssl::context> ctx, TlsTimeouts timeouts,
                  std::shared_ptr<Bytes> scratch, Network::AcceptHandler on_accept)
        : io_(io), acceptor_(io), retry_timer_(io), ctx_(std::move(ctx)), timeouts_(timeouts),
          scratch_(std::move(scratch)), on_accept_(std::move(on_accept)) {}

    tcp::acceptor& acceptor() { return acceptor_; }

    void accept_next() {
        acceptor_.async_accept([self = shared_from_this()](const error_code& ec,
                                                           tcp::socket socket) {
            self->on_accepted(ec, std::move(socket));
        });
    }

    void stop() {
        alive_ = false;
        error_code ignored;
        acceptor_.close(ignored);
        retry_timer_.cancel();
    }

  private:
    void on_accepted(const error_code& ec, tcp::socket socket);
    void on_handshake_done(const std::shared_ptr<TlsStreamCore>& core, const Status& status);

    asio::io_context& io_;
    tcp::acceptor acceptor_;
    asio::steady_timer retry_timer_;
    std::shared_ptr<ssl::context> ctx_;
    TlsTimeouts timeouts_;
    std::shared_ptr<Bytes> scratch_;
    Network::AcceptHandler on_accept_;
    bool alive_ = true;
    size_t handshakes_in_flight_ = 0;
};

void ListenerState::on_accepted(const error_code& ec, tcp::socket socket) {
    if (!alive_) {
        return;
    }
    if (ec) {
        // EMFILE, ENOBUFS, ECONNABORTED...: keep serving, after a pause.
        retry_timer_.expires_after(accept_retry_delay);
        retry_timer_.async_wait([self = shared_from_this()](const error_code& wait_ec) {
            if (!wait_ec && self->alive_) {
                self->accept_next();
            }
        });
        return;
    }
    if (handshakes_in_flight_ >= handshakes_in_flight_max) {
        error_code ignored;
        socket.close(ignored);  // shed load: the client will retry
        accept_next();
        return;
    }
    error_code peer_ec;
    tcp::endpoint remote = socket.remote_endpoint(peer_ec);
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);  // AMQP frames are small and latency-bound
    auto core = std::make_shared<TlsStreamCore>(io_, ctx_->native_handle(), std::move(socket),
                                                timeouts_, scratch_);
    core->set_peer(peer_ec ? "unknown" : endpoint_text(remote));
    ++handshakes_in_flight_;
    core->handshake(/*server=*/true, timeouts_.handshake,
                    [self = shared_from_this(), core](const Status& status) {
                        self->on_handshake_done(core, status);
                    });
    accept_next();
}

void ListenerState::on_handshake_done(const std::shared_ptr<TlsStreamCore>& core,
                                      const Status& status) {
    HUB_ASSERT(handshakes_in_flight_ > 0);
    --handshakes_in_flight_;
    if (!status.ok() || !alive_) {
        return;  // dropping the core closes the socket
    }
    on_accept_(std::make_unique<TlsStream>(core));
}

class TlsListener final : public Listener {
  public:
    TlsListener(std::shared_ptr<ListenerState> state, std::string address)
        : state_(std::move(state)), address_(std::move(address)) {}
    ~TlsListener() override { state_->stop(); }
    TlsListener(const TlsListener&) = delete;
    TlsListener& operator=(const TlsListener&) = delete;

    std::string address() const override { return address_; }

  private:
    std::shared_ptr<ListenerState> state_;
    std::string address_;
};

// One connect(): resolve, TCP connect, TLS handshake with verification, all under a deadline.
class ConnectOp : public std::enable_shared_from_this<ConnectOp> {
  public:
    ConnectOp(asio::io_context& io, ssl::context& ctx, HostPort target, std::string address,
              TlsTimeouts timeouts, std::shared_ptr<Bytes> scratch, Network::ConnectHandler done)
        : resolver_(io), timer_(io),
          core_(std::make_shared<TlsStreamCore>(io, ctx.native_handle(), tcp::socket(io),
                                                timeouts, std::move(scratch))),
          target_(std::move(target)), address_(std::move(address)), timeouts_(timeouts),
          done_(std::move(done)) {
        core_->set_peer(address_);
    }

    void start();

  private:
    void on_resolved(const error_code& ec, const tcp::resolver::results_type& results);
    void on_connected(const error_code& ec);
    void complete(Result<std::unique_ptr<Stream>> result);

    tcp::resolver resolver_;
    asio::steady_timer timer_;
    std::shared_ptr<TlsStreamCore> core_;
    HostPort target_;
    std::string address_;
    TlsTimeouts timeouts_;
    Network::ConnectHandler done_;
    bool timed_out_ = false;
    bool completed_ = false;
};

void ConnectOp::start() {
    timer_.expires_after(to_chrono(timeouts_.handshake));
    timer_.async_wait([self = shared_from_this()](const error_code& ec) {
        if (!ec && !self->completed_) {
            self->timed_out_ = true;
            self->resolver_.cancel();
            self->core_->abort();
        }
    });
    resolver_.async_resolve(target_.host, std::to_string(target_.port),
                            [self = shared_from_this()](const error_code& ec,
                                                        tcp::resolver::results_type results) {
                                self->on_resolved(ec, results);
                            });
}

void ConnectOp::on_resolved(const error_code& ec, const tcp::resolver::results_type& results) {
    if (ec) {
        complete(net_status("resolve " + address_, ec));
        return;
    }
    asio::async_connect(core_->socket(), results,
                        [self = shared_from_this()](const error_code& c_ec, const tcp::endpoint&) {
                            self->on_connected(c_ec);
                        });
}

void ConnectOp::on_connected(const error_code& ec) {
    if (ec) {
        complete(net_status("connect " + address_, ec));
        return;
    }
    error_code ignored;
    core_->socket().set_option(tcp::no_delay(true), ignored);
    SSL* ssl = core_->ssl();
    SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
    // RFC 6125: the certificate must name the host we dialled (an IP SAN for an address).
    bool named = is_ip_literal(target_.host)
                     ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), target_.host.c_str()) == 1
                     : SSL_set1_host(ssl, target_.host.c_str()) == 1;
    // SNI carries host names only (RFC 6066 §3), never address literals.
    if (named && !is_ip_literal(target_.host)) {
        named = SSL_set_tlsext_host_name(ssl, target_.host.c_str()) == 1;
    }
    if (!named) {
        complete(Status(Code::invalid_argument, "cannot verify TLS host '" + target_.host + "'"));
        return;
    }
    core_->handshake(/*server=*/false, timeouts_.handshake,
                     [self = shared_from_this()](const Status& status) {
                         if (!status.ok()) {
                             self->complete(status);
                         } else {
                             self->complete(std::unique_ptr<Stream>(
                                 std::make_unique<TlsStream>(self->core_)));
                         }
                     });
}

void ConnectOp::complete(Result<std::unique_ptr<Stream>> result) {
    if (completed_) {
        return;
    }
    completed_ = true;
    timer_.cancel();
    if (!result.ok() && timed_out_) {
        result = Status(Code::unavailable,
                        "connect " + address_ + ": timed out after " +
                            std::to_string(timeouts_.handshake.to_millis()) + " ms");
    }
    Network::ConnectHandler done = std::move(done_);
    done(std::move(result));
}

Result<tcp::endpoint> resolve_listen_endpoint(asio::io_context& io, const HostPort& hp) {
    error_code ec;
    asio::ip::address addr = asio::ip::make_address(hp.host, ec);
    if (!ec) {
        return tcp::endpoint(addr, hp.port);
    }
    tcp::resolver resolver(io);
    auto results = resolver.resolve(hp.host, std::to_string(hp.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) {
        return Status(Code::invalid_argument,
                      "cannot resolve host '" + hp.host + "': " +
                          (ec ? ec.message() : std::string("no address")));
    }
    for (const auto& entry : results) {
        if (entry.endpoint().address().is_v4()) {
            return entry.endpoint();  // "localhost" means 127.0.0.1 first, like the cert's SAN
        }
    }
    return results.begin()->endpoint();
}

Status bind_and_listen(tcp::acceptor& acceptor, const tcp::endpoint& ep,
                       const std::string& address) {
    error_code ec;
    if (acceptor.open(ep.protocol(), ec); ec) {
        return net_status("open socket for " + address, ec);
    }
    // Lets a restarted hub bind while old connections sit in TIME_WAIT; a live listener on
    // the port still makes bind() fail with EADDRINUSE.
    acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (acceptor.bind(ep, ec); ec) {
        if (ec == asio::error::address_in_use) {
            return Status(Code::unavailable, "address " + address + " is already in use");
        }
        return net_status("bind " + address, ec);
    }
    if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) {
        return net_status("listen on " + address, ec);
    }
    return Status::ok_status();
}

Status ssl_status(const std::string& what, const std::string& path, const error_code& ec) {
    return Status(Code::invalid_argument, what + " " + path + ": " + ec.message());
}

void restrict_protocols(ssl::context& ctx) {
    error_code ignored;
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                        ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                    ignored);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    // A bare FIN without close_notify counts as the peer's orderly close (many IoT clients
    // just drop the TCP connection); truncation attacks do not apply to AMQP, which frames
    // its own messages.
    SSL_CTX_set_options(ctx.native_handle(), SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    // OpenSSL keeps a ~17 KiB read and a ~17 KiB write record buffer per connection; most
    // device connections idle for minutes between messages, so give them back while idle.
    SSL_CTX_set_mode(ctx.native_handle(), SSL_MODE_RELEASE_BUFFERS);
}

}  // namespace

Result<HostPort> parse_host_port(const std::string& address) {
    auto invalid = [&](const std::string& why) {
        return Status(Code::invalid_argument,
                      "bad address '" + address + "' (want host:port): " + why);
    };
    size_t colon = address.rfind(':');
    if (colon == std::string::npos || colon == 0) {
        return invalid("no host or no port");
    }
    HostPort hp;
    hp.host = address.substr(0, colon);
    if (hp.host.size() >= 2 && hp.host.front() == '[' && hp.host.back() == ']') {
        hp.host = hp.host.substr(1, hp.host.size() - 2);
    } else if (hp.host.find(':') != std::string::npos) {
        return invalid("an IPv6 host must be in brackets, e.g. [::1]:5671");
    }
    const std::string port = address.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) > 65535) {
        return invalid("port must be a number from 0 to 65535");
    }
    hp.port = static_cast<uint16_t>(std::stoul(port));
    if (hp.host.empty()) {
        return invalid("empty host");
    }
    return hp;
}

TlsNetwork::TlsNetwork(asio::io_context& io, TlsConfig config, TlsTimeouts timeouts)
    : io_(io), config_(std::move(config)), timeouts_(timeouts),
      scratch_(std::make_shared<Bytes>(read_scratch_bytes)) {
    // OpenSSL writes to the socket with write(2): a peer that reset the connection must give
    // EPIPE, not a SIGPIPE that kills the process. Idempotent and process-wide by nature.
    ::signal(SIGPIPE, SIG_IGN);
}

TlsNetwork::~TlsNetwork() = default;

Result<std::shared_ptr<ssl::context>> TlsNetwork::server_context() {
    if (server_ctx_) {
        return server_ctx_;
    }
    if (config_.cert_pem_path.empty() || config_.key_pem_path.empty()) {
        return Status(Code::invalid_argument, "listen needs a TLS certificate and key");
    }
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    restrict_protocols(*ctx);
    error_code ec;
    if (ctx->use_certificate_chain_file(config_.cert_pem_path, ec); ec) {
        return ssl_status("load TLS certificate", config_.cert_pem_path, ec);
    }
    if (ctx->use_private_key_file(config_.key_pem_path, ssl::context::pem, ec); ec) {
        return ssl_status("load TLS key", config_.key_pem_path, ec);
    }
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
        return Status(Code::invalid_argument, "TLS key " + config_.key_pem_path +
                                                  " does not match " + config_.cert_pem_path);
    }
    server_ctx_ = std::move(ctx);
    return server_ctx_;
}

Result<std::shared_ptr<ssl::context>> TlsNetwork::client_context() {
    if (client_ctx_) {
        return client_ctx_;
    }
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    restrict_protocols(*ctx);
    error_code ec;
    if (config_.ca_pem_path.empty()) {
        ctx->set_default_verify_paths(ec);  // no CA given: the system's roots
    } else {
        ctx->load_verify_file(config_.ca_pem_path, ec);
    }
    if (ec) {
        return ssl_status("load CA", config_.ca_pem_path, ec);
    }
    ctx->set_verify_mode(ssl::verify_peer, ec);
    client_ctx_ = std::move(ctx);
    return client_ctx_;
}

Result<std::unique_ptr<Listener>> TlsNetwork::listen(const std::string& address,
                                                     AcceptHandler on_accept) {
    try {
        Result<HostPort> hp = parse_host_port(address);
        if (!hp.ok()) {
            return hp.status();
        }
        Result<tcp::endpoint> ep = resolve_listen_endpoint(io_, *hp);
        if (!ep.ok()) {
            return ep.status();
        }
        Result<std::shared_ptr<ssl::context>> ctx = server_context();
        if (!ctx.ok()) {
            return ctx.status();
        }
        auto state = std::make_shared<ListenerState>(io_, *ctx, timeouts_, scratch_,
                                                     std::move(on_accept));
        if (Status s = bind_and_listen(state->acceptor(), *ep, address); !s.ok()) {
            return s;
        }
        error_code ec;
        tcp::endpoint local = state->acceptor().local_endpoint(ec);
        if (ec) {
            return net_status("local address of " + address, ec);
        }
        state->accept_next();
        return std::unique_ptr<Listener>(std::make_unique<TlsListener>(state,
                                                                       endpoint_text(local)));
    } catch (const std::exception& e) {
        return Status(Code::internal, "listen " + address + ": " + e.what());
    }
}

void TlsNetwork::connect(const std::string& address, ConnectHandler on_connected) {
    Status failed;
    try {
        Result<HostPort> hp = parse_host_port(address);
        Result<std::shared_ptr<ssl::context>> ctx =
            hp.ok() ? client_context() : Result<std::shared_ptr<ssl::context>>(hp.status());
        if (ctx.ok()) {
            auto op = std::make_shared<ConnectOp>(io_, **ctx, *hp, address, timeouts_, scratch_,
                                                  std::move(on_connected));
            op->start();
            return;
        }
        failed = ctx.status();
    } catch (const std::exception& e) {
        failed = Status(Code::internal, "connect " + address + ": " + e.what());
    }
    // The handler always runs later, never inside connect().
    asio::post(io_, [on_connected = std::move(on_connected), failed]() {
        if (on_connected) {  // empty only if an exception hit after ConnectOp took it
            on_connected(failed);
        }
    });
}

}  // namespace hub::server
