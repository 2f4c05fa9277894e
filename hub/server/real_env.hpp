// RealEnv: the hub's Env in the real world — one Boost.Asio io_context, POSIX files, TLS sockets.
//
// now() reads steady_clock, utc_now_ms() system_clock. schedule() arms an asio::steady_timer;
// its callback always runs later from the io_context, never inside schedule(), and timer ids
// are never reused. random() is a hub::Random seeded once from std::random_device (the real
// world needs no replay). disk() is a PosixDisk rooted at RealEnvConfig::data_dir, network() a
// TlsNetwork (see tls_network.hpp). buggify() always says no; trace() prints to stderr only
// when RealEnvConfig::trace_to_stderr is set: "trace KIND DETAIL" lines, or with trace_json
// one JSON object per line, {"time":"2026-11-27T07:00:00.123Z","event":KIND,"detail":DETAIL},
// for log collectors (peer-controlled text in DETAIL is escaped, invalid UTF-8 replaced).
//
// Threading: single-threaded. Every callback runs on the thread inside run()/run_for(), and no
// method may be called from another thread or a signal handler: to stop on SIGTERM, wait on an
// asio::signal_set bound to io_context() (iothubd does).
//
// Ownership: objects handed out (streams, listeners) and everything that scheduled timers must
// be destroyed before the RealEnv. Exceptions thrown by a callback stop run() and come back as
// a Status; none escapes this class.
//
// Example:
//   Result<std::unique_ptr<RealEnv>> env = RealEnv::open({.data_dir = "/tmp/hub", .tls = tls});
//   (*env)->schedule((*env)->now() + Duration::seconds(1), [&] { (*env)->stop(); });
//   Status s = (*env)->run();
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "hub/env/env.hpp"
#include "hub/server/posix_disk.hpp"
#include "hub/server/tls_network.hpp"

namespace hub::server {

struct RealEnvConfig {
    std::string data_dir;  // root of disk(); made (with parents) if missing
    TlsConfig tls;
    TlsTimeouts tls_timeouts;
    bool trace_to_stderr = false;
    bool trace_json = false;  // structured lines instead of text (see above)
};

// One structured trace line (exposed for tests).
std::string trace_json_line(int64_t utc_ms, std::string_view kind, std::string_view detail);

class RealEnv final : public Env {
  public:
    // Makes the data directory. Errors: io_error (with errno text) if it cannot be made or
    // written; invalid_argument if data_dir is empty.
    static Result<std::unique_ptr<RealEnv>> open(RealEnvConfig config);
    ~RealEnv() override;
    RealEnv(const RealEnv&) = delete;
    RealEnv& operator=(const RealEnv&) = delete;

    Instant now() const override;
    int64_t utc_now_ms() const override;
    TimerId schedule(Instant at, std::function<void()> fn) override;
    void cancel(TimerId id) override;
    Random& random() override { return random_; }
    Disk& disk() override { return *disk_; }
    Network& network() override { return *network_; }
    void trace(std::string_view kind, std::string_view detail) override;

    // Runs callbacks until stop() is called (even when nothing is pending).
    // Errors: internal if a callback threw (the exception's text is in the message).
    Status run();
    // Runs callbacks until stop(), until nothing is pending, or until `limit` has passed,
    // whichever comes first. For tests and for draining closes at shutdown.
    Status run_for(Duration limit);
    // Makes run()/run_for() return after the callback in progress. Callable from callbacks.
    void stop();

    boost::asio::io_context& io_context() { return io_; }
    const std::string& data_dir() const { return config_.data_dir; }
    size_t pending_timer_count() const { return timers_.size(); }

  private:
    struct PendingTimer;

    RealEnv(RealEnvConfig config, uint64_t seed);
    void on_timer(TimerId id);

    // Declared first so it is destroyed last: timers, sockets and pending handlers refer to it.
    boost::asio::io_context io_;
    RealEnvConfig config_;
    Random random_;
    std::unique_ptr<PosixDisk> disk_;
    std::unique_ptr<TlsNetwork> network_;
    TimerId next_timer_id_ = 1;
    std::map<TimerId, std::unique_ptr<PendingTimer>> timers_;
};

}  // namespace hub::server
