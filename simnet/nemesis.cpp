#include "simnet/nemesis.hpp"

#include <algorithm>

namespace simnet {

const char* kind_name(Fault::Kind kind) {
    switch (kind) {
        case Fault::Kind::reset_connection: return "reset_connection";
        case Fault::Kind::crash_restart: return "crash_restart";
        case Fault::Kind::partition: return "partition";
        case Fault::Kind::clog: return "clog";
    }
    return "unknown";
}

std::string describe(const Fault& f) {
    std::string s = std::string(kind_name(f.kind)) + "@" + std::to_string(f.at_ms) + "ms";
    if (f.kind == Fault::Kind::crash_restart) {
        s += " " + f.target + " down " + std::to_string(f.duration_ms) + "ms";
    } else if (f.kind == Fault::Kind::partition) {
        const char* arrow = f.direction == Direction::both     ? "<->"
                            : f.direction == Direction::a_to_b ? "->"
                                                               : "<-";
        s += " " + f.target + arrow + f.peer + " for " + std::to_string(f.duration_ms) + "ms";
    } else if (f.kind == Fault::Kind::clog) {
        s += " " + f.target + " for " + std::to_string(f.duration_ms) + "ms";
    }
    return s;
}

FaultRates swarm_rates(hub::Random& random, const FaultRates& max) {
    const auto draw = [&random](uint32_t m) -> uint32_t {
        if (m == 0 || random.chance(1, 3)) return 0;
        return static_cast<uint32_t>(random.uniform_between(1, m));
    };
    FaultRates rates = max;
    rates.resets = draw(max.resets);
    rates.crashes = draw(max.crashes);
    rates.partitions = draw(max.partitions);
    rates.clogs = draw(max.clogs);
    return rates;
}

std::vector<Fault> draw_plan(hub::Random& random, const FaultRates& rates, int64_t window_ms,
                             const std::vector<std::string>& crashable,
                             const std::vector<std::string>& hosts) {
    std::vector<Fault> plan;
    for (uint32_t i = 0; i < rates.resets; ++i) {
        plan.push_back({.kind = Fault::Kind::reset_connection,
                        .at_ms = random.uniform_between(0, window_ms)});
    }
    for (uint32_t i = 0; i < rates.crashes && !crashable.empty(); ++i) {
        const int64_t at = random.uniform_between(0, window_ms);
        const int64_t down = random.uniform_between(1, std::max<int64_t>(1, rates.crash_downtime_ms_max));
        plan.push_back({.kind = Fault::Kind::crash_restart,
                        .at_ms = at,
                        .duration_ms = down,
                        .target = crashable[random.uniform(crashable.size())]});
    }
    for (uint32_t i = 0; i < rates.partitions && !hosts.empty() && !crashable.empty(); ++i) {
        Fault f{Fault::Kind::partition, random.uniform_between(0, window_ms),
                random.uniform_between(1, std::max<int64_t>(1, rates.partition_ms_max)),
                crashable[random.uniform(crashable.size())], hosts[random.uniform(hosts.size())]};
        const uint64_t way = random.uniform(3);
        f.direction = way == 0 ? Direction::both : way == 1 ? Direction::a_to_b : Direction::b_to_a;
        plan.push_back(std::move(f));
    }
    for (uint32_t i = 0; i < rates.clogs && !hosts.empty(); ++i) {
        plan.push_back({.kind = Fault::Kind::clog,
                        .at_ms = random.uniform_between(0, window_ms),
                        .duration_ms = random.uniform_between(1, std::max<int64_t>(1, rates.clog_ms_max)),
                        .target = hosts[random.uniform(hosts.size())]});
    }
    std::stable_sort(plan.begin(), plan.end(),
                     [](const Fault& a, const Fault& b) { return a.at_ms < b.at_ms; });
    return plan;
}

std::string FaultReport::to_string() const {
    std::string s;
    for (const auto& [kind, counts] : by_kind) {
        if (!s.empty()) s += ", ";
        s += kind + " " + std::to_string(counts.fired) + "/" + std::to_string(counts.planned);
    }
    return s.empty() ? "no faults planned" : s + " (fired/planned)";
}

Nemesis::Nemesis(Simulator& sim, SimNetwork& net, std::map<std::string, SimNode*> crashable)
    : sim_(sim), net_(net), crashable_(std::move(crashable)) {}

void Nemesis::schedule(const std::vector<Fault>& plan) {
    for (const Fault& fault : plan) {
        ++report_.by_kind[kind_name(fault.kind)].planned;
        sim_.schedule(sim_.now() + hub::Duration::millis(fault.at_ms),
                      [this, fault] { fire(fault); });
    }
}

void Nemesis::fire(const Fault& fault) {
    sim_.trace("nemesis", "fault", describe(fault));
    bool fired = false;
    switch (fault.kind) {
        case Fault::Kind::reset_connection:
            fired = net_.reset_random_connection();
            break;
        case Fault::Kind::crash_restart: {
            auto it = crashable_.find(fault.target);
            SimNode* node = it == crashable_.end() ? nullptr : it->second;
            if (node != nullptr && node->running()) {
                node->crash();
                sim_.schedule(sim_.now() + hub::Duration::millis(fault.duration_ms), [node] {
                    if (!node->running()) node->restart();
                });
                fired = true;
            }
            break;
        }
        case Fault::Kind::partition:
            net_.partition(fault.target, fault.peer, fault.direction);
            sim_.schedule(sim_.now() + hub::Duration::millis(fault.duration_ms),
                          [this, fault] { net_.heal(fault.target, fault.peer); });
            fired = true;
            break;
        case Fault::Kind::clog:
            net_.clog(fault.target, hub::Duration::millis(fault.duration_ms));
            fired = true;
            break;
    }
    if (fired) {
        ++report_.by_kind[kind_name(fault.kind)].fired;
    }
}

}  // namespace simnet
