#include "simnet/sim_network.hpp"

#include <gtest/gtest.h>

#include "simnet/sim_node.hpp"

namespace simnet {
namespace {

struct Pair {
    Simulator sim{1};
    SimNetwork net{sim, hub::Random(9), NetworkConfig{.split_percent = 100}};
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
    void run() { sim.run_until([] { return false; }, sim.now() + hub::Duration::seconds(1)); }
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

}  // namespace
}  // namespace simnet
