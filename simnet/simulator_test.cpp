#include "simnet/simulator.hpp"

#include <gtest/gtest.h>

namespace simnet {
namespace {

TEST(Simulator, RunsEventsInTimeThenSchedulingOrder) {
    Simulator sim(1);
    std::vector<int> order;
    sim.schedule(Instant{20}, [&] { order.push_back(3); });
    sim.schedule(Instant{10}, [&] { order.push_back(1); });
    sim.schedule(Instant{10}, [&] { order.push_back(2); });  // tie: scheduling order
    while (sim.step()) {
    }
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(sim.now().ns, 20);
}

TEST(Simulator, CancelledEventsDoNotRun) {
    Simulator sim(1);
    bool ran = false;
    const TimerId id = sim.schedule(Instant{5}, [&] { ran = true; });
    sim.cancel(id);
    EXPECT_FALSE(sim.step());
    EXPECT_FALSE(ran);
}

TEST(Simulator, RunUntilStopsAtDeadline) {
    Simulator sim(1);
    int count = 0;
    sim.schedule(Instant{5}, [&] { ++count; });
    sim.schedule(Instant{50}, [&] { ++count; });
    EXPECT_FALSE(sim.run_until([] { return false; }, Instant{10}));
    EXPECT_EQ(count, 1);
    EXPECT_EQ(sim.now().ns, 10);
}

TEST(Simulator, TraceHashDependsOnSeedAndEvents) {
    Simulator a(1);
    Simulator b(1);
    Simulator c(2);
    for (Simulator* s : {&a, &b, &c}) {
        s->trace("n", "k", "d");
    }
    EXPECT_EQ(a.trace_hash(), b.trace_hash());
    EXPECT_NE(a.trace_hash(), c.trace_hash());
    b.trace("n", "k", "other");
    EXPECT_NE(a.trace_hash(), b.trace_hash());
}

}  // namespace
}  // namespace simnet
