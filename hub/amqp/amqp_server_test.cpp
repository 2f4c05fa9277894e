// The AMQP front door in the simulator, with our conformance client as the device.
#include "hub/amqp/amqp_server.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/delivery.hpp>
#include <proton/error_condition.hpp>
#include <proton/message.hpp>
#include <proton/message_id.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver_options.hpp>
#include <proton/sender.hpp>
#include <proton/sender_options.hpp>
#include <proton/session.hpp>
#include <proton/target_options.hpp>
#include <proton/tracker.hpp>

#include "conformance/amqp_device_client.hpp"
#include "hub/amqp/driver_pump.hpp"
#include "hub/auth/sas.hpp"
#include "simnet/sim_node.hpp"

namespace hub::amqp {
namespace {

constexpr const char* kKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

struct HubProcess : simnet::Process {
    explicit HubProcess(simnet::SimNode& node) {
        HubConfig config;
        config.host_name = "hub";
        config.devices = {{"dev1", kKey}, {"dev2", kKey}, {"dev3", kKey}};
        hub = std::move(*Hub::open(node, config));
        server = std::make_unique<AmqpServer>(node, *hub);
        HUB_ASSERT(server->listen("hub:5671").ok());
    }
    ~HubProcess() override { server.reset(); }
    std::unique_ptr<Hub> hub;
    std::unique_ptr<AmqpServer> server;
};

class AmqpServerTest : public ::testing::Test {
  protected:
    simnet::Simulator sim{7};
    simnet::SimNetwork net{sim, Random(8)};
    simnet::SimNode hub_node{sim, net, "hub"};
    simnet::SimNode a_node{sim, net, "a"};
    simnet::SimNode b_node{sim, net, "b"};

    void SetUp() override {
        hub_node.boot([](simnet::SimNode& n) { return std::make_unique<HubProcess>(n); });
    }
    Hub& hub() { return *static_cast<HubProcess*>(hub_node.process())->hub; }
    static conformance::DeviceClientConfig config() {
        conformance::DeviceClientConfig c;
        c.hub_address = "hub:5671";
        c.host_name = "hub";
        c.device_id = "dev1";
        c.key = kKey;
        return c;
    }
    void run(int64_t ms) { sim.run_until([] { return false; }, sim.now() + Duration::millis(ms)); }
    std::vector<std::string> disconnect_reasons() {
        std::vector<std::string> out;
        for (uint32_t p = 0; p < hub().monitor_stream().partition_count(); ++p) {
            for (const StoredEvent& e : hub().monitor_stream().events(p)) {
                const std::string body(e.message.body.begin(), e.message.body.end());
                if (body.find(kDeviceDisconnected) != std::string::npos) out.push_back(body);
            }
        }
        return out;
    }
};

TEST_F(AmqpServerTest, ANewConnectionForADeviceClosesTheOldOne) {
    conformance::AmqpDeviceClient a(a_node, config());
    int a_acked = 0;
    a.on_acknowledged = [&](const std::string&) { ++a_acked; };
    a.send("a1", Bytes{1});
    a.start();
    run(1000);
    ASSERT_EQ(a_acked, 1);
    EXPECT_EQ(a.connection_failures(), 0u);
    a.stop();  // A goes quiet but keeps nothing open...
    a.start();  // ...and reconnects, so two live connections would exist without the rule
    run(1000);
    conformance::AmqpDeviceClient b(b_node, config());
    int b_acked = 0;
    b.on_acknowledged = [&](const std::string&) { ++b_acked; };
    b.send("b1", Bytes{2});
    b.start();
    run(300);
    EXPECT_EQ(b_acked, 1);
    EXPECT_GE(a.connection_failures(), 1u);  // A was pushed out
    bool saw_400027 = false;
    for (const std::string& body : disconnect_reasons()) {
        saw_400027 |= body.find("ConnectionForcefullyClosedOnNewConnection") != std::string::npos;
    }
    EXPECT_TRUE(saw_400027);
    a.stop();
    b.stop();
    run(100);
}

// A gateway: one connection, CBS tokens for dev1 and dev2 only, D2C links for dev1, dev2 and
// dev3. The hub must accept both proven devices' messages and refuse dev3's link.
class Gateway : public proton::messaging_handler {
  public:
    Gateway(Env& env, std::unique_ptr<Stream> stream) {
        pump_ = std::make_unique<DriverPump>(env, std::move(stream), "gateway", [](const Status&) {});
        utc_s_ = env.utc_now_ms() / 1000;
    }
    ~Gateway() override {
        links_.clear();
        cbs_ = proton::sender();
        pump_.reset();
    }
    void start() {
        proton::connection_options o;
        o.handler(*this);
        o.sasl_enabled(false);
        pump_->connect(o);
    }
    void on_connection_open(proton::connection& c) override {
        session_ = c.open_session();
        cbs_ = session_.open_sender("$cbs", proton::sender_options().name("cbs"));
        proton::target_options t;
        t.address("cbs");
        session_.open_receiver("$cbs", proton::receiver_options().name("cbs-rx").target(t));
    }
    void on_sendable(proton::sender& s) override {
        if (s == cbs_ && !tokens_sent_) {
            tokens_sent_ = true;
            for (const char* id : {"dev1", "dev2"}) {
                const std::string sr = auth::url_encode_strict(std::string("hub/devices/") + id);
                proton::message m;
                m.id(std::string("tok-") + id);
                m.reply_to("cbs");
                m.properties().put("operation", std::string("put-token"));
                m.properties().put("name", sr);
                m.body(auth::make_sas_token(sr, kKey, utc_s_ + 3600));
                s.send(m);
            }
        }
        auto it = links_.find(s.name());
        if (it != links_.end() && !sent_.contains(s.name()) && s.credit() > 0) {
            sent_.insert(s.name());
            proton::message m;
            m.id(s.name());
            m.body(std::string("from ") + s.name());
            s.send(m);
        }
    }
    void on_message(proton::delivery& d, proton::message&) override {
        d.accept();
        if (++token_replies_ == 2) {
            for (const char* id : {"dev1", "dev2", "dev3"}) {
                links_[id] = session_.open_sender(std::string("/devices/") + id + "/messages/events",
                                                  proton::sender_options().name(id));
            }
        }
    }
    void on_tracker_accept(proton::tracker& t) override {
        if (links_.contains(t.sender().name())) accepted.insert(t.sender().name());
    }
    void on_sender_error(proton::sender& s) override { refused[s.name()] = s.error().name(); }
    void on_error(const proton::error_condition&) override {}

    std::set<std::string> accepted;
    std::map<std::string, std::string> refused;

  private:
    std::unique_ptr<DriverPump> pump_;
    proton::session session_;
    proton::sender cbs_;
    std::map<std::string, proton::sender> links_;
    std::set<std::string> sent_;
    bool tokens_sent_ = false;
    int token_replies_ = 0;
    int64_t utc_s_ = 0;
};

TEST_F(AmqpServerTest, AGatewayMultiplexesTheDevicesItsTokensCover) {
    std::unique_ptr<Gateway> gateway;
    a_node.network().connect("hub:5671", [&](Result<std::unique_ptr<Stream>> stream) {
        ASSERT_TRUE(stream.ok());
        gateway = std::make_unique<Gateway>(a_node, std::move(*stream));
        gateway->start();
    });
    run(2000);
    ASSERT_NE(gateway, nullptr);
    EXPECT_EQ(gateway->accepted, (std::set<std::string>{"dev1", "dev2"}));
    ASSERT_TRUE(gateway->refused.contains("dev3"));
    EXPECT_EQ(gateway->refused["dev3"], "amqp:unauthorized-access");
    size_t logged = 0;
    for (uint32_t p = 0; p < hub().d2c().partition_count(); ++p) logged += hub().d2c().events(p).size();
    EXPECT_EQ(logged, 2u);
    gateway.reset();
    run(100);
}

}  // namespace
}  // namespace hub::amqp
