#include "simnet/sim_network.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "simnet/sim_node.hpp"

namespace simnet {
namespace {

using hub::Duration;

struct Pair {
    explicit Pair(NetworkConfig config = NetworkConfig{.split_percent = 100}, uint64_t seed = 9)
        : net(sim, hub::Random(seed), config) {}

    Simulator sim{1};
    SimNetwork net;
    SimNode server{sim, net, "srv"};
    SimNode client{sim, net, "cli"};
    std::unique_ptr<hub::Listener> listener;
    std::unique_ptr<hub::Stream> accepted;
    std::unique_ptr<hub::Stream> connected;
    hub::Status connect_status;

    void open() {
        listener = std::move(*server.network().listen("srv:1", [this](auto s) {
            accepted = std::move(s);
        }));
        client.network().connect("srv:1", [this](hub::Result<std::unique_ptr<hub::Stream>> r) {
            if (r.ok()) {
                connected = std::move(*r);
            } else {
                connect_status = r.status();
            }
        });
        run();
    }
    void run() { run_for(Duration::seconds(1)); }
    void run_for(Duration d) { sim.run_until([] { return false; }, sim.now() + d); }
};

TEST(SimNetwork, BytesArriveInOrderThroughSplits) {
    Pair p;
    p.open();
    ASSERT_TRUE(p.accepted && p.connected);
    hub::Bytes received;
    size_t chunks = 0;
    p.accepted->set_handlers(
        [&](hub::ByteView b) {
            received.insert(received.end(), b.begin(), b.end());
            ++chunks;
        },
        [](const hub::Status&) {});
    hub::Bytes sent;
    for (int i = 0; i < 1000; ++i) {
        sent.push_back(static_cast<uint8_t>(i));
    }
    p.connected->write(sent);
    p.connected->write(sent);
    p.run();
    hub::Bytes twice = sent;
    twice.insert(twice.end(), sent.begin(), sent.end());
    EXPECT_EQ(received, twice);
    EXPECT_GT(chunks, 2u);  // the writes were split
}

TEST(SimNetwork, ConnectWithoutListenerIsRefused) {
    Pair p;
    p.client.network().connect("nobody:1", [&](hub::Result<std::unique_ptr<hub::Stream>> r) {
        p.connect_status = r.ok() ? hub::Status() : r.status();
    });
    p.run();
    EXPECT_EQ(p.connect_status.code(), hub::Code::unavailable);
}

TEST(SimNetwork, ResetReachesBothSidesAndCloseIsOrderly) {
    Pair p;
    p.open();
    hub::Status server_saw;
    hub::Status client_saw;
    p.accepted->set_handlers([](hub::ByteView) {}, [&](const hub::Status& s) { server_saw = s; });
    p.connected->set_handlers([](hub::ByteView) {}, [&](const hub::Status& s) { client_saw = s; });
    EXPECT_TRUE(p.net.reset_random_connection());
    p.run();
    EXPECT_EQ(server_saw.code(), hub::Code::unavailable);
    EXPECT_EQ(client_saw.code(), hub::Code::unavailable);
}

TEST(SimNetwork, CrashOfAnOwnerResetsThePeer) {
    Pair p;
    p.open();
    bool closed = false;
    hub::Status seen;
    p.connected->set_handlers([](hub::ByteView) {}, [&](const hub::Status& s) {
        closed = true;
        seen = s;
    });
    p.accepted.reset();  // the server process dropped the stream without close()
    p.run();
    EXPECT_TRUE(closed);
    EXPECT_FALSE(seen.ok());
}

TEST(SimNetwork, ListenTwiceOnOneAddressFails) {
    Pair p;
    p.open();
    auto second = p.server.network().listen("srv:1", [](auto) {});
    EXPECT_EQ(second.status().code(), hub::Code::already_exists);
}

// What one end of a stream saw.
struct Seen {
    hub::Bytes bytes;
    std::vector<int64_t> read_times_ns;
    int closes = 0;
    hub::Status closed;

    void attach(Simulator& sim, hub::Stream& stream) {
        stream.set_handlers(
            [this, &sim](hub::ByteView b) {
                bytes.insert(bytes.end(), b.begin(), b.end());
                read_times_ns.push_back(sim.now().ns);
            },
            [this](const hub::Status& s) {
                ++closes;
                closed = s;
            });
    }
};

hub::Bytes pattern(size_t n, uint8_t salt) {
    hub::Bytes b(n);
    for (size_t i = 0; i < n; ++i) {
        b[i] = static_cast<uint8_t>(i * 31 + salt);
    }
    return b;
}

NetworkConfig fixed_latency(Duration d) {
    return NetworkConfig{.latency = LatencyModel::fixed(d), .split_percent = 0};
}

TEST(SimNetwork, LatencyModelSetsArrivalTimes) {
    Pair p(fixed_latency(Duration::millis(7)));
    p.open();
    ASSERT_TRUE(p.accepted && p.connected);
    EXPECT_EQ(p.net.stats().connects_opened, 1u);
    Seen at_server;
    at_server.attach(p.sim, *p.accepted);
    const int64_t sent_at = p.sim.now().ns;
    p.connected->write(pattern(10, 1));
    p.run();
    ASSERT_EQ(at_server.read_times_ns.size(), 1u);
    EXPECT_EQ(at_server.read_times_ns[0] - sent_at, Duration::millis(7).ns);
}

TEST(SimNetwork, BandwidthSerialisesChunksInOrder) {
    NetworkConfig config = fixed_latency(Duration::millis(1));
    config.bandwidth_bytes_per_second = 1000;
    Pair p(config);
    p.open();
    Seen at_server;
    at_server.attach(p.sim, *p.accepted);
    const int64_t t0 = p.sim.now().ns;
    p.connected->write(pattern(500, 1));
    p.connected->write(pattern(250, 2));
    p.run_for(Duration::seconds(2));
    ASSERT_EQ(at_server.read_times_ns.size(), 2u);
    EXPECT_EQ(at_server.read_times_ns[0] - t0, Duration::millis(501).ns);  // 0.5 s on the wire
    EXPECT_EQ(at_server.read_times_ns[1] - t0, Duration::millis(751).ns);  // behind the first
    hub::Bytes both = pattern(500, 1);
    const hub::Bytes second = pattern(250, 2);
    both.insert(both.end(), second.begin(), second.end());
    EXPECT_EQ(at_server.bytes, both);
}

TEST(SimNetwork, ConnectAcrossAPartitionTimesOut) {
    NetworkConfig config;
    config.connect_timeout = Duration::millis(300);
    Pair p(config);
    p.net.partition("srv", "cli", Direction::b_to_a);  // only the SYN's direction is cut
    int64_t failed_at = -1;
    auto other = std::move(*p.server.network().listen("srv:2", [](auto) {}));
    p.client.network().connect("srv:2", [&](hub::Result<std::unique_ptr<hub::Stream>> r) {
        ASSERT_FALSE(r.ok());
        p.connect_status = r.status();
        failed_at = p.sim.now().ns;
    });
    p.run();
    EXPECT_EQ(failed_at, Duration::millis(300).ns);
    EXPECT_EQ(p.connect_status.code(), hub::Code::unavailable);
    EXPECT_NE(p.connect_status.message().find("connection timed out"), std::string::npos);
    EXPECT_EQ(p.net.stats().connects_timed_out, 1u);
    p.net.heal("cli", "srv");
    p.open();  // after the heal, connecting works again
    EXPECT_TRUE(p.connected != nullptr);
}

TEST(SimNetwork, ShortPartitionHoldsBytesAndDeliversThemLateInOrder) {
    Pair p;
    p.open();
    Seen at_server;
    Seen at_client;
    at_server.attach(p.sim, *p.accepted);
    at_client.attach(p.sim, *p.connected);
    p.connected->write(pattern(300, 1));  // in flight when the partition starts
    p.net.partition("cli", "srv");
    EXPECT_TRUE(p.net.is_partitioned("srv", "cli"));
    p.connected->write(pattern(300, 2));
    p.run_for(Duration::seconds(3));
    EXPECT_TRUE(at_server.bytes.empty());
    EXPECT_EQ(p.net.stats().stalls, 1u);
    p.net.heal("srv", "cli");
    p.run();
    hub::Bytes expected = pattern(300, 1);
    const hub::Bytes second = pattern(300, 2);
    expected.insert(expected.end(), second.begin(), second.end());
    EXPECT_EQ(at_server.bytes, expected);
    EXPECT_EQ(at_server.closes + at_client.closes, 0);  // no reset
    EXPECT_EQ(p.net.stats().bytes_held, 600u);
    EXPECT_EQ(p.net.stats().resets, 0u);
    EXPECT_EQ(p.net.stats().partitions_started, 1u);
    EXPECT_EQ(p.net.stats().partitions_healed, 1u);
}

TEST(SimNetwork, LongPartitionResetsAStalledConnection) {
    NetworkConfig config;
    config.stall_reset_after = Duration::seconds(2);
    Pair p(config);
    p.open();
    Seen at_server;
    Seen at_client;
    at_server.attach(p.sim, *p.accepted);
    at_client.attach(p.sim, *p.connected);
    p.net.partition("cli", "srv");
    p.connected->write(pattern(100, 1));
    p.run_for(Duration::seconds(3));
    EXPECT_EQ(at_server.closed.code(), hub::Code::unavailable);
    EXPECT_EQ(at_client.closed.message(), "connection reset");
    EXPECT_TRUE(at_server.bytes.empty());
    EXPECT_EQ(p.net.stats().stall_resets, 1u);
    EXPECT_EQ(p.net.stats().bytes_dropped, 100u);
    EXPECT_EQ(p.net.open_connections(), 0u);
}

TEST(SimNetwork, IdleConnectionSurvivesAPartition) {
    NetworkConfig config;
    config.stall_reset_after = Duration::seconds(2);
    Pair p(config);
    p.open();
    Seen at_server;
    at_server.attach(p.sim, *p.accepted);
    p.net.partition("cli", "srv");
    p.run_for(Duration::seconds(10));  // nobody writes: TCP notices nothing
    p.net.heal_all();
    p.connected->write(pattern(10, 1));
    p.run();
    EXPECT_EQ(at_server.bytes, pattern(10, 1));
    EXPECT_EQ(p.net.stats().resets, 0u);
}

TEST(SimNetwork, AsymmetricPartitionLetsTheOtherWayFlow) {
    Pair p;
    p.open();
    Seen at_server;
    Seen at_client;
    at_server.attach(p.sim, *p.accepted);
    at_client.attach(p.sim, *p.connected);
    p.net.partition("srv", "cli", Direction::a_to_b);  // srv -> cli is cut
    p.accepted->write(pattern(50, 1));
    p.connected->write(pattern(60, 2));
    p.run();
    EXPECT_TRUE(at_client.bytes.empty());
    EXPECT_EQ(at_server.bytes, pattern(60, 2));
    p.net.heal("cli", "srv");
    p.run();
    EXPECT_EQ(at_client.bytes, pattern(50, 1));
    EXPECT_EQ(p.net.stats().resets, 0u);
}

TEST(SimNetwork, UnacknowledgedBytesStallUntilReset) {
    NetworkConfig config;
    config.stall_reset_after = Duration::seconds(2);
    Pair p(config);
    p.open();
    Seen at_server;
    Seen at_client;
    at_server.attach(p.sim, *p.accepted);
    at_client.attach(p.sim, *p.connected);
    p.net.partition("srv", "cli", Direction::a_to_b);  // the server's ACKs cannot return
    p.connected->write(pattern(60, 2));
    p.run_for(Duration::seconds(3));
    EXPECT_EQ(at_server.bytes, pattern(60, 2));  // arrived
    EXPECT_EQ(at_client.closed.code(), hub::Code::unavailable);  // but the sender gave up
    EXPECT_EQ(p.net.stats().stall_resets, 1u);
}

TEST(SimNetwork, HalfOpenPeerIsNotToldAndItsWritesVanish) {
    NetworkConfig config = fixed_latency(Duration::millis(1));
    config.crash_notifies_peer = false;
    Pair p(config);
    p.open();
    Seen at_client;
    at_client.attach(p.sim, *p.connected);
    p.accepted.reset();  // the server process died without a word
    p.run();
    EXPECT_EQ(at_client.closes, 0);
    EXPECT_EQ(p.net.open_connections(), 1u);
    EXPECT_EQ(p.net.stats().half_open, 1u);
    p.connected->write(pattern(40, 1));
    p.run();
    EXPECT_EQ(p.net.stats().bytes_dropped, 40u);
    EXPECT_EQ(at_client.closes, 0);
    p.connected.reset();
    EXPECT_EQ(p.net.open_connections(), 0u);
    EXPECT_EQ(p.net.stats().half_open, 1u);
}

TEST(SimNetwork, ClogDelaysEveryByteToTheHostButLosesNothing) {
    Pair p(fixed_latency(Duration::millis(1)));
    p.open();
    Seen at_server;
    Seen at_client;
    at_server.attach(p.sim, *p.accepted);
    at_client.attach(p.sim, *p.connected);
    const int64_t t0 = p.sim.now().ns;
    p.net.clog("srv", Duration::seconds(2));
    EXPECT_TRUE(p.net.is_clogged("srv"));
    p.connected->write(pattern(20, 1));
    p.accepted->write(pattern(30, 2));
    p.connected->write(pattern(20, 3));
    p.run_for(Duration::seconds(3));
    ASSERT_FALSE(at_server.read_times_ns.empty());
    EXPECT_EQ(at_server.read_times_ns[0] - t0, Duration::seconds(2).ns);
    EXPECT_EQ(at_client.read_times_ns[0] - t0, Duration::seconds(2).ns);
    hub::Bytes expected = pattern(20, 1);
    const hub::Bytes third = pattern(20, 3);
    expected.insert(expected.end(), third.begin(), third.end());
    EXPECT_EQ(at_server.bytes, expected);
    EXPECT_EQ(at_client.bytes, pattern(30, 2));
    EXPECT_FALSE(p.net.is_clogged("srv"));
    EXPECT_EQ(p.net.stats().clogs, 1u);
}

TEST(SimNetwork, CloseBeforeHandlersAreSetStillArrivesAfterTheData) {
    Pair p;
    p.open();
    p.connected->write(pattern(10, 1));
    p.connected->close();
    p.run();  // data and FIN arrive before the server set handlers
    Seen at_server;
    at_server.attach(p.sim, *p.accepted);
    p.run();
    EXPECT_EQ(at_server.bytes, pattern(10, 1));
    EXPECT_EQ(at_server.closes, 1);
    EXPECT_TRUE(at_server.closed.ok());
}

TEST(SimNetwork, HostListsAndTargetedResets) {
    Pair p;
    SimNode other{p.sim, p.net, "zed"};
    p.open();
    EXPECT_EQ(p.net.hosts(), (std::vector<std::string>{"cli", "srv", "zed"}));
    EXPECT_EQ(p.net.hosts_with_connections(), (std::vector<std::string>{"cli", "srv"}));
    EXPECT_EQ(p.net.reset_connections_of("zed"), 0u);
    EXPECT_EQ(p.net.reset_connections_of("srv"), 1u);
    EXPECT_TRUE(p.net.hosts_with_connections().empty());
    EXPECT_EQ(p.net.stats().resets, 1u);
}

// A run of writes, partitions, heals, clogs and resets from one seed; returns the trace hash.
uint64_t chaotic_run(uint64_t seed) {
    Simulator sim(seed);
    SimNetwork net(sim, sim.random_for("network"),
                   NetworkConfig{.latency = LatencyModel::exponential(Duration::micros(300),
                                                                      Duration::millis(20)),
                                 .bandwidth_bytes_per_second = 1'000'000,
                                 .stall_reset_after = Duration::millis(800)});
    SimNode server(sim, net, "srv");
    SimNode client(sim, net, "cli");
    std::vector<std::unique_ptr<hub::Stream>> streams;
    auto listener = std::move(*server.network().listen("srv:1", [&](auto s) {
        s->set_handlers([](hub::ByteView) {}, [](const hub::Status&) {});
        streams.push_back(std::move(s));
    }));
    hub::Random plan = sim.random_for("plan");
    for (int step = 0; step < 200; ++step) {
        sim.schedule(Instant{Duration::millis(step * 20).ns}, [&, step] {
            const uint64_t what = plan.uniform(10);
            if (what == 0) {
                client.network().connect("srv:1", [&](hub::Result<std::unique_ptr<hub::Stream>> r) {
                    if (r.ok()) streams.push_back(std::move(*r));
                });
            } else if (what == 1) {
                net.partition("cli", "srv", static_cast<Direction>(plan.uniform(3)));
            } else if (what == 2) {
                net.heal_all();
            } else if (what == 3) {
                net.clog(plan.chance(1, 2) ? "cli" : "srv", Duration::millis(100));
            } else if (!streams.empty()) {
                streams[plan.uniform(streams.size())]->write(pattern(1 + step * 7, 0));
            }
        });
    }
    sim.run_until([] { return false; }, Instant{Duration::seconds(10).ns});
    return sim.trace_hash() ^ net.stats().bytes_delivered;
}

TEST(SimNetwork, SameSeedSameRun) {
    EXPECT_EQ(chaotic_run(3), chaotic_run(3));
    EXPECT_NE(chaotic_run(3), chaotic_run(4));
}

// TCP's promise under every fault: each side reads a prefix of what the other wrote, in
// order; with no reset, after the faults heal, all of it.
RC_GTEST_PROP(SimNetworkProperty, StreamsAreOrderedAndLoseNothingWithoutAReset, ()) {
    const auto ops = *rc::gen::container<std::vector<int>>(rc::gen::inRange(0, 100));
    const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
    NetworkConfig config{.latency = LatencyModel::exponential(Duration::micros(500),
                                                              Duration::millis(50)),
                         .bandwidth_bytes_per_second = 200'000,
                         .stall_reset_after = Duration::seconds(2)};
    Pair p(config, seed);
    p.open();
    RC_ASSERT(p.accepted && p.connected);
    Seen seen[2];
    seen[0].attach(p.sim, *p.connected);
    seen[1].attach(p.sim, *p.accepted);
    hub::Bytes written[2];
    hub::Random sizes(seed);
    for (int op : ops) {
        const int side = op % 2;
        hub::Stream& stream = side == 0 ? *p.connected : *p.accepted;
        if (op < 70) {
            const hub::Bytes b = pattern(1 + sizes.uniform(3000), static_cast<uint8_t>(op));
            stream.write(b);
            written[side].insert(written[side].end(), b.begin(), b.end());
        } else if (op < 80) {
            p.net.partition("cli", "srv", static_cast<Direction>(op % 3));
        } else if (op < 88) {
            p.net.heal_all();
        } else if (op < 96) {
            p.net.clog(side == 0 ? "cli" : "srv", Duration::millis(op * 10));
        }
        p.run_for(Duration::millis(op * 13));
    }
    p.net.heal_all();
    p.run_for(Duration::seconds(5));
    const bool reset = seen[0].closes + seen[1].closes > 0;
    for (int s = 0; s < 2; ++s) {
        const hub::Bytes& got = seen[1 - s].bytes;
        RC_ASSERT(got.size() <= written[s].size());
        RC_ASSERT(std::equal(got.begin(), got.end(), written[s].begin()));
        if (!reset) {
            RC_ASSERT(got.size() == written[s].size());
        }
    }
    RC_TAG(reset ? "reset" : "intact");
}

}  // namespace
}  // namespace simnet
