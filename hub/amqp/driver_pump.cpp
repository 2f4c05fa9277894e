#include "hub/amqp/driver_pump.hpp"

#include <algorithm>
#include <cstring>

#include <proton/condition.h>
#include <proton/error_condition.hpp>
#include <proton/transport.h>
#include <proton/transport.hpp>

#include "hub/amqp/proton_raw.hpp"

namespace hub::amqp {

namespace {
constexpr int64_t kTickDelayMsMax = 24 * 60 * 60 * 1000;
}  // namespace

DriverPump::DriverPump(Env& env, std::unique_ptr<Stream> stream, const std::string& container_id,
                       Finished on_finished)
    : env_(env), driver_(container_id), stream_(std::move(stream)),
      on_finished_(std::move(on_finished)) {
    HUB_ASSERT(stream_ != nullptr);
}

DriverPump::~DriverPump() {
    env_.cancel(tick_timer_);
    stream_.reset();  // no stream callback can reach us after this
}

void DriverPump::accept(const proton::connection_options& options,
                        const std::function<void(proton::transport)>& before_input) {
    driver_.accept(options);
    if (before_input) before_input(driver_.transport());
    start();
}

void DriverPump::connect(const proton::connection_options& options,
                         const std::function<void(proton::transport)>& before_input) {
    driver_.connect(options);
    if (before_input) before_input(driver_.transport());
    start();
}

void DriverPump::start() {
    stream_->set_handlers([this](ByteView bytes) { on_bytes(bytes); },
                          [this](const Status& status) { on_stream_closed(status); });
    process();
}

void DriverPump::on_bytes(ByteView bytes) {
    if (finished_) {
        return;
    }
    if (input_guard_) {
        if (Status refused = input_guard_(bytes); !refused.ok()) {
            driver_.disconnected(
                proton::error_condition("amqp:connection:framing-error", refused.message()));
            process();
            return;
        }
    }
    size_t pos = 0;
    while (pos < bytes.size()) {
        proton::io::mutable_buffer buffer = driver_.read_buffer();
        if (buffer.size == 0) {
            process();  // dispatching may free read space
            buffer = driver_.read_buffer();
            if (buffer.size == 0 || finished_) {
                return;  // the driver reads no more (its input side is closed)
            }
        }
        const size_t n = std::min(buffer.size, bytes.size() - pos);
        std::memcpy(buffer.data, bytes.data() + pos, n);
        driver_.read_done(n);
        pos += n;
    }
    process();
}

void DriverPump::on_stream_closed(const Status& status) {
    if (finished_) {
        return;
    }
    if (status.ok()) {
        // The stream is over (Env's contract): no more reads, and writes go nowhere. Close
        // both sides, or Proton waits forever for a write side that no one will report on
        // (an iothubd killed with SIGKILL looks exactly like this: a FIN, no AMQP close).
        driver_.read_close();
        driver_.write_close();
    } else {
        driver_.disconnected(proton::error_condition("amqp:connection:framing-error",
                                                     status.message()));
    }
    process();
}

void DriverPump::process() {
    if (finished_) {
        return;
    }
    if (in_process_) {
        process_again_ = true;  // a handler changed the connection: loop once more
        return;
    }
    in_process_ = true;
    bool active = true;
    try {
        active = dispatch_and_flush();
    } catch (const std::exception& e) {
        // Proton's C++ layer throws on bad values and from handlers: a failed connection.
        in_process_ = false;
        finish(Status(Code::internal, std::string("AMQP connection failed: ") + e.what()));
        return;
    }
    in_process_ = false;
    if (!active) {
        const proton::error_condition error = driver_.transport().error();
        finish(error.empty() ? Status()
                             : Status(Code::unavailable, error.name() + ": " + error.description()));
        return;
    }
    arm_tick();
}

bool DriverPump::dispatch_and_flush() {
    bool active = true;
    do {
        process_again_ = false;
        active = driver_.dispatch();
        flush_output();
        if (active && driver_.connection().closed()) {
            // Both sides sent their AMQP close and ours is written: Proton would wait for the
            // peer to drop the socket while the peer waits for us. End the transport here.
            driver_.read_close();
            driver_.write_close();
            active = driver_.dispatch();
        } else if (active && output_failed()) {
            // The transport failed (a SASL outcome other than ok, a framing error) and wrote
            // its last bytes: nothing more will be read or written, but Proton would wait for
            // the peer to drop the socket while the peer, failed the same way, waits for us.
            driver_.read_close();
            active = driver_.dispatch();
        }
    } while (process_again_ && active);
    return active;
}

bool DriverPump::output_failed() {
    pn_transport_t* t = raw(driver_.transport());
    return pn_transport_head_closed(t) && pn_condition_is_set(pn_transport_condition(t));
}

void DriverPump::flush_output() {
    for (;;) {
        proton::io::const_buffer buffer = driver_.write_buffer();
        if (buffer.size == 0) {
            break;
        }
        stream_->write(ByteView(reinterpret_cast<const uint8_t*>(buffer.data), buffer.size));
        driver_.write_done(buffer.size);
    }
}

void DriverPump::arm_tick() {
    const int64_t now_ms = env_.now().to_millis();
    const int64_t next_ms = driver_.tick(proton::timestamp(now_ms)).milliseconds();
    flush_output();  // tick may emit heartbeats
    if (next_ms == 0) {
        return;  // no deadline
    }
    // Proton can report a deadline that is already due and stays so until time moves: always
    // wait at least 1 ms (else virtual time never advances), and at most a day (a peer's huge
    // idle timeout must not overflow Instant).
    const int64_t at_ms = std::clamp(next_ms, now_ms + 1, now_ms + kTickDelayMsMax);
    if (at_ms == tick_deadline_ms_) {
        return;
    }
    env_.cancel(tick_timer_);
    tick_deadline_ms_ = at_ms;
    tick_timer_ = env_.schedule(Instant{at_ms * 1000 * 1000}, [this] {
        tick_deadline_ms_ = 0;
        process();
    });
}

void DriverPump::finish(const Status& status) {
    finished_ = true;
    env_.cancel(tick_timer_);
    stream_->close();
    if (on_finished_) {
        Finished done = std::move(on_finished_);
        on_finished_ = nullptr;
        done(status);
    }
}

}  // namespace hub::amqp
