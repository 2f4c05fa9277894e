#include "hub/core/c2d_store.hpp"

#include <gtest/gtest.h>

#include "simnet/sim_node.hpp"

namespace hub {
namespace {

constexpr int64_t kT0 = 1'000'000;  // an arbitrary UTC ms for engine tests

QueuedMessage queued(uint64_t seq, int64_t expiry_ms = kT0 + 3'600'000) {
    QueuedMessage q;
    q.sequence_number = seq;
    q.device_id = "d1";
    q.device_generation_id = "g1";
    q.enqueued_time_utc_ms = kT0;
    q.expiry_time_utc_ms = expiry_ms;
    q.message.message_id = "m" + std::to_string(seq);
    q.message.ack = AckMode::full;
    return q;
}

LockedQueue::Limits limits(uint32_t max_delivery_count = 10) {
    return LockedQueue::Limits{kC2dQueueDepthMax, kC2dLockDuration, max_delivery_count};
}

Instant at_s(int64_t s) { return Instant{0} + Duration::seconds(s); }

// ---- LockedQueue: the engine ------------------------------------------------------------------

TEST(LockedQueue, StagedMessagesCountButAreNotReceivable) {
    LockedQueue q(limits());
    q.stage(queued(1));
    EXPECT_EQ(q.size(), 1u);
    EXPECT_FALSE(q.lock_oldest(at_s(0), "t1").has_value());
    ASSERT_TRUE(q.make_available(1));
    EXPECT_TRUE(q.lock_oldest(at_s(0), "t1").has_value());
    EXPECT_FALSE(q.make_available(99));
}

TEST(LockedQueue, LockHidesForTheLockDurationThenReturnsWithoutCountingADelivery) {
    LockedQueue q(limits());
    q.stage(queued(1));
    ASSERT_TRUE(q.make_available(1));
    std::optional<LockedMessage> m = q.lock_oldest(at_s(0), "t1");
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->queued.delivery_count, 0u);
    EXPECT_EQ(q.next_lock_deadline(), at_s(60));
    EXPECT_EQ(q.advance(at_s(60) + Duration::nanos(-1), kT0).unlocked, 0u);
    EXPECT_FALSE(q.lock_oldest(at_s(59), "t2").has_value());
    EXPECT_EQ(q.advance(at_s(60), kT0).unlocked, 1u);
    std::optional<LockedMessage> again = q.lock_oldest(at_s(60), "t2");
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->queued.delivery_count, 0u);  // lock expiry never counts
    EXPECT_EQ(q.settle("t1", Settle::complete, at_s(60)).status().code(), Code::not_found);
}

TEST(LockedQueue, AbandonCountsAndDeadLettersAtTheLimit) {
    LockedQueue q(limits(3));
    q.stage(queued(1));
    ASSERT_TRUE(q.make_available(1));
    for (uint32_t i = 1; i <= 3; ++i) {
        const std::string token = "t" + std::to_string(i);
        ASSERT_TRUE(q.lock_oldest(at_s(i), token).has_value());
        Result<LockedQueue::Settled> s = q.settle(token, Settle::abandon, at_s(i));
        ASSERT_TRUE(s.ok());
        EXPECT_EQ(s->delivery_count, i);
        EXPECT_EQ(s->removed.has_value(), i == 3);
    }
    EXPECT_TRUE(q.empty());
}

TEST(LockedQueue, SettleReportsLockLostForUnknownOrLapsedTokens) {
    LockedQueue q(limits());
    q.stage(queued(1));
    ASSERT_TRUE(q.make_available(1));
    ASSERT_TRUE(q.lock_oldest(at_s(0), "t1").has_value());
    Result<LockedQueue::Settled> unknown = q.settle("nope", Settle::complete, at_s(1));
    EXPECT_EQ(unknown.status().code(), Code::not_found);
    EXPECT_NE(unknown.status().message().find("message-lock-lost"), std::string::npos);
    EXPECT_EQ(q.settle("t1", Settle::complete, at_s(60)).status().code(), Code::not_found);
    Result<LockedQueue::Settled> ok = q.settle("t1", Settle::reject, at_s(59));
    ASSERT_TRUE(ok.ok());
    ASSERT_TRUE(ok->removed.has_value());
    EXPECT_EQ(ok->removed->outcome, Outcome::rejected);
}

TEST(LockedQueue, ExpiryAppliesToEnqueuedMessagesOnlyOldestFirst) {
    LockedQueue q(limits());
    q.stage(queued(1, kT0 + 100));
    q.stage(queued(2, kT0 + 50));
    q.stage(queued(3, kT0 + 10));
    for (uint64_t s = 1; s <= 3; ++s) {
        ASSERT_TRUE(q.make_available(s));
    }
    ASSERT_TRUE(q.lock_oldest(at_s(0), "t1").has_value());  // seq 1 is locked
    EXPECT_EQ(q.next_expiry_utc_ms(), kT0 + 10);
    LockedQueue::Advanced a = q.advance(at_s(1), kT0 + 200);
    ASSERT_EQ(a.expired.size(), 2u);
    EXPECT_EQ(a.expired[0].message.sequence_number, 3u);  // by expiry time
    EXPECT_EQ(a.expired[1].message.sequence_number, 2u);
    EXPECT_TRUE(q.is_locked(1));  // a locked message can still be completed
    a = q.advance(at_s(60), kT0 + 200);  // once its lock lapses it expires
    EXPECT_EQ(a.unlocked, 1u);
    ASSERT_EQ(a.expired.size(), 1u);
    EXPECT_EQ(a.expired[0].outcome, Outcome::expired);
    EXPECT_TRUE(q.empty());
}

TEST(LockedQueue, DepthIsBounded) {
    LockedQueue q(limits());
    for (uint64_t s = 1; s <= kC2dQueueDepthMax; ++s) {
        q.stage(queued(s));
    }
    EXPECT_TRUE(q.full());
    EXPECT_EQ(q.sequence_numbers().front(), 1u);
    ASSERT_TRUE(q.remove(1).has_value());
    EXPECT_FALSE(q.full());
}

// ---- value helpers -----------------------------------------------------------------------------

TEST(C2dValues, AckModesSelectOutcomes) {
    EXPECT_FALSE(ack_requests(AckMode::none, Outcome::completed));
    EXPECT_FALSE(ack_requests(AckMode::none, Outcome::expired));
    EXPECT_TRUE(ack_requests(AckMode::positive, Outcome::completed));
    EXPECT_FALSE(ack_requests(AckMode::positive, Outcome::rejected));
    EXPECT_FALSE(ack_requests(AckMode::negative, Outcome::completed));
    for (Outcome o : {Outcome::expired, Outcome::delivery_count_exceeded, Outcome::rejected,
                      Outcome::purged}) {
        EXPECT_TRUE(ack_requests(AckMode::negative, o));
        EXPECT_TRUE(ack_requests(AckMode::full, o));
    }
    EXPECT_TRUE(ack_requests(AckMode::full, Outcome::completed));
    EXPECT_EQ(*parse_ack_mode("full"), AckMode::full);
    EXPECT_EQ(*parse_ack_mode(""), AckMode::none);
    EXPECT_FALSE(parse_ack_mode("FULL").ok());
    EXPECT_STREQ(outcome_status_code(Outcome::delivery_count_exceeded), "DeliveryCountExceeded");
}

TEST(C2dValues, RandomUuidsAreVersion4AndDeterministic) {
    Random a(7), b(7);
    const std::string u = random_uuid(a);
    EXPECT_EQ(u, random_uuid(b));
    ASSERT_EQ(u.size(), 36u);
    EXPECT_EQ(u[8], '-');
    EXPECT_EQ(u[14], '4');
    EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos);
}

TEST(C2dValues, SizeCountsBodyAndProperties) {
    C2dMessage m;
    m.body = Bytes(10, 'x');
    m.message_id = "abc";
    m.properties = {{"k", "vv"}};
    EXPECT_EQ(c2d_message_size_bytes(m), 16u);
}

// ---- records -----------------------------------------------------------------------------------

TEST(C2dRecordCodec, RoundTripsEveryOp) {
    C2dRecord enqueue;
    enqueue.op = C2dRecord::Op::enqueue;
    enqueue.device_id = "d1";
    enqueue.at_utc_ms = kT0;
    enqueue.message = queued(5);
    enqueue.message.message.properties = {{"a", "b"}};
    enqueue.message.message.expiry_time_utc_ms = kT0 + 1;
    enqueue.message.message.body = {1, 2, 3};
    C2dRecord purge;
    purge.op = C2dRecord::Op::purge;
    purge.device_id = "d1";
    purge.purged = {5, 6};
    purge.receipts = {Receipt{"m5", "d1", "g1", kT0, Outcome::purged}};
    C2dRecord abandon;
    abandon.op = C2dRecord::Op::abandon;
    abandon.queue = C2dRecord::Queue::feedback;
    abandon.sequence_number = 9;
    abandon.delivery_count = 4;
    for (const C2dRecord& r : {enqueue, purge, abandon}) {
        Result<C2dRecord> back = decode_c2d_record(encode_c2d_record(r));
        ASSERT_TRUE(back.ok()) << back.status().to_string();
        EXPECT_EQ(encode_c2d_record(*back), encode_c2d_record(r));
    }
    Result<C2dRecord> e = decode_c2d_record(encode_c2d_record(enqueue));
    EXPECT_EQ(e->message.message.properties[0].second, "b");
    EXPECT_EQ(e->message.message.expiry_time_utc_ms, kT0 + 1);
    Bytes truncated = encode_c2d_record(purge);
    truncated.pop_back();
    EXPECT_EQ(decode_c2d_record(truncated).status().code(), Code::corruption);
    Bytes bad_op = encode_c2d_record(purge);
    bad_op[0] = 9;
    EXPECT_EQ(decode_c2d_record(bad_op).status().code(), Code::corruption);
}

// ---- C2dStore ----------------------------------------------------------------------------------

class C2dStoreTest : public ::testing::Test {
  protected:
    simnet::Simulator sim{1};
    simnet::SimNetwork net{sim, Random(2)};
    simnet::SimNode node{sim, net, "hub"};

    std::unique_ptr<C2dStore> open(std::vector<C2dRecord>* records) {
        Result<std::unique_ptr<C2dStore>> store = C2dStore::open(node, C2dStoreConfig{}, records);
        EXPECT_TRUE(store.ok()) << store.status().to_string();
        return std::move(*store);
    }
    void run() { sim.run_until([] { return false; }, sim.now() + Duration::seconds(1)); }
};

C2dRecord remove_record(uint64_t seq) {
    C2dRecord r;
    r.op = C2dRecord::Op::remove;
    r.device_id = "d1";
    r.sequence_number = seq;
    return r;
}

TEST_F(C2dStoreTest, AppliesThenAcknowledgesAfterOneGroupSync) {
    std::vector<C2dRecord> none;
    auto store = open(&none);
    std::vector<std::string> calls;
    for (uint64_t i = 0; i < 3; ++i) {
        store->write(remove_record(i),
                     [&, i](const Status& s) { calls.push_back("apply" + std::to_string(i) +
                                                               (s.ok() ? "" : "!")); },
                     [&, i](const Status& s) { calls.push_back("done" + std::to_string(i) +
                                                               (s.ok() ? "" : "!")); });
    }
    EXPECT_TRUE(calls.empty());  // never inside write()
    run();
    EXPECT_EQ(calls, (std::vector<std::string>{"apply0", "apply1", "apply2", "done0", "done1",
                                               "done2"}));
    EXPECT_EQ(node.sim_disk().syncs(), 1u);
    store.reset();
    std::vector<C2dRecord> records;
    open(&records);
    ASSERT_EQ(records.size(), 3u);
    EXPECT_EQ(records[2].sequence_number, 2u);
}

TEST_F(C2dStoreTest, FailedSyncFailsTheBatchAndStops) {
    std::vector<C2dRecord> none;
    auto store = open(&none);
    node.sim_disk().set_fail_syncs(true);
    Status first;
    store->write(remove_record(1), nullptr, [&](const Status& s) { first = s; });
    run();
    EXPECT_EQ(first.code(), Code::io_error);
    EXPECT_TRUE(store->failed());
    Status second;
    store->write(remove_record(2), nullptr, [&](const Status& s) { second = s; });
    EXPECT_TRUE(second.ok());  // deferred
    run();
    EXPECT_EQ(second.code(), Code::unavailable);
}

}  // namespace
}  // namespace hub
