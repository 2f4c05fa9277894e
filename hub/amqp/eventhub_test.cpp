#include "hub/amqp/eventhub.hpp"

#include <gtest/gtest.h>

#include <proton/annotation_key.hpp>
#include <proton/codec/map.hpp>
#include <proton/codec/vector.hpp>
#include <proton/message_id.hpp>
#include <proton/scalar.hpp>
#include <proton/symbol.hpp>
#include <proton/value.hpp>

#include "simnet/sim_node.hpp"

namespace hub::amqp {
namespace {

TEST(EventHub, PartitionAddresses) {
    auto a = parse_partition_address("myhub/ConsumerGroups/$default/Partitions/3");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->entity, "myhub");
    EXPECT_EQ(a->consumer_group, "$default");
    EXPECT_EQ(a->partition, 3u);
    auto full = parse_partition_address("amqps://localhost:5671/myhub/ConsumerGroups/cg/Partitions/0");
    ASSERT_TRUE(full.has_value());
    EXPECT_EQ(full->entity, "myhub");
    for (const char* bad : {"myhub", "myhub/ConsumerGroups//Partitions/1", "/ConsumerGroups/a/Partitions/1",
                            "myhub/ConsumerGroups/a/Partitions/x", "myhub/Partitions/1/ConsumerGroups/a"}) {
        EXPECT_FALSE(parse_partition_address(bad).has_value()) << bad;
    }
}

class EventHubLog : public ::testing::Test {
  protected:
    simnet::Simulator sim{1};
    simnet::SimNetwork net{sim, Random(2)};
    simnet::SimNode node{sim, net, "hub"};
    std::unique_ptr<D2cLog> log = std::move(*D2cLog::open(node, D2cLogConfig{}));

    void append(const std::string& device, int n) {
        for (int i = 0; i < n; ++i) {
            log->append(D2cMessage{device, "m" + std::to_string(i), Bytes{1, 2}, {{"k", "v"}}},
                        [](auto) {});
        }
        sim.run_until([] { return false; }, sim.now() + Duration::seconds(1));
    }
    proton::message request(const std::string& type, const std::string& partition = "") {
        proton::message m;
        m.id(std::string("req-1"));
        m.reply_to("reply");
        m.properties().put("operation", std::string("READ"));
        m.properties().put("name", std::string("myhub"));
        m.properties().put("type", type);
        if (!partition.empty()) m.properties().put("partition", partition);
        return m;
    }
};

TEST_F(EventHubLog, ManagementReadsHubAndPartitionProperties) {
    append("dev", 3);
    const uint32_t p = log->partition_of("dev");
    proton::message hub_reply = management_reply(request("com.microsoft:eventhub"), *log, "myhub", 5);
    EXPECT_EQ(proton::get<int32_t>(hub_reply.properties().get("status-code")), 200);
    EXPECT_EQ(hub_reply.correlation_id(), proton::message_id(std::string("req-1")));
    std::map<std::string, proton::value> body;
    proton::get(hub_reply.body(), body);
    std::vector<std::string> ids;
    proton::get(body.at("partition_ids"), ids);
    EXPECT_EQ(ids, (std::vector<std::string>{"0", "1", "2", "3"}));
    proton::message part = management_reply(request("com.microsoft:partition", std::to_string(p)),
                                            *log, "myhub", 5);
    std::map<std::string, proton::value> props;
    proton::get(part.body(), props);
    EXPECT_EQ(proton::get<int64_t>(props.at("last_enqueued_sequence_number")), 2);
    EXPECT_EQ(proton::get<std::string>(props.at("last_enqueued_offset")), "2");
    EXPECT_FALSE(proton::get<bool>(props.at("is_partition_empty")));
    proton::message missing = management_reply(request("com.microsoft:partition", "9"), *log, "myhub", 5);
    EXPECT_EQ(proton::get<int32_t>(missing.properties().get("status-code")), 404);
}

TEST_F(EventHubLog, EventsCarryTheAnnotationsTheClientReads) {
    append("dev", 1);
    const StoredEvent& e = log->events(log->partition_of("dev"))[0];
    proton::message m = event_message(e);
    EXPECT_TRUE(m.inferred());  // a data section
    EXPECT_EQ(proton::get<int64_t>(m.message_annotations().get(proton::symbol("x-opt-sequence-number"))), 0);
    EXPECT_EQ(proton::get<std::string>(m.message_annotations().get(proton::symbol("x-opt-offset"))), "0");
    EXPECT_EQ(proton::get<std::string>(m.message_annotations().get(proton::symbol("iothub-connection-device-id"))),
              "dev");
    EXPECT_EQ(proton::get<std::string>(m.properties().get("k")), "v");
}

TEST_F(EventHubLog, ReadersStartWhereTheFilterSays) {
    append("dev", 5);
    const uint32_t p = log->partition_of("dev");
    using K = StartPosition::Kind;
    EXPECT_EQ(PartitionReader(*log, p, {K::earliest, 0, false}).next_sequence_number(), 0u);
    EXPECT_EQ(PartitionReader(*log, p, {K::latest, 0, false}).next_sequence_number(), 5u);
    EXPECT_EQ(PartitionReader(*log, p, {K::sequence_number, 2, false}).next_sequence_number(), 3u);
    EXPECT_EQ(PartitionReader(*log, p, {K::sequence_number, 2, true}).next_sequence_number(), 2u);
    const int64_t t = log->events(p)[0].enqueued_time_ms;
    EXPECT_EQ(PartitionReader(*log, p, {K::enqueued_time, t - 1, false}).next_sequence_number(), 0u);
    EXPECT_EQ(PartitionReader(*log, p, {K::enqueued_time, t, false}).next_sequence_number(), 5u);
}

// Retention dropped the oldest events: readers and $management see the first retained one.
TEST(EventHubRetention, ReadersAndPropertiesStartAtTheFirstRetainedEvent) {
    simnet::Simulator sim{1};
    simnet::SimNetwork net{sim, Random(2)};
    simnet::SimNode node{sim, net, "hub"};
    D2cLogConfig config;
    config.partitions = 1;
    config.segment_bytes = 512;
    config.retention_bytes = 1500;
    auto log = std::move(*D2cLog::open(node, config));
    for (int i = 0; i < 40; ++i) {
        log->append(D2cMessage{"dev", "m" + std::to_string(i), Bytes(60, 'x'), {}}, [](auto) {});
    }
    sim.run_until([] { return false; }, sim.now() + Duration::seconds(1));
    const uint64_t first = log->first_sequence_number(0);
    ASSERT_GT(first, 1u);
    ASSERT_EQ(log->end_sequence_number(0), 40u);
    using K = StartPosition::Kind;
    EXPECT_EQ(PartitionReader(*log, 0, {K::earliest, 0, false}).next_sequence_number(), first);
    EXPECT_EQ(PartitionReader(*log, 0, {K::sequence_number, 0, true}).next_sequence_number(), first);
    EXPECT_EQ(PartitionReader(*log, 0, {K::sequence_number, int64_t(first), true}).next_sequence_number(),
              first);
    EXPECT_EQ(PartitionReader(*log, 0, {K::enqueued_time, 0, false}).next_sequence_number(), first);
    EXPECT_EQ(PartitionReader(*log, 0, {K::latest, 0, false}).next_sequence_number(), 40u);
    proton::message request;
    request.id(std::string("r"));
    request.properties().put("operation", std::string("READ"));
    request.properties().put("type", std::string("com.microsoft:partition"));
    request.properties().put("partition", std::string("0"));
    std::map<std::string, proton::value> props;
    proton::get(management_reply(request, *log, "myhub", 5).body(), props);
    EXPECT_EQ(proton::get<int64_t>(props.at("begin_sequence_number")), int64_t(first));
    EXPECT_EQ(proton::get<int64_t>(props.at("last_enqueued_sequence_number")), 39);
    EXPECT_FALSE(proton::get<bool>(props.at("is_partition_empty")));
}

}  // namespace
}  // namespace hub::amqp
