#include "hub/server/tls_stream_core.hpp"

#include <openssl/err.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <utility>

namespace hub::server {
namespace {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

// Bytes queued by write() and not yet taken by SSL_write. The hub's own output per connection
// is bounded by AMQP flow control far below this; a peer that lets 64 MiB pile up is not
// reading and is disconnected rather than allowed to exhaust memory.
constexpr size_t write_queue_bytes_max = 64 * 1024 * 1024;
// SSL_read calls in one turn before other streams get the loop: 16 reads of up to 16 KiB.
constexpr int reads_per_turn_max = 16;

std::chrono::nanoseconds to_chrono(Duration d) { return std::chrono::nanoseconds(d.ns); }

Status wait_failure(const std::string& what, const error_code& ec) {
    return Status(Code::unavailable, what + ": " + ec.message());
}

}  // namespace

TlsStreamCore::TlsStreamCore(asio::io_context& io, SSL_CTX* ctx, asio::ip::tcp::socket socket,
                             TlsTimeouts timeouts, std::shared_ptr<Bytes> scratch)
    : io_(io), socket_(std::move(socket)), ssl_(SSL_new(ctx)), deadline_(io), timeouts_(timeouts),
      scratch_(std::move(scratch)) {
    HUB_ASSERT(ssl_ != nullptr);
    HUB_ASSERT(scratch_ && !scratch_->empty());
    // Partial writes and a moving buffer let one queue drain through many SSL_write calls;
    // released buffers are what make an idle connection cheap.
    SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                           SSL_MODE_RELEASE_BUFFERS);
}

TlsStreamCore::~TlsStreamCore() { SSL_free(ssl_); }

// Waits until the socket is readable or writable, then calls `then` with the wait's result.
// `flag` says a wait of that kind is pending (advance_close cancels pending waits).
void TlsStreamCore::wait(Want want, bool TlsStreamCore::*flag,
                         void (TlsStreamCore::*then)(const error_code&)) {
    HUB_ASSERT(!(this->*flag));
    this->*flag = true;
    auto kind = want == Want::read ? asio::ip::tcp::socket::wait_read
                                   : asio::ip::tcp::socket::wait_write;
    socket_.async_wait(kind, [self = shared_from_this(), flag, then](const error_code& ec) {
        self.get()->*flag = false;
        (self.get()->*then)(ec);
    });
}

Status TlsStreamCore::ssl_failure(const std::string& what, int ret) {
    int err = SSL_get_error(ssl_, ret);
    unsigned long code = ERR_get_error();
    std::string why;
    if (code != 0) {
        char text[256];
        ERR_error_string_n(code, text, sizeof(text));
        why = text;
    } else if (err == SSL_ERROR_SYSCALL && errno != 0) {
        why = std::strerror(errno);
    } else {
        why = "connection closed";
    }
    ERR_clear_error();
    return Status(Code::unavailable, what + " " + peer_ + ": " + why);
}

// ---- Handshake.

void TlsStreamCore::handshake(bool server, Duration timeout, HandshakeDone done) {
    HUB_ASSERT(!handshake_done_ && done);
    handshake_done_ = std::move(done);
    error_code ec;
    socket_.non_blocking(true, ec);
    if (ec || SSL_set_fd(ssl_, static_cast<int>(socket_.native_handle())) != 1) {
        ERR_clear_error();
        asio::post(io_, [self = shared_from_this(), ec] {
            self->finish_handshake(wait_failure("TLS set-up for " + self->peer_, ec));
        });
        return;
    }
    if (server) {
        SSL_set_accept_state(ssl_);
    } else {
        SSL_set_connect_state(ssl_);
    }
    deadline_.expires_after(to_chrono(timeout));
    deadline_.async_wait([self = shared_from_this()](const error_code& wait_ec) {
        if (!wait_ec && self->handshake_done_) {
            self->abort();  // the pending wait then fails and reports
        }
    });
    // The first step runs later too: `done` never runs inside handshake().
    asio::post(io_, [self = shared_from_this()] { self->step_handshake(error_code()); });
}

void TlsStreamCore::step_handshake(const error_code& ec) {
    if (!handshake_done_) {
        return;
    }
    if (ec) {
        finish_handshake(wait_failure("TLS handshake with " + peer_, ec));
        return;
    }
    ERR_clear_error();
    int ret = SSL_do_handshake(ssl_);
    if (ret == 1) {
        handshake_ok_ = true;
        finish_handshake(Status::ok_status());
        return;
    }
    switch (SSL_get_error(ssl_, ret)) {
        case SSL_ERROR_WANT_READ:
            wait(Want::read, &TlsStreamCore::read_waiting_, &TlsStreamCore::step_handshake);
            return;
        case SSL_ERROR_WANT_WRITE:
            wait(Want::write, &TlsStreamCore::write_waiting_, &TlsStreamCore::step_handshake);
            return;
        default:
            ssl_broken_ = true;
            finish_handshake(ssl_failure("TLS handshake with", ret));
    }
}

void TlsStreamCore::finish_handshake(const Status& status) {
    HUB_ASSERT(handshake_done_);
    deadline_.cancel();
    HandshakeDone done = std::move(handshake_done_);
    handshake_done_ = nullptr;
    done(status);
}

void TlsStreamCore::abort() {
    error_code ignored;
    socket_.close(ignored);  // completes any pending wait with an error
}

// ---- Reading.

void TlsStreamCore::set_handlers(Stream::ReadHandler on_read, Stream::ClosedHandler on_closed) {
    HUB_ASSERT(!handlers_set_ && handshake_ok_);
    handlers_set_ = true;
    on_read_ = std::move(on_read);
    on_closed_ = std::move(on_closed);
    if (state_ == State::open) {
        // Reading starts here so no byte arrives before a handler exists. OpenSSL may already
        // hold application bytes that came with the handshake: look before waiting.
        read_waiting_ = true;
        asio::post(io_, [self = shared_from_this()] {
            self->read_waiting_ = false;
            self->on_readable(error_code());
        });
    }
}

void TlsStreamCore::on_readable(const error_code& ec) {
    if (state_ == State::finished) {
        return;
    }
    if (ec && state_ == State::open) {
        end(wait_failure("read from " + peer_, ec));
    }
    if (state_ != State::open) {
        advance_close();
        return;
    }
    drain_reads();
}

// Reads until OpenSSL wants more from the socket, handing each chunk to the read handler.
void TlsStreamCore::drain_reads() {
    Bytes& buf = *scratch_;
    for (int i = 0; i < reads_per_turn_max; ++i) {
        ERR_clear_error();
        int n = SSL_read(ssl_, buf.data(), static_cast<int>(std::min<size_t>(buf.size(), INT_MAX)));
        if (n > 0) {
            HUB_ASSERT(static_cast<size_t>(n) <= buf.size());
            if (callbacks_on_ && on_read_) {
                on_read_(ByteView(buf.data(), static_cast<size_t>(n)));  // may close or drop us
            }
            if (state_ != State::open) {
                advance_close();
                return;
            }
            continue;
        }
        switch (SSL_get_error(ssl_, n)) {
            case SSL_ERROR_WANT_READ:
                wait(Want::read, &TlsStreamCore::read_waiting_, &TlsStreamCore::on_readable);
                return;
            case SSL_ERROR_WANT_WRITE:
                wait(Want::write, &TlsStreamCore::read_waiting_, &TlsStreamCore::on_readable);
                return;
            case SSL_ERROR_ZERO_RETURN:  // close_notify, or a bare FIN (IGNORE_UNEXPECTED_EOF)
                end(Status::ok_status());
                break;
            default:
                ssl_broken_ = true;
                end(ssl_failure("read from", n));
        }
        advance_close();
        return;
    }
    // Budget spent: let other streams run. OpenSSL may still hold decrypted bytes that the
    // socket will not signal again, so come back by posting rather than waiting.
    read_waiting_ = true;
    asio::post(io_, [self = shared_from_this()] {
        self->read_waiting_ = false;
        self->on_readable(error_code());
    });
}

// ---- Writing.

void TlsStreamCore::write(ByteView bytes) {
    if (state_ != State::open || overflowed_ || bytes.empty()) {
        return;  // env.hpp: writing to a closed stream drops the bytes
    }
    if (pending_.size() + in_flight_.size() + bytes.size() > write_queue_bytes_max) {
        overflowed_ = true;  // fail later: no callback may run inside write()
        asio::post(io_, [self = shared_from_this()] {
            if (self->state_ == State::open) {
                self->end(Status(Code::resource_exhausted,
                                 "write queue to " + self->peer_ + " over " +
                                     std::to_string(write_queue_bytes_max) + " bytes"));
                self->advance_close();
            }
        });
        return;
    }
    pending_.insert(pending_.end(), bytes.begin(), bytes.end());
    if (!writing_) {
        // Later, not now: every write of this turn then goes out in one TLS record batch, and
        // a failure is never reported inside write().
        writing_ = true;
        asio::post(io_, [self = shared_from_this()] { self->begin_write(); });
    }
}

// REQUIRES: writing_. Moves the queue in flight and pushes it, or ends the write phase.
void TlsStreamCore::begin_write() {
    HUB_ASSERT(writing_ && in_flight_.empty());
    if (state_ == State::finished || pending_.empty()) {
        writing_ = false;
        if (state_ != State::open && state_ != State::finished) {
            advance_close();
        }
        return;
    }
    std::swap(in_flight_, pending_);
    in_flight_done_ = 0;
    pump_write(error_code());
}

void TlsStreamCore::pump_write(const error_code& ec) {
    if (state_ == State::finished) {
        on_write_done(Status::ok_status());
        return;
    }
    if (ec) {
        on_write_done(wait_failure("write to " + peer_, ec));
        return;
    }
    while (in_flight_done_ < in_flight_.size()) {
        size_t left = in_flight_.size() - in_flight_done_;
        ERR_clear_error();
        int n = SSL_write(ssl_, in_flight_.data() + in_flight_done_,
                          static_cast<int>(std::min<size_t>(left, INT_MAX)));
        if (n > 0) {
            in_flight_done_ += static_cast<size_t>(n);
            disarm_stall();
            continue;
        }
        switch (SSL_get_error(ssl_, n)) {
            case SSL_ERROR_WANT_WRITE:
                arm_stall();
                wait(Want::write, &TlsStreamCore::write_waiting_, &TlsStreamCore::pump_write);
                return;
            case SSL_ERROR_WANT_READ:
                wait(Want::read, &TlsStreamCore::write_waiting_, &TlsStreamCore::pump_write);
                return;
            default:
                ssl_broken_ = true;
                on_write_done(ssl_failure("write to", n));
                return;
        }
    }
    on_write_done(Status::ok_status());
}

void TlsStreamCore::arm_stall() {
    if (stall_armed_) {
        return;
    }
    if (!stall_timer_) {
        stall_timer_ = std::make_unique<asio::steady_timer>(io_);
    }
    stall_armed_ = true;
    stall_timer_->expires_after(to_chrono(timeouts_.write_stall));
    stall_timer_->async_wait([self = shared_from_this()](const error_code& ec) {
        if (ec || !self->stall_armed_ || self->state_ == State::finished) {
            return;
        }
        self->stall_armed_ = false;
        if (self->state_ == State::open) {
            self->end(Status(Code::resource_exhausted,
                             "peer " + self->peer_ + " took no bytes for " +
                                 std::to_string(self->timeouts_.write_stall.to_millis()) +
                                 " ms (slow client)"));
        }
        self->finish();  // the pending write wait fails and ends the write phase
    });
}

void TlsStreamCore::disarm_stall() {
    if (stall_armed_) {
        stall_armed_ = false;
        stall_timer_->cancel();
    }
}

void TlsStreamCore::on_write_done(const Status& status) {
    HUB_ASSERT(writing_);
    disarm_stall();
    in_flight_.clear();
    in_flight_done_ = 0;
    if (state_ == State::finished) {
        writing_ = false;
        return;
    }
    if (!status.ok()) {
        writing_ = false;
        if (state_ == State::open) {
            end(status);
        }
        pending_.clear();
        state_ = State::ended;  // nothing more can be flushed
        advance_close();
        return;
    }
    begin_write();  // the next batch, or the end of the write phase
}

// ---- Closing.

// The stream is over (peer close or failure): report it once, then shut down.
void TlsStreamCore::end(Status status) {
    HUB_ASSERT(state_ == State::open);
    state_ = State::ended;
    pending_.clear();
    arm_linger();
    if (callbacks_on_ && on_closed_) {
        callbacks_on_ = false;
        on_closed_(status);  // may drop the stream; the pending wait's handler keeps us alive
    }
}

void TlsStreamCore::close_by_owner() {
    callbacks_on_ = false;
    if (state_ != State::open) {
        return;
    }
    state_ = State::closing;
    arm_linger();
    advance_close();
}

// Moves a closing or ended stream one step on: wait for the write phase (closing flushes the
// queue), stop the pending read wait, send close_notify, close the socket.
void TlsStreamCore::advance_close() {
    HUB_ASSERT(state_ != State::open);
    if (state_ == State::finished || writing_ || shutdown_started_) {
        return;
    }
    if (state_ == State::closing && !pending_.empty()) {
        writing_ = true;
        begin_write();
        return;
    }
    if (read_waiting_ || write_waiting_) {
        if (!cancel_sent_) {
            cancel_sent_ = true;
            error_code ignored;
            socket_.cancel(ignored);  // the waits complete with an error and come back here
        }
        return;
    }
    shutdown_started_ = true;
    if (ssl_broken_ || !handshake_ok_) {
        finish();  // OpenSSL forbids close_notify after a fatal error
        return;
    }
    step_shutdown(error_code());
}

// Sends close_notify and waits (bounded by the linger timer) for the peer's, so the bytes we
// flushed are not lost to a reset caused by closing with unread data.
void TlsStreamCore::step_shutdown(const error_code& ec) {
    if (state_ == State::finished) {
        return;
    }
    if (ec) {
        finish();
        return;
    }
    ERR_clear_error();
    int ret = SSL_shutdown(ssl_);
    if (ret == 1) {
        finish();
        return;
    }
    int err = ret == 0 ? SSL_ERROR_WANT_READ : SSL_get_error(ssl_, ret);
    ERR_clear_error();
    if (err == SSL_ERROR_WANT_READ) {
        wait(Want::read, &TlsStreamCore::read_waiting_, &TlsStreamCore::step_shutdown);
    } else if (err == SSL_ERROR_WANT_WRITE) {
        wait(Want::write, &TlsStreamCore::write_waiting_, &TlsStreamCore::step_shutdown);
    } else {
        finish();
    }
}

void TlsStreamCore::arm_linger() {
    if (linger_armed_) {
        return;
    }
    linger_armed_ = true;
    deadline_.expires_after(to_chrono(timeouts_.close_linger));
    deadline_.async_wait([self = shared_from_this()](const error_code& ec) {
        if (!ec) {
            self->finish();
        }
    });
}

void TlsStreamCore::finish() {
    if (state_ == State::finished) {
        return;
    }
    state_ = State::finished;
    pending_.clear();
    deadline_.cancel();
    disarm_stall();
    error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);  // completes any pending wait with an error
}

}  // namespace hub::server
