#include "hub/server/real_env.hpp"

#include <ctime>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <random>

#include "hub/server/posix_file.hpp"

namespace hub::server {
namespace {

using SteadyClock = std::chrono::steady_clock;

uint64_t seed_from_random_device() {
    std::random_device device;
    uint64_t seed = (static_cast<uint64_t>(device()) << 32) ^ device();
    return mix64(seed);
}

// Checks the directory is writable now, so iothubd fails at start, not at the first append.
Status check_writable(const std::string& dir) {
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
        Status s = errno_status("access", dir, errno);
        return Status(s.code(), "data directory is not writable: " + s.message());
    }
    return Status::ok_status();
}

}  // namespace

struct RealEnv::PendingTimer {
    explicit PendingTimer(boost::asio::io_context& io) : timer(io) {}
    boost::asio::steady_timer timer;
    std::function<void()> fn;
};

Result<std::unique_ptr<RealEnv>> RealEnv::open(RealEnvConfig config) {
    if (config.data_dir.empty()) {
        return Status(Code::invalid_argument, "data directory is empty");
    }
    if (Status s = make_dirs(config.data_dir); !s.ok()) {
        return Status(s.code(), "cannot make data directory: " + s.message());
    }
    std::error_code ec;
    std::filesystem::path abs = std::filesystem::canonical(config.data_dir, ec);
    if (ec) {
        return Status(Code::io_error, "resolve data directory " + config.data_dir + ": " +
                                          ec.message());
    }
    config.data_dir = abs.string();
    if (Status s = check_writable(config.data_dir); !s.ok()) {
        return s;
    }
    try {
        return std::unique_ptr<RealEnv>(new RealEnv(std::move(config), seed_from_random_device()));
    } catch (const std::exception& e) {
        return Status(Code::internal, std::string("start event loop: ") + e.what());
    }
}

RealEnv::RealEnv(RealEnvConfig config, uint64_t seed)
    : io_(1),  // concurrency hint: one thread runs this io_context
      config_(std::move(config)), random_(seed),
      disk_(std::make_unique<PosixDisk>(
          config_.data_dir,
          [this](std::function<void()> fn) { boost::asio::post(io_, std::move(fn)); })),
      network_(std::make_unique<TlsNetwork>(io_, config_.tls, config_.tls_timeouts)) {}

RealEnv::~RealEnv() {
    timers_.clear();  // cancels them; their handlers are destroyed with io_, never run
    network_.reset();
    disk_.reset();
}

Instant RealEnv::now() const {
    auto since_origin = SteadyClock::now().time_since_epoch();
    return Instant{std::chrono::duration_cast<std::chrono::nanoseconds>(since_origin).count()};
}

int64_t RealEnv::utc_now_ms() const {
    auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    return std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count();
}

TimerId RealEnv::schedule(Instant at, std::function<void()> fn) {
    HUB_ASSERT(fn);
    const TimerId id = next_timer_id_++;
    auto pending = std::make_unique<PendingTimer>(io_);
    pending->fn = std::move(fn);
    auto deadline = SteadyClock::time_point(
        std::chrono::duration_cast<SteadyClock::duration>(std::chrono::nanoseconds(at.ns)));
    pending->timer.expires_at(deadline);
    // Even a deadline in the past completes through the io_context, never inside schedule().
    pending->timer.async_wait([this, id](const boost::system::error_code& ec) {
        if (!ec) {
            on_timer(id);
        }
    });
    timers_.emplace(id, std::move(pending));
    return id;
}

void RealEnv::on_timer(TimerId id) {
    auto it = timers_.find(id);
    if (it == timers_.end()) {
        return;  // cancelled after its wait had already completed
    }
    std::function<void()> fn = std::move(it->second->fn);
    timers_.erase(it);  // before fn runs: fn may schedule or cancel (itself: a no-op)
    fn();
}

void RealEnv::cancel(TimerId id) {
    auto it = timers_.find(id);
    if (it == timers_.end()) {
        return;
    }
    it->second->timer.cancel();
    timers_.erase(it);
}

namespace {

// "2026-11-27T07:00:00.123Z"
std::string iso_utc_millis(int64_t ms) {
    const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char text[64];
    std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms % 1000));
    return text;
}

}  // namespace

std::string trace_json_line(int64_t utc_ms, std::string_view kind, std::string_view detail) {
    const nlohmann::json line = {{"time", iso_utc_millis(utc_ms)},
                                 {"event", std::string(kind)},
                                 {"detail", std::string(detail)}};
    // Peers choose parts of DETAIL (device ids, addresses): never throw on invalid UTF-8.
    return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void RealEnv::trace(std::string_view kind, std::string_view detail) {
    if (!config_.trace_to_stderr) {
        return;
    }
    if (config_.trace_json) {
        std::fprintf(stderr, "%s\n", trace_json_line(utc_now_ms(), kind, detail).c_str());
    } else {
        std::fprintf(stderr, "trace %.*s %.*s\n", static_cast<int>(kind.size()), kind.data(),
                     static_cast<int>(detail.size()), detail.data());
    }
}

Status RealEnv::run() {
    auto work = boost::asio::make_work_guard(io_);  // keep running while idle, until stop()
    try {
        io_.restart();
        io_.run();
    } catch (const std::exception& e) {
        return Status(Code::internal, std::string("event loop: callback threw: ") + e.what());
    }
    return Status::ok_status();
}

Status RealEnv::run_for(Duration limit) {
    try {
        io_.restart();
        io_.run_for(std::chrono::nanoseconds(limit.ns));
    } catch (const std::exception& e) {
        return Status(Code::internal, std::string("event loop: callback threw: ") + e.what());
    }
    return Status::ok_status();
}

void RealEnv::stop() { io_.stop(); }

}  // namespace hub::server
