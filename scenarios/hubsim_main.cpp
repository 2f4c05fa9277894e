// hubsim: runs the D2C at-least-once scenario in the deterministic simulator.
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "scenarios/d2c_scenario.hpp"

namespace {

constexpr const char* kHelp = R"(hubsim - deterministic simulation of an IoT hub under faults

Runs simulated devices that send device-to-cloud messages over AMQP (the real protocol code,
over a simulated network with latency and split writes) to a simulated hub whose disk loses
unsynced bytes when it crashes. A nemesis resets connections and crashes/restarts the hub at
random times drawn from the seed. Afterwards the checker proves at-least-once delivery: every
message the hub acknowledged is in its recovered log, and the log holds nothing nobody sent.

Usage: hubsim [options]
  --seed N            seed of the run (default 1); the same seed gives the same run
  --seeds K           run K consecutive seeds starting at --seed (a sweep), stop at first failure
  --devices N         simulated devices (default 8)
  --messages N        messages per device (default 16)
  --resets N          random connection resets during the send window (default 8)
  --crashes N         random hub crashes during the send window (default 2)
  --send-window-ms N  virtual time over which messages are sent and faults fire (default 10000)
  --trace             print every traced event (time_ns node kind detail)
  --plant-bug skip-sync
                      plant a known bug (the hub acknowledges without syncing its log) to
                      see the checker catch it
  --help              this text

Output: the verdict, the trace hash (identical for identical runs) and the command that
replays the run. Exit status 0 when every run passed, 1 when one failed, 2 on bad usage.

Example: hubsim --seed 7 --devices 100 --messages 50 --crashes 5
)";

bool parse_u64(const char* text, uint64_t* out) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-') {
        return false;
    }
    *out = v;
    return true;
}

int usage_error(const std::string& message) {
    std::fprintf(stderr, "hubsim: %s\nTry 'hubsim --help'.\n", message.c_str());
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    scenarios::ScenarioConfig config;
    uint64_t seeds = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(kHelp, stdout);
            return 0;
        }
        if (arg == "--trace") {
            config.print_trace = true;
            continue;
        }
        if (arg == "--plant-bug") {
            if (i + 1 >= argc || std::string(argv[i + 1]) != "skip-sync") {
                return usage_error("--plant-bug takes one of: skip-sync");
            }
            config.plant_bug_skip_sync = true;
            ++i;
            continue;
        }
        if (i + 1 >= argc) {
            return usage_error("missing value for " + arg);
        }
        uint64_t value = 0;
        if (!parse_u64(argv[++i], &value)) {
            return usage_error("'" + std::string(argv[i]) + "' is not a non-negative integer (" +
                               arg + ")");
        }
        if (arg == "--seed") {
            config.seed = value;
        } else if (arg == "--seeds") {
            seeds = value;
        } else if (arg == "--devices") {
            config.devices = static_cast<uint32_t>(value);
        } else if (arg == "--messages") {
            config.messages_per_device = static_cast<uint32_t>(value);
        } else if (arg == "--resets") {
            config.random_resets = static_cast<uint32_t>(value);
        } else if (arg == "--crashes") {
            config.random_crashes = static_cast<uint32_t>(value);
        } else if (arg == "--send-window-ms") {
            config.send_window_ms = static_cast<int64_t>(value);
        } else {
            return usage_error("unknown option " + arg);
        }
    }
    if (config.devices == 0 || seeds == 0) {
        return usage_error("--devices and --seeds must be at least 1");
    }
    const uint64_t first = config.seed;
    for (uint64_t s = 0; s < seeds; ++s) {
        config.seed = first + s;
        const scenarios::ScenarioResult r = scenarios::run_d2c_scenario(config);
        std::printf("seed %" PRIu64 ": %s\n", config.seed, r.verdict.c_str());
        std::printf("  sent=%" PRIu64 " acknowledged=%" PRIu64 " in_log=%" PRIu64
                    " faults_fired=%" PRIu64 " hub_crashes=%" PRIu64 " events=%" PRIu64
                    " virtual_time=%" PRId64 "ms\n",
                    r.sent, r.acknowledged, r.in_log, r.faults_fired, r.hub_crashes, r.events,
                    r.end_time_ms);
        std::printf("  trace hash: %016" PRIx64 "\n", r.trace_hash);
        std::printf("  replay: %s\n", scenarios::replay_command(config).c_str());
        std::fflush(stdout);
        if (!r.ok) {
            return 1;
        }
    }
    if (seeds > 1) {
        std::printf("%" PRIu64 " seeds passed (%" PRIu64 "..%" PRIu64 ")\n", seeds, first,
                    first + seeds - 1);
    }
    return 0;
}
