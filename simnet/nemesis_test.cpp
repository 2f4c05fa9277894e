#include "simnet/nemesis.hpp"

#include <gtest/gtest.h>

namespace simnet {
namespace {

TEST(Nemesis, DrawnPlansAreSortedSizedAndReproducible) {
    hub::Random a(3);
    hub::Random b(3);
    const FaultRates rates{.resets = 5, .crashes = 3, .crash_downtime_ms_max = 100};
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
        const FaultRates rates = swarm_rates(r, FaultRates{.resets = 10, .crashes = 4, .crash_downtime_ms_max = 100});
        EXPECT_LE(rates.resets, 10u);
        EXPECT_LE(rates.crashes, 4u);
        resets_off += rates.resets == 0;
        crashes_on += rates.crashes > 0;
    }
    EXPECT_GT(resets_off, 5);   // about a third
    EXPECT_GT(crashes_on, 25);  // about two thirds
}

TEST(Nemesis, PartitionsCutAndHealAndClogsFire) {
    Simulator sim(1);
    SimNetwork net(sim, hub::Random(2));
    Nemesis nemesis(sim, net, {});
    nemesis.schedule({
        {.kind = Fault::Kind::partition, .at_ms = 10, .duration_ms = 100, .target = "hub",
         .peer = "dev", .direction = Direction::a_to_b},
        {.kind = Fault::Kind::clog, .at_ms = 10, .duration_ms = 100, .target = "dev"},
    });
    sim.run_until([] { return false; }, hub::Instant{hub::Duration::millis(50).ns});
    EXPECT_TRUE(net.is_partitioned("hub", "dev"));
    EXPECT_FALSE(net.is_partitioned("dev", "hub"));  // one way only
    EXPECT_TRUE(net.is_clogged("dev"));
    sim.run_until([] { return false; }, hub::Instant{hub::Duration::millis(200).ns});
    EXPECT_FALSE(net.is_partitioned("hub", "dev"));
    EXPECT_FALSE(net.is_clogged("dev"));
    EXPECT_EQ(nemesis.report().to_string(), "clog 1/1, partition 1/1 (fired/planned)");
    hub::Random r(4);
    for (const Fault& f : draw_plan(r, FaultRates{.resets = 0, .crashes = 0, .partitions = 6, .clogs = 6, .partition_ms_max = 500, .clog_ms_max = 500}, 1000, {"hub"}, {"a", "b"})) {
        EXPECT_TRUE(f.kind == Fault::Kind::partition || f.kind == Fault::Kind::clog);
        EXPECT_LE(f.duration_ms, 500);
        if (f.kind == Fault::Kind::partition) {
            EXPECT_EQ(f.target, "hub");
        }
    }
}

TEST(Nemesis, ReportCountsWhatFired) {
    Simulator sim(1);
    SimNetwork net(sim, hub::Random(2));
    SimNode node(sim, net, "hub");
    node.boot([](SimNode&) { return std::make_unique<Process>(); });
    Nemesis nemesis(sim, net, {{"hub", &node}});
    nemesis.schedule({
        {.kind = Fault::Kind::reset_connection, .at_ms = 5},  // no connection: no effect
        {.kind = Fault::Kind::crash_restart, .at_ms = 10, .duration_ms = 50, .target = "hub"},
        {.kind = Fault::Kind::crash_restart, .at_ms = 20, .duration_ms = 50, .target = "hub"},  // down
    });
    sim.run_until([] { return false; }, hub::Instant{hub::Duration::seconds(1).ns});
    EXPECT_TRUE(node.running());  // restarted after its downtime
    EXPECT_EQ(node.crashes(), 1u);
    EXPECT_EQ(nemesis.report().to_string(),
              "crash_restart 1/2, reset_connection 0/1 (fired/planned)");
}

}  // namespace
}  // namespace simnet
