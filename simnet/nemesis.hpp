// Nemesis: injects faults into a simulated world on a plan, and reports what actually fired.
//
// A plan is a list of faults at virtual times: explicit (tests, shrunk RapidCheck cases) or
// drawn from a Random over a window. Swarm mode (Groce et al., as FoundationDB and TigerBeetle
// use it) draws, per seed, which fault kinds are on at all and how often, so that some runs
// hammer one fault while others see none of it: more distinct behaviours than one fixed mix.
// The report counts, per kind, the faults planned and the ones that had an effect (a reset
// with no open connection, or a crash of a node already down, did not fire).
//
// Deterministic: plans come only from the Random given; execution runs on simulator events.
// The Simulator, the network and the nodes must outlive the nemesis.
//
// Example:
//   Nemesis nemesis(sim, net, {{"hub", &hub_node}});
//   nemesis.schedule(draw_plan(random, swarm_rates(random, FaultRates{}), 10'000, {"hub"}));
//   ... run ...; std::puts(nemesis.report().to_string().c_str());
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "simnet/sim_network.hpp"
#include "simnet/sim_node.hpp"
#include "simnet/simulator.hpp"

namespace simnet {

struct Fault {
    enum class Kind { reset_connection, crash_restart, partition, clog };
    Kind kind = Kind::reset_connection;
    int64_t at_ms = 0;
    int64_t duration_ms = 0;  // how long the node stays down / the cut or clog lasts
    std::string target = {};  // crash_restart, clog: the node; partition: one side
    std::string peer = {};    // partition: the other side
    Direction direction = Direction::both;  // partition: which way bytes are cut
};

const char* kind_name(Fault::Kind kind);
std::string describe(const Fault& fault);

// How many faults of each kind a plan holds over its window.
struct FaultRates {
    uint32_t resets = 8;
    uint32_t crashes = 2;
    uint32_t partitions = 2;
    uint32_t clogs = 2;
    int64_t crash_downtime_ms_max = 2000;
    int64_t partition_ms_max = 8000;  // longer than SimNetwork's stall reset: some cuts reset
    int64_t clog_ms_max = 3000;
};

// Swarm: each kind is off with probability 1/3, else its count is drawn in [1, max].
FaultRates swarm_rates(hub::Random& random, const FaultRates& max);
// A plan with exactly `rates` faults at uniform times in [0, window_ms], sorted by time
// (ties keep draw order). Crashes pick a target from `crashable`; partitions cut a random
// host of `hosts` from a random crashable node (a third of them one way only); clogs hit a
// random host.
std::vector<Fault> draw_plan(hub::Random& random, const FaultRates& rates, int64_t window_ms,
                             const std::vector<std::string>& crashable,
                             const std::vector<std::string>& hosts = {});

struct FaultReport {
    struct Counts {
        uint64_t planned = 0;
        uint64_t fired = 0;
    };
    std::map<std::string, Counts> by_kind;  // sorted: the report prints in a stable order
    std::string to_string() const;
};

class Nemesis {
  public:
    Nemesis(Simulator& sim, SimNetwork& net, std::map<std::string, SimNode*> crashable);
    Nemesis(const Nemesis&) = delete;
    Nemesis& operator=(const Nemesis&) = delete;

    void schedule(const std::vector<Fault>& plan);
    const FaultReport& report() const { return report_; }

  private:
    void fire(const Fault& fault);

    Simulator& sim_;
    SimNetwork& net_;
    std::map<std::string, SimNode*> crashable_;
    FaultReport report_;
};

}  // namespace simnet
