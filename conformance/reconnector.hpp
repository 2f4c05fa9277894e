// Reconnector: the dial / retry-with-backoff cycle our SDK-like clients share (device and
// service). dial() connects and hands the stream over unless the attempt went stale meanwhile
// (stop(), a newer dial(), or the Reconnector destroyed); retry_later() runs the client's
// reconnect after a full-jitter wait whose bound doubles up to backoff_max and goes back to
// backoff_min on succeeded(). Draws its waits from env.random(): seeded in the simulator.
//
// Single-threaded; the Env must outlive it. Callbacks run later from the Env, never inside
// the call that scheduled them.
//
// Example:
//   Reconnector link(env, Duration::millis(100), Duration::seconds(5));
//   link.start();
//   link.dial(address, [this](Result<std::unique_ptr<Stream>> s) { ... });
//   // connection lost: link.retry_later([this] { connect(); });
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "hub/env/env.hpp"

namespace conformance {

class Reconnector {
  public:
    using Dialed = std::function<void(hub::Result<std::unique_ptr<hub::Stream>>)>;

    Reconnector(hub::Env& env, hub::Duration backoff_min, hub::Duration backoff_max);
    ~Reconnector();
    Reconnector(const Reconnector&) = delete;
    Reconnector& operator=(const Reconnector&) = delete;

    void start() { running_ = true; }
    // No retry runs and no connect in flight reports back after this.
    void stop();
    bool running() const { return running_; }
    // A retry is scheduled and has not run yet.
    bool retry_pending() const { return timer_ != 0; }

    // Connects to `address`; `dialed` gets the result if this is still the current attempt.
    void dial(const std::string& address, Dialed dialed);
    // While running and with no retry pending: `retry` runs after the backoff.
    void retry_later(std::function<void()> retry);
    // The peer answered: the next retry starts from backoff_min again.
    void succeeded() { backoff_ = backoff_min_; }

  private:
    hub::Env& env_;
    const hub::Duration backoff_min_;
    const hub::Duration backoff_max_;
    hub::Duration backoff_;
    bool running_ = false;
    hub::TimerId timer_ = 0;
    uint64_t attempt_ = 0;  // dial()s and stop()s: a stale connect result is dropped
    std::shared_ptr<Reconnector*> self_;
};

}  // namespace conformance
