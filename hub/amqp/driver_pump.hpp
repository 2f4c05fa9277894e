// DriverPump: runs one Proton connection_driver over one Env Stream (server or client side).
//
// Proton's connection_driver is sans-IO: bytes in (read_buffer/read_done), bytes out
// (write_buffer/write_done), time in (tick). The pump moves bytes between it and a Stream,
// dispatches handler events, and keeps one Env timer armed for Proton's next deadline. The
// same pump serves the hub (accept) and our device clients (connect), in the simulator and
// on real sockets.
//
// Ownership: the pump owns the driver and the stream. The messaging_handler in the options
// must outlive the pump. `on_finished` runs once when the connection is over (closed, reset or
// failed); the owner must destroy the pump later, not from inside that callback.
// Exceptions from Proton (bad values, a handler's default on_error) end the connection with an
// internal Status; they never leave the pump.
// After changing the connection from outside a handler (for example settling a delivery when
// a durable write completes), call process() so the frames go out.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/io/connection_driver.hpp>
#include <proton/transport.hpp>

#include "hub/env/env.hpp"

namespace hub::amqp {

class DriverPump {
  public:
    using Finished = std::function<void(const Status&)>;

    DriverPump(Env& env, std::unique_ptr<Stream> stream, const std::string& container_id,
               Finished on_finished);
    ~DriverPump();
    DriverPump(const DriverPump&) = delete;
    DriverPump& operator=(const DriverPump&) = delete;

    // Serve as the listening side. `before_input` runs once the transport is configured and
    // before any byte is read (to install a SASL plug-in on it).
    void accept(const proton::connection_options& options,
                const std::function<void(proton::transport)>& before_input = {});
    // Open as the connecting side (`before_input` as for accept).
    void connect(const proton::connection_options& options,
                 const std::function<void(proton::transport)>& before_input = {});
    // Sees every chunk of input before Proton does; a non-ok Status fails the connection
    // (amqp:connection:framing-error) and the chunk is dropped. Set before accept/connect.
    void set_input_guard(std::function<Status(ByteView)> guard) { input_guard_ = std::move(guard); }
    // Dispatches pending events, writes pending output, re-arms the tick timer.
    void process();
    proton::connection connection() { return driver_.connection(); }
    proton::transport transport() { return driver_.transport(); }
    bool finished() const { return finished_; }
    std::string peer() const { return stream_ ? stream_->peer() : std::string(); }

  private:
    void start();
    void on_bytes(ByteView bytes);
    void on_stream_closed(const Status& status);
    bool dispatch_and_flush();  // false when the driver is finished
    void flush_output();
    bool output_failed();  // the transport failed and its output is closed and written
    void arm_tick();
    void finish(const Status& status);

    Env& env_;
    proton::io::connection_driver driver_;
    std::unique_ptr<Stream> stream_;
    Finished on_finished_;
    std::function<Status(ByteView)> input_guard_;
    TimerId tick_timer_ = 0;
    int64_t tick_deadline_ms_ = 0;
    bool in_process_ = false;
    bool process_again_ = false;
    bool finished_ = false;
};

}  // namespace hub::amqp
