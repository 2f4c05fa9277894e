// hubsim: runs the D2C or C2D at-least-once scenario in the deterministic simulator.
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>

#include "scenarios/scenario.hpp"

namespace {

constexpr const char* kHelp = R"(hubsim - deterministic simulation of an IoT hub under faults

Runs simulated devices that send device-to-cloud messages over AMQP (the real protocol code,
over a simulated network with latency and split writes) to a simulated hub whose disk loses
unsynced bytes when it crashes. A nemesis resets connections, partitions and clogs links, and
crashes/restarts the hub at random times drawn from the seed. Afterwards the checker proves at-least-once delivery: every
message the hub acknowledged is in its recovered log, and the log holds nothing nobody sent.

With --scenario c2d, a simulated service sends cloud-to-device messages instead (ack modes
none/positive/negative/full, most with long TTLs and some short enough to expire while their
device is offline or cut off) and reads the feedback; devices complete, reject or abandon them
(abandoned 10 times: DeliveryCountExceeded). The service reconnects and resends what the hub
never settled, so a message may be enqueued twice; partitions and clogs also hit the service's
link, and some devices go offline for a few seconds. The checker reads the recovered C2D log and
proves: nothing the hub accepted is lost; every enqueued copy reached exactly one outcome its
device allowed (expired only after its expiry); nothing was handed to a device after its
expiry; and the feedback the service got (deduplicated) is exactly what the outcomes and ack
modes ask for: right status, none for ack none, none for unknown ids.

Usage: hubsim [options]
  --scenario d2c|c2d  device-to-cloud (default) or cloud-to-device + feedback; every option
                      below works for both (for c2d, --messages counts messages per device)
  --seed N            seed of the run (default 1); the same seed gives the same run
  --seeds K           run K consecutive seeds starting at --seed (a sweep), stop at first failure
  --devices N         simulated devices (default 8)
  --messages N        messages per device (default 16)
  --resets N          random connection resets during the send window (default 8)
  --crashes N         random hub crashes during the send window (default 2)
  --partitions N      random partitions between the hub and a device, some one-way, lasting
                      up to 8 s (long ones reset the connection, short ones only delay it)
                      (default 2)
  --clogs N           random clogs of a device's links, up to 3 s (default 2)
  --send-window-ms N  virtual time over which messages are sent and faults fire (default 10000)
  --swarm             let each seed choose which fault kinds are on and how many (up to the
                      counts above): across a sweep, some runs hammer one fault, some see none
  --disk-latency-us N flush latency of the hub's disk per group-commit sync, in virtual
                      microseconds (default 0): acks wait for it and more messages share a sync
  --disk-jitter-us N  add exponential jitter with this mean (capped at 20x) to each flush
  --trace             print every traced event (time_ns node kind detail)
  --trace-jsonl FILE  write every traced event as one JSON object per line to FILE
  --check-determinism run each seed twice and compare the traces event by event; on a
                      difference, name the first diverging event of both runs
  --plant-bug skip-sync|c2d-skip-sync
                      plant a known bug to see the checker catch it: skip-sync, the hub
                      acknowledges D2C without syncing its log; c2d-skip-sync, the hub
                      acknowledges C2D sends (and logs outcomes) without syncing its C2D log
  --scheduler heap|wheel
                      the simulator's event queue (default wheel); both give the same run
  --help              this text

Output: the verdict, the trace hash (identical for identical runs) and the command that
replays the run. Exit status 0 when every run passed, 1 when one failed, 2 on bad usage.

Examples: hubsim --seed 7 --devices 100 --messages 50 --crashes 5
          hubsim --scenario c2d --seeds 200 --swarm
)";

struct Options {
    scenarios::ScenarioConfig config;
    uint64_t seeds = 1;
    bool print_trace = false;
    bool check_determinism = false;
    std::string jsonl_path;
};

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

// Sets one numeric option. Returns false for an unknown name.
bool set_number(Options& o, const std::string& name, uint64_t value) {
    scenarios::ScenarioConfig& c = o.config;
    if (name == "--seed") c.seed = value;
    else if (name == "--seeds") o.seeds = value;
    else if (name == "--devices") c.devices = static_cast<uint32_t>(value);
    else if (name == "--messages") c.messages_per_device = static_cast<uint32_t>(value);
    else if (name == "--resets") c.fault_rates.resets = static_cast<uint32_t>(value);
    else if (name == "--crashes") c.fault_rates.crashes = static_cast<uint32_t>(value);
    else if (name == "--partitions") c.fault_rates.partitions = static_cast<uint32_t>(value);
    else if (name == "--clogs") c.fault_rates.clogs = static_cast<uint32_t>(value);
    else if (name == "--send-window-ms") c.send_window_ms = static_cast<int64_t>(value);
    else if (name == "--disk-latency-us") c.disk_latency_us = static_cast<int64_t>(value);
    else if (name == "--disk-jitter-us") c.disk_jitter_us = static_cast<int64_t>(value);
    else return false;
    return true;
}

// Parses argv into `o`. Returns -1 to go on, or an exit status (help printed, usage error).
int parse(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(kHelp, stdout);
            return 0;
        }
        if (arg == "--trace") {
            o.print_trace = true;
        } else if (arg == "--check-determinism") {
            o.check_determinism = true;
        } else if (arg == "--swarm") {
            o.config.swarm = true;
        } else if (i + 1 >= argc) {
            return usage_error("missing value for " + arg);
        } else if (arg == "--trace-jsonl") {
            o.jsonl_path = argv[++i];
        } else if (arg == "--plant-bug") {
            const std::string bug = argv[++i];
            if (bug == "skip-sync") {
                o.config.plant_bug_skip_sync = true;
            } else if (bug == "c2d-skip-sync") {
                o.config.plant_bug_c2d_skip_sync = true;
            } else {
                return usage_error("--plant-bug takes one of: skip-sync, c2d-skip-sync");
            }
        } else if (arg == "--scenario") {
            const std::string kind = argv[++i];
            if (kind == "d2c") {
                o.config.kind = scenarios::ScenarioKind::d2c;
            } else if (kind == "c2d") {
                o.config.kind = scenarios::ScenarioKind::c2d;
            } else {
                return usage_error("--scenario takes one of: d2c, c2d");
            }
        } else if (arg == "--scheduler") {
            const std::optional<simnet::SchedulerKind> kind =
                simnet::parse_scheduler_kind(argv[++i]);
            if (!kind) {
                return usage_error("--scheduler takes one of: heap, wheel");
            }
            o.config.scheduler = *kind;
        } else {
            uint64_t value = 0;
            if (!parse_u64(argv[++i], &value)) {
                return usage_error("'" + std::string(argv[i]) + "' is not a non-negative integer (" +
                                   arg + ")");
            }
            if (!set_number(o, arg, value)) {
                return usage_error("unknown option " + arg);
            }
        }
    }
    if (o.config.devices == 0 || o.seeds == 0) {
        return usage_error("--devices and --seeds must be at least 1");
    }
    return -1;
}

void print_result(const scenarios::ScenarioConfig& config, const scenarios::ScenarioResult& r) {
    std::printf("seed %" PRIu64 ": %s\n", config.seed, r.verdict.c_str());
    std::printf("  sent=%" PRIu64 " acknowledged=%" PRIu64 " in_log=%" PRIu64
                " faults_fired=%" PRIu64 " hub_crashes=%" PRIu64 " events=%" PRIu64
                " virtual_time=%" PRId64 "ms\n",
                r.sent, r.acknowledged, r.in_log, r.faults_fired, r.hub_crashes, r.events,
                r.end_time_ms);
    if (config.kind == scenarios::ScenarioKind::c2d) {
        std::printf("  c2d %s\n", r.c2d_report.c_str());
    } else {
        std::printf("  d2c commits=%" PRIu64 " events/commit=%.2f\n", r.d2c_commits,
                    r.d2c_commits == 0 ? 0.0
                                       : static_cast<double>(r.d2c_events_committed) /
                                             static_cast<double>(r.d2c_commits));
    }
    std::printf("  faults: %s\n", r.fault_report.c_str());
    std::printf("  trace hash: %016" PRIx64 "\n", r.trace_hash);
    std::printf("  replay: %s\n", scenarios::replay_command(config).c_str());
    std::fflush(stdout);
}

// Runs the seed a second time and compares both traces event by event.
bool check_determinism(scenarios::ScenarioConfig config, const simnet::TraceRecorder& first) {
    simnet::TraceRecorder second;
    config.trace_sinks = {second.sink()};
    scenarios::run_scenario(config);
    const std::optional<size_t> at = simnet::first_divergence(first.events(), second.events());
    if (!at) {
        std::printf("  determinism: both runs gave the same %zu events%s\n",
                    first.events().size(), first.truncated() ? " (recording truncated)" : "");
        return true;
    }
    std::printf("  determinism: FAIL: the runs diverge at event %zu\n", *at);
    const auto show = [&](const char* which, const std::vector<simnet::TraceEvent>& events) {
        std::printf("    %s: %s\n", which,
                    *at < events.size() ? simnet::to_text(events[*at]).c_str() : "(run ended)");
    };
    show("first run ", first.events());
    show("second run", second.events());
    return false;
}

int run(Options& o) {
    std::ofstream jsonl;
    if (!o.jsonl_path.empty()) {
        jsonl.open(o.jsonl_path);
        if (!jsonl) {
            std::fprintf(stderr, "hubsim: cannot write %s: %s\n", o.jsonl_path.c_str(),
                         std::strerror(errno));
            return 2;
        }
    }
    const uint64_t first = o.config.seed;
    for (uint64_t s = 0; s < o.seeds; ++s) {
        scenarios::ScenarioConfig base = o.config;
        base.seed = first + s;
        scenarios::ScenarioConfig config = base;
        simnet::TraceRecorder recorder;
        if (o.print_trace) {
            config.trace_sinks.push_back([](const simnet::TraceEvent& e) {
                std::printf("%s\n", simnet::to_text(e).c_str());
            });
        }
        if (jsonl.is_open()) {
            config.trace_sinks.push_back(
                [&jsonl](const simnet::TraceEvent& e) { jsonl << simnet::to_jsonl(e) << '\n'; });
        }
        if (o.check_determinism) {
            config.trace_sinks.push_back(recorder.sink());
        }
        const scenarios::ScenarioResult r = scenarios::run_scenario(config);
        print_result(config, r);
        if (!r.ok || (o.check_determinism && !check_determinism(base, recorder))) {
            return 1;
        }
    }
    if (o.seeds > 1) {
        std::printf("%" PRIu64 " seeds passed (%" PRIu64 "..%" PRIu64 ")\n", o.seeds, first,
                    first + o.seeds - 1);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    const int status = parse(argc, argv, options);
    if (status >= 0) {
        return status;
    }
    return run(options);
}
