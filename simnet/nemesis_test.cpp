#include "simnet/nemesis.hpp"

#include <gtest/gtest.h>

namespace simnet {
namespace {

TEST(Nemesis, DrawnPlansAreSortedSizedAndReproducible) {
    hub::Random a(3);
    hub::Random b(3);
    const FaultRates rates{5, 3, 100};
    const auto plan = draw_plan(a, rates, 1000, {"hub", "other"});
    EXPECT_EQ(plan.size(), 8u);
    EXPECT_TRUE(std::is_sorted(plan.begin(), plan.end(),
                               [](const Fault& x, const Fault& y) { return x.at_ms < y.at_ms; }));
    const auto again = draw_plan(b, rates, 1000, {"hub", "other"});
    ASSERT_EQ(again.size(), plan.size());
    for (size_t i = 0; i < plan.size(); ++i) {
        EXPECT_EQ(describe(plan[i]), describe(again[i]));
        EXPECT_LE(plan[i].at_ms, 1000);
        if (plan[i].kind == Fault::Kind::crash_restart) {
            EXPECT_GE(plan[i].duration_ms, 1);
            EXPECT_LE(plan[i].duration_ms, 100);
        }
    }
}

TEST(Nemesis, SwarmTurnsKindsOffAndOnAcrossSeeds) {
    int resets_off = 0;
    int crashes_on = 0;
    for (uint64_t seed = 0; seed < 60; ++seed) {
        hub::Random r(seed);
        const FaultRates rates = swarm_rates(r, FaultRates{10, 4, 100});
        EXPECT_LE(rates.resets, 10u);
        EXPECT_LE(rates.crashes, 4u);
        resets_off += rates.resets == 0;
        crashes_on += rates.crashes > 0;
    }
    EXPECT_GT(resets_off, 5);   // about a third
    EXPECT_GT(crashes_on, 25);  // about two thirds
}

TEST(Nemesis, ReportCountsWhatFired) {
    Simulator sim(1);
    SimNetwork net(sim, hub::Random(2));
    SimNode node(sim, net, "hub");
    node.boot([](SimNode&) { return std::make_unique<Process>(); });
    Nemesis nemesis(sim, net, {{"hub", &node}});
    nemesis.schedule({{Fault::Kind::reset_connection, 5, 0, {}},        // no connection: no effect
                      {Fault::Kind::crash_restart, 10, 50, "hub"},
                      {Fault::Kind::crash_restart, 20, 50, "hub"}});    // already down
    sim.run_until([] { return false; }, hub::Instant{hub::Duration::seconds(1).ns});
    EXPECT_TRUE(node.running());  // restarted after its downtime
    EXPECT_EQ(node.crashes(), 1u);
    EXPECT_EQ(nemesis.report().to_string(),
              "crash_restart 1/2, reset_connection 0/1 (fired/planned)");
}

}  // namespace
}  // namespace simnet
