// TlsStreamCore: one TLS stream over a non-blocking TCP socket, private to tls_network.cpp.
//
// OpenSSL reads and writes the socket's file descriptor directly; Asio only tells us when the
// socket is readable or writable (async_wait). This is the reactor style, chosen for memory:
// an idle device connection costs the SSL object and nothing else. Asio's ssl::stream keeps
// four 17 KiB buffers per stream for its whole life (two in its engine core, two in the BIO
// pair), and a proactor read needs its own buffer parked in every pending read: about 84 KiB
// of the 126 KiB an idle connection used to cost. Here decrypted bytes land in one scratch
// buffer shared by every stream of a network, and SSL_MODE_RELEASE_BUFFERS gives OpenSSL's
// record buffers back while a connection idles.
//
// The stream contract is env.hpp's (see tls_network.hpp): handlers set once; writes queue and
// go out in order; close() flushes, sends close_notify (bounded by close_linger) and closes;
// the peer's orderly close (close_notify or a bare FIN) reports ok, anything else an error;
// no callback after the owner closed or dropped the stream, none inside write(), close() or
// set_handlers().
//
// Ownership: pending waits hold the core by shared_ptr, so a wait that completes after the
// owner dropped the stream finds it alive with callbacks off. The SSL_CTX (held by the
// caller's ssl::context) and the io_context must outlive the core.
//
// Threading: single-threaded, on the io_context's thread.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>

#include "hub/env/env.hpp"
#include "hub/server/tls_network.hpp"

namespace hub::server {

class TlsStreamCore : public std::enable_shared_from_this<TlsStreamCore> {
  public:
    using HandshakeDone = std::function<void(const Status&)>;

    // `scratch` receives decrypted bytes before they go to the read handler; every stream of
    // one network may share it (single-threaded). REQUIRES: scratch non-empty.
    TlsStreamCore(boost::asio::io_context& io, SSL_CTX* ctx, boost::asio::ip::tcp::socket socket,
                  TlsTimeouts timeouts, std::shared_ptr<Bytes> scratch);
    ~TlsStreamCore();
    TlsStreamCore(const TlsStreamCore&) = delete;
    TlsStreamCore& operator=(const TlsStreamCore&) = delete;

    boost::asio::ip::tcp::socket& socket() { return socket_; }
    SSL* ssl() { return ssl_; }
    const std::string& peer() const { return peer_; }
    void set_peer(std::string peer) { peer_ = std::move(peer); }

    // Runs the server (accept) or client (connect) handshake; `done` runs once, later. The
    // socket is closed if it has not finished within `timeout`.
    void handshake(bool server, Duration timeout, HandshakeDone done);
    // Closes the socket now (a connect or handshake that gave up).
    void abort();

    void set_handlers(Stream::ReadHandler on_read, Stream::ClosedHandler on_closed);
    void write(ByteView bytes);
    void close_by_owner();

  private:
    enum class State {
        open,      // reading and writing
        closing,   // the owner called close(): flush the queue, then shut down
        ended,     // the peer closed or the stream failed: shut down without flushing
        finished,  // socket closed
    };
    enum class Want { read, write };
    using error_code = boost::system::error_code;

    void wait(Want want, bool TlsStreamCore::*flag, void (TlsStreamCore::*then)(const error_code&));
    void step_handshake(const error_code& ec);
    void finish_handshake(const Status& status);
    void on_readable(const error_code& ec);
    void drain_reads();
    void begin_write();
    void pump_write(const error_code& ec);
    void on_write_done(const Status& status);
    void end(Status status);
    void advance_close();
    void step_shutdown(const error_code& ec);
    void arm_linger();
    void arm_stall();
    void disarm_stall();
    void finish();
    Status ssl_failure(const std::string& what, int ret);

    boost::asio::io_context& io_;
    boost::asio::ip::tcp::socket socket_;
    SSL* ssl_ = nullptr;
    boost::asio::steady_timer deadline_;  // handshake deadline, later the close linger
    // Armed while the peer takes none of our bytes; made on first need (idle streams never do).
    std::unique_ptr<boost::asio::steady_timer> stall_timer_;
    bool stall_armed_ = false;
    TlsTimeouts timeouts_;
    std::shared_ptr<Bytes> scratch_;
    std::string peer_;
    HandshakeDone handshake_done_;
    Stream::ReadHandler on_read_;
    Stream::ClosedHandler on_closed_;
    bool handlers_set_ = false;
    bool callbacks_on_ = true;  // off once the owner closed/dropped us or on_closed ran
    bool handshake_ok_ = false;
    State state_ = State::open;
    bool read_waiting_ = false;   // an async_wait for the read side is pending
    bool write_waiting_ = false;  // an async_wait for the write side is pending
    bool writing_ = false;        // a write phase is scheduled or running
    bool cancel_sent_ = false;
    bool ssl_broken_ = false;     // a fatal TLS error: no close_notify may follow
    bool shutdown_started_ = false;
    bool linger_armed_ = false;
    bool overflowed_ = false;
    Bytes pending_;            // queued by write(), not yet handed to SSL_write
    Bytes in_flight_;          // being written; SSL_write must see the same bytes on retry
    size_t in_flight_done_ = 0;
};

}  // namespace hub::server
