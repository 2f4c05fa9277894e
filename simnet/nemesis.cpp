#include "simnet/nemesis.hpp"

#include <algorithm>

namespace simnet {

const char* kind_name(Fault::Kind kind) {
    switch (kind) {
        case Fault::Kind::reset_connection: return "reset_connection";
        case Fault::Kind::crash_restart: return "crash_restart";
    }
    return "unknown";
}

std::string describe(const Fault& f) {
    std::string s = std::string(kind_name(f.kind)) + "@" + std::to_string(f.at_ms) + "ms";
    if (f.kind == Fault::Kind::crash_restart) {
        s += " " + f.target + " down " + std::to_string(f.duration_ms) + "ms";
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
    return rates;
}

std::vector<Fault> draw_plan(hub::Random& random, const FaultRates& rates, int64_t window_ms,
                             const std::vector<std::string>& crashable) {
    std::vector<Fault> plan;
    for (uint32_t i = 0; i < rates.resets; ++i) {
        plan.push_back({Fault::Kind::reset_connection, random.uniform_between(0, window_ms), 0, {}});
    }
    for (uint32_t i = 0; i < rates.crashes && !crashable.empty(); ++i) {
        const int64_t at = random.uniform_between(0, window_ms);
        const int64_t down = random.uniform_between(1, std::max<int64_t>(1, rates.crash_downtime_ms_max));
        plan.push_back({Fault::Kind::crash_restart, at, down,
                        crashable[random.uniform(crashable.size())]});
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
    }
    if (fired) {
        ++report_.by_kind[kind_name(fault.kind)].fired;
    }
}

}  // namespace simnet
