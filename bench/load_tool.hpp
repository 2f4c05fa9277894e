// What the real-socket load tools (amqp_load, c2d_latency) share: "--flag value" parsing into
// option fields, a RealEnv that trusts one CA and keeps its scratch files in a temporary
// directory removed at the end, a microsecond clock from the start, and latency percentiles.
//
// Outside the simulator (wall clock allowed); single-threaded.
//
// Example:
//   if (!parse_flags(argc, argv, {{"--ca", &o.ca}, {"--messages", &o.messages}})) return usage();
//   LoadEnv load("amqp-load", o.ca);
//   ... load.env() ..., latencies.push_back(load.now_us() - start);
//   std::printf("p99=%.2f\n", percentile_ms(latencies, 0.99));
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <unistd.h>
#include <variant>
#include <vector>

#include "hub/server/real_env.hpp"

namespace bench {

using FlagTarget = std::variant<std::string*, int*>;

// Every argument pair "--flag value" must name a flag of `flags`; false otherwise (usage).
inline bool parse_flags(int argc, char** argv, const std::map<std::string, FlagTarget>& flags) {
    for (int i = 1; i + 1 < argc; i += 2) {
        auto it = flags.find(argv[i]);
        if (it == flags.end()) return false;
        if (std::string* const* text = std::get_if<std::string*>(&it->second)) {
            **text = argv[i + 1];
        } else {
            *std::get<int*>(it->second) = std::atoi(argv[i + 1]);
        }
    }
    return true;
}

class LoadEnv {
  public:
    // Exits the process (status 2) when the RealEnv cannot be opened: a tool's set-up error.
    LoadEnv(const std::string& tool, const std::string& ca_path)
        : data_dir_((std::filesystem::temp_directory_path() /
                     (tool + "-" + std::to_string(::getpid())))
                        .string()),
          start_(std::chrono::steady_clock::now()) {
        hub::server::RealEnvConfig config;
        config.data_dir = data_dir_;
        config.tls.ca_pem_path = ca_path;
        hub::Result<std::unique_ptr<hub::server::RealEnv>> env = hub::server::RealEnv::open(config);
        if (!env.ok()) {
            std::fprintf(stderr, "%s: %s\n", tool.c_str(), env.status().to_string().c_str());
            std::exit(2);
        }
        env_ = std::move(*env);
    }
    ~LoadEnv() {
        env_.reset();
        std::error_code ignored;
        std::filesystem::remove_all(data_dir_, ignored);
    }
    LoadEnv(const LoadEnv&) = delete;
    LoadEnv& operator=(const LoadEnv&) = delete;

    hub::server::RealEnv& env() { return *env_; }
    int64_t now_us() const {
        return std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::steady_clock::now() - start_)
            .count();
    }

  private:
    std::string data_dir_;
    std::chrono::steady_clock::time_point start_;
    std::unique_ptr<hub::server::RealEnv> env_;
};

// The p-quantile (0..1) of latencies in microseconds, in milliseconds. Sorts `us`.
// REQUIRES: !us.empty().
inline double percentile_ms(std::vector<int64_t>& us, double p) {
    std::sort(us.begin(), us.end());
    const size_t i = std::min(us.size() - 1, static_cast<size_t>(p * static_cast<double>(us.size())));
    return static_cast<double>(us[i]) / 1000.0;
}

}  // namespace bench
