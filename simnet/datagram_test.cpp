#include "simnet/datagram.hpp"

#include <gtest/gtest.h>

namespace simnet {
namespace {

using hub::Duration;

hub::Bytes msg(uint32_t i) {
    return hub::Bytes{static_cast<uint8_t>(i), static_cast<uint8_t>(i >> 8),
                      static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 24)};
}

uint32_t id_of(hub::ByteView m) {
    return static_cast<uint32_t>(m[0]) | (static_cast<uint32_t>(m[1]) << 8) |
           (static_cast<uint32_t>(m[2]) << 16) | (static_cast<uint32_t>(m[3]) << 24);
}

struct World {
    explicit World(DatagramConfig config = {}, uint64_t seed = 1)
        : sim(seed), net(sim, sim.random_for("datagrams"), config) {
        EXPECT_TRUE(net.bind("hub:1", [this](const std::string& from, hub::ByteView m) {
                           arrivals.push_back({sim.now().ns, from, id_of(m)});
                       }).ok());
    }
    void run() { sim.run_until([] { return false; }, sim.now() + Duration::seconds(10)); }

    struct Arrival {
        int64_t at_ns;
        std::string from;
        uint32_t id;
        bool operator==(const Arrival&) const = default;
    };
    Simulator sim;
    DatagramNetwork net;
    std::vector<Arrival> arrivals;
};

TEST(DatagramNetwork, DeliversToTheBoundAddressAfterLatency) {
    World w(DatagramConfig{.latency = LatencyModel::fixed(Duration::millis(3))});
    ASSERT_TRUE(w.net.send("dev-1:9", "hub:1", msg(7)).ok());
    ASSERT_TRUE(w.net.send("dev-1:9", "nobody:1", msg(8)).ok());  // loss is silent
    EXPECT_EQ(w.net.in_flight(), 2u);
    w.run();
    ASSERT_EQ(w.arrivals.size(), 1u);
    EXPECT_EQ(w.arrivals[0], (World::Arrival{Duration::millis(3).ns, "dev-1:9", 7}));
    EXPECT_EQ(w.net.stats().delivered, 1u);
    EXPECT_EQ(w.net.stats().dropped_unbound, 1u);
    EXPECT_EQ(w.net.in_flight(), 0u);
    EXPECT_EQ(w.net.bind("hub:1", [](const std::string&, hub::ByteView) {}).code(),
              hub::Code::already_exists);
    EXPECT_EQ(w.net.send("a", "hub:1", hub::Bytes(64 * 1024 + 1)).code(),
              hub::Code::invalid_argument);
}

TEST(DatagramNetwork, DropsAtTheConfiguredRate) {
    World w(DatagramConfig{.drop_per_million = 100'000});  // 10%
    constexpr uint32_t n = 50000;
    for (uint32_t i = 0; i < n; ++i) {
        ASSERT_TRUE(w.net.send("dev:1", "hub:1", msg(i)).ok());
    }
    w.run();
    const auto& s = w.net.stats();
    EXPECT_EQ(s.sent, n);
    EXPECT_EQ(s.delivered + s.dropped_random, n);
    EXPECT_NEAR(static_cast<double>(s.dropped_random) / n, 0.10, 0.01);
}

TEST(DatagramNetwork, DuplicatesReordersAndDelays) {
    World w(DatagramConfig{.duplicate_per_million = 1'000'000,
                           .delay_per_million = 500'000,
                           .delay = LatencyModel::fixed(Duration::millis(50))});
    constexpr uint32_t n = 1000;
    for (uint32_t i = 0; i < n; ++i) {
        ASSERT_TRUE(w.net.send("dev:1", "hub:1", msg(i)).ok());
    }
    w.run();
    EXPECT_EQ(w.arrivals.size(), 2 * n);  // every message twice
    EXPECT_EQ(w.net.stats().duplicated, n);
    EXPECT_NEAR(static_cast<double>(w.net.stats().delayed) / (2 * n), 0.5, 0.05);
    EXPECT_GT(w.net.stats().reordered, 0u);
    size_t late = 0;
    for (const auto& a : w.arrivals) {
        late += a.at_ns >= Duration::millis(50).ns ? 1 : 0;
    }
    EXPECT_EQ(late, w.net.stats().delayed);
}

TEST(DatagramNetwork, FixedLatencyKeepsOrder) {
    World w(DatagramConfig{.latency = LatencyModel::fixed(Duration::millis(1))});
    for (uint32_t i = 0; i < 100; ++i) {
        ASSERT_TRUE(w.net.send("dev:1", "hub:1", msg(i)).ok());
    }
    w.run();
    ASSERT_EQ(w.arrivals.size(), 100u);
    for (uint32_t i = 0; i < 100; ++i) {
        EXPECT_EQ(w.arrivals[i].id, i);
    }
    EXPECT_EQ(w.net.stats().reordered, 0u);
}

TEST(DatagramNetwork, AsymmetricPartitionAndInFlightCut) {
    World w(DatagramConfig{.latency = LatencyModel::fixed(Duration::millis(10))});
    std::vector<uint32_t> at_dev;
    ASSERT_TRUE(w.net.bind("dev:1", [&](const std::string&, hub::ByteView m) {
                    at_dev.push_back(id_of(m));
                }).ok());
    w.net.partition("dev", "hub", Direction::a_to_b);
    ASSERT_TRUE(w.net.send("dev:1", "hub:1", msg(1)).ok());  // cut
    ASSERT_TRUE(w.net.send("hub:1", "dev:1", msg(2)).ok());  // flows
    w.run();
    EXPECT_TRUE(w.arrivals.empty());
    EXPECT_EQ(at_dev, (std::vector<uint32_t>{2}));
    w.net.heal("hub", "dev");
    ASSERT_TRUE(w.net.send("dev:1", "hub:1", msg(3)).ok());
    w.sim.run_until([] { return false; }, w.sim.now() + Duration::millis(5));
    w.net.partition("hub", "dev", Direction::both);  // message 3 is in flight: lost
    w.run();
    EXPECT_TRUE(w.arrivals.empty());
    EXPECT_EQ(w.net.stats().dropped_partition, 2u);
    w.net.heal_all();
    ASSERT_TRUE(w.net.send("dev:1", "hub:1", msg(4)).ok());
    w.run();
    ASSERT_EQ(w.arrivals.size(), 1u);
    EXPECT_EQ(w.arrivals[0].id, 4u);
}

TEST(DatagramNetwork, HandlerMayUnbindItselfAndRebind) {
    World w;
    int calls = 0;
    ASSERT_TRUE(w.net.bind("dev:1", [&](const std::string&, hub::ByteView) {
                    ++calls;
                    w.net.unbind("dev:1");  // destroys this handler's binding while it runs
                    EXPECT_TRUE(w.net.bind("dev:1", [&](const std::string&, hub::ByteView) {
                                     calls += 100;
                                 }).ok());
                }).ok());
    ASSERT_TRUE(w.net.send("hub:1", "dev:1", msg(1)).ok());
    w.run();
    ASSERT_TRUE(w.net.send("hub:1", "dev:1", msg(2)).ok());
    w.run();
    EXPECT_EQ(calls, 101);
    w.net.unbind("dev:1");
    EXPECT_FALSE(w.net.is_bound("dev:1"));
}

TEST(DatagramNetwork, SameSeedSameArrivals) {
    auto run = [](uint64_t seed) {
        World w(DatagramConfig{.drop_per_million = 200'000,
                               .duplicate_per_million = 200'000,
                               .delay_per_million = 100'000},
                seed);
        for (uint32_t i = 0; i < 2000; ++i) {
            EXPECT_TRUE(w.net.send("dev-" + std::to_string(i % 7) + ":1", "hub:1", msg(i)).ok());
        }
        w.run();
        return w.arrivals;
    };
    EXPECT_EQ(run(5), run(5));
    EXPECT_NE(run(5), run(6));
}

}  // namespace
}  // namespace simnet
