#include "hub/core/feedback.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "hub/core/c2d_queue.hpp"
#include "simnet/sim_node.hpp"

namespace hub {
namespace {

Receipt receipt(const std::string& id, Outcome outcome = Outcome::completed) {
    return Receipt{id, "d1", "g1", simnet::kSimEpochUtcMs, outcome};
}

std::string body_text(const QueuedMessage& m) {
    return std::string(m.message.body.begin(), m.message.body.end());
}

TEST(FeedbackJson, ExactlyAzuresShape) {
    Receipt r{"0987654321", "123", "abcdefghijklmnopqrstuvwxyz", 1438100688789, Outcome::completed};
    EXPECT_EQ(feedback_json({r}),
              R"([{"originalMessageId":"0987654321","enqueuedTimeUtc":"2015-07-28T16:24:48.789Z",)"
              R"("statusCode":"Success","description":"Success","deviceId":"123",)"
              R"("deviceGenerationId":"abcdefghijklmnopqrstuvwxyz"}])");
    nlohmann::json two = nlohmann::json::parse(
        feedback_json({receipt("a", Outcome::expired), receipt("b", Outcome::purged)}));
    ASSERT_EQ(two.size(), 2u);
    EXPECT_EQ(two[0]["statusCode"], "Expired");
    EXPECT_EQ(two[1]["statusCode"], "Purged");
    EXPECT_EQ(two[1]["enqueuedTimeUtc"], "2026-01-01T00:00:00.000Z");
    EXPECT_EQ(feedback_json({}), "[]");
}

TEST(FeedbackConfigTest, BoundsFromTheReference) {
    EXPECT_TRUE(validate_feedback_config(FeedbackConfig{}).ok());
    FeedbackConfig c;
    c.lock_duration = Duration::seconds(5);
    EXPECT_TRUE(validate_feedback_config(c).ok());
    c.lock_duration = Duration::seconds(301);
    EXPECT_FALSE(validate_feedback_config(c).ok());
    c = FeedbackConfig{};
    c.ttl = Duration::seconds(59);
    EXPECT_FALSE(validate_feedback_config(c).ok());
    c = FeedbackConfig{};
    c.max_delivery_count = 101;
    EXPECT_FALSE(validate_feedback_config(c).ok());
}

class FeedbackQueueTest : public ::testing::Test {
  protected:
    simnet::Simulator sim{1};
    simnet::SimNetwork net{sim, Random(2)};
    simnet::SimNode node{sim, net, "hub"};
    std::unique_ptr<C2dStore> store;
    std::unique_ptr<FeedbackQueue> feedback;

    void open(FeedbackConfig config = {}) {
        std::vector<C2dRecord> records;
        store = std::move(*C2dStore::open(node, C2dStoreConfig{}, &records));
        feedback = std::make_unique<FeedbackQueue>(node, *store, config);
        feedback->start();
    }
    void run_until(Instant at) { sim.run_until([] { return false; }, at); }
    void run_for(Duration d) { run_until(sim.now() + d); }
    void add(size_t n) {
        std::vector<Receipt> rs;
        for (size_t i = 0; i < n; ++i) {
            rs.push_back(receipt("m" + std::to_string(next_id_++)));
        }
        feedback->add_receipts(rs, node.utc_now_ms());
    }
    Status settle(const std::string& token, Settle how) {
        std::optional<Status> out;
        auto done = [&](Status s) { out = s; };
        if (how == Settle::complete) {
            feedback->complete(token, done);
        } else if (how == Settle::reject) {
            feedback->reject(token, done);
        } else {
            feedback->abandon(token, done);
        }
        run_for(Duration::millis(10));
        HUB_ASSERT(out.has_value());
        return *out;
    }

  private:
    size_t next_id_ = 0;
};

TEST_F(FeedbackQueueTest, SixtyFourRecordsMakeABatchAtOnce) {
    open();
    add(63);
    run_for(Duration::seconds(1));
    EXPECT_EQ(feedback->size(), 0u);
    EXPECT_EQ(feedback->pending_receipts(), 63u);
    add(1);
    EXPECT_EQ(feedback->pending_receipts(), 0u);
    EXPECT_FALSE(feedback->receive().has_value());  // not durable yet
    run_for(Duration::millis(10));
    std::optional<LockedMessage> m = feedback->receive();
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(nlohmann::json::parse(body_text(m->queued)).size(), 64u);
}

TEST_F(FeedbackQueueTest, FifteenSecondsAfterTheFirstRecordMakeABatch) {
    open();
    const Instant t0 = sim.now();
    add(1);
    run_until(t0 + Duration::seconds(10));
    add(1);
    run_until(t0 + kFeedbackBatchDelay + Duration::millis(-1));
    EXPECT_EQ(feedback->size(), 0u);
    run_until(t0 + kFeedbackBatchDelay);
    EXPECT_EQ(feedback->size(), 1u);  // sealed at exactly 15 s, both records in it
    EXPECT_EQ(feedback->pending_receipts(), 0u);
    run_until(t0 + Duration::seconds(20));
    add(1);  // a new batch: its own 15 s
    run_until(t0 + Duration::seconds(35) + Duration::millis(-1));
    EXPECT_EQ(feedback->size(), 1u);
    run_until(t0 + Duration::seconds(35) + Duration::millis(10));
    ASSERT_EQ(feedback->size(), 2u);
    std::vector<QueuedMessage> batches = feedback->messages();
    EXPECT_EQ(nlohmann::json::parse(body_text(batches[0])).size(), 2u);
    EXPECT_EQ(nlohmann::json::parse(body_text(batches[1])).size(), 1u);
}

TEST_F(FeedbackQueueTest, APurgeSizedBurstSplitsIntoBatchesOfSixtyFour) {
    open();
    add(40);
    add(50);  // 90 pending: one full batch now, 26 wait
    EXPECT_EQ(feedback->size(), 1u);
    EXPECT_EQ(feedback->pending_receipts(), 26u);
    run_for(kFeedbackBatchDelay);
    EXPECT_EQ(feedback->size(), 2u);
}

TEST_F(FeedbackQueueTest, FeedbackMessagesCarryAzuresProperties) {
    FeedbackConfig config;
    config.user_id = "myhub";
    config.ttl = Duration::seconds(120);
    open(config);
    const int64_t added_ms = node.utc_now_ms();
    add(1);
    run_for(kFeedbackBatchDelay + Duration::millis(10));
    std::optional<LockedMessage> m = feedback->receive();
    ASSERT_TRUE(m.has_value());
    const QueuedMessage& q = m->queued;
    EXPECT_EQ(q.enqueued_time_utc_ms, added_ms + kFeedbackBatchDelay.to_millis());
    EXPECT_EQ(q.message.content_type, kFeedbackContentType);
    EXPECT_EQ(q.message.user_id, "myhub");
    EXPECT_EQ(q.message.message_id.size(), 36u);
    EXPECT_EQ(q.expiry_time_utc_ms - q.enqueued_time_utc_ms, 120'000);
}

TEST_F(FeedbackQueueTest, LockAbandonAndDeliveryCountFollowTheFeedbackConfig) {
    FeedbackConfig config;
    config.lock_duration = Duration::seconds(5);
    config.max_delivery_count = 2;
    open(config);
    add(1);
    run_for(kFeedbackBatchDelay + Duration::millis(10));
    std::optional<LockedMessage> m = feedback->receive();
    ASSERT_TRUE(m.has_value());
    const Instant locked_at = sim.now();
    run_until(locked_at + Duration::seconds(5) + Duration::millis(-1));
    EXPECT_FALSE(feedback->receive().has_value());
    run_until(locked_at + Duration::seconds(5));
    m = feedback->receive();
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->queued.delivery_count, 0u);  // a lapsed lock is not a delivery
    ASSERT_TRUE(settle(m->lock_token, Settle::abandon).ok());
    EXPECT_EQ(settle(m->lock_token, Settle::complete).code(), Code::not_found);
    m = feedback->receive();
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->queued.delivery_count, 1u);
    ASSERT_TRUE(settle(m->lock_token, Settle::abandon).ok());
    EXPECT_EQ(feedback->size(), 0u);  // max delivery count reached: dropped
}

TEST_F(FeedbackQueueTest, CompleteRejectAndTtlRemoveFeedbackMessages) {
    FeedbackConfig config;
    config.ttl = Duration::seconds(60);
    open(config);
    add(64);
    add(64);
    add(64);
    run_for(Duration::millis(10));
    ASSERT_EQ(feedback->size(), 3u);
    std::optional<LockedMessage> a = feedback->receive();
    std::optional<LockedMessage> b = feedback->receive();
    ASSERT_TRUE(a && b);
    EXPECT_TRUE(settle(a->lock_token, Settle::complete).ok());
    EXPECT_TRUE(settle(b->lock_token, Settle::reject).ok());
    EXPECT_EQ(feedback->size(), 1u);
    run_for(Duration::seconds(60));  // the third expires unread
    EXPECT_EQ(feedback->size(), 0u);
    EXPECT_FALSE(feedback->receive().has_value());
}

TEST(FeedbackDurability, BatchesAndTheirSettlementsSurviveACrash) {
    simnet::Simulator sim{1};
    simnet::SimNetwork net{sim, Random(2)};
    simnet::SimNode node{sim, net, "hub"};
    auto run_for = [&](Duration d) { sim.run_until([] { return false; }, sim.now() + d); };
    auto c2d = std::move(*C2dQueues::open(node, C2dConfig{}));
    for (int i = 0; i < 3; ++i) {
        C2dMessage m;
        m.message_id = "m" + std::to_string(i);
        m.ack = AckMode::full;
        c2d->enqueue("d1", "g", m, [](Result<uint64_t> r) { HUB_ASSERT(r.ok()); });
        run_for(Duration::millis(10));
        std::optional<LockedMessage> got = c2d->receive("d1");
        c2d->reject("d1", got->lock_token, [](Status s) { HUB_ASSERT(s.ok()); });
        run_for(kFeedbackBatchDelay + Duration::millis(10));  // one batch per receipt
    }
    ASSERT_EQ(c2d->feedback().size(), 3u);
    std::optional<LockedMessage> first = c2d->feedback().receive();
    c2d->feedback().complete(first->lock_token, [](Status s) { HUB_ASSERT(s.ok()); });
    std::optional<LockedMessage> second = c2d->feedback().receive();
    c2d->feedback().abandon(second->lock_token, [](Status s) { HUB_ASSERT(s.ok()); });
    run_for(Duration::millis(10));
    std::optional<LockedMessage> third = c2d->feedback().receive();  // a lock: not durable
    ASSERT_TRUE(third.has_value());
    c2d.reset();
    Random tear(1);
    node.sim_disk().crash(tear);
    c2d = std::move(*C2dQueues::open(node, C2dConfig{}));
    std::vector<QueuedMessage> left = c2d->feedback().messages();
    ASSERT_EQ(left.size(), 2u);
    EXPECT_EQ(left[0].delivery_count, 1u);
    EXPECT_NE(body_text(left[0]).find("\"m1\""), std::string::npos);
    EXPECT_NE(body_text(left[1]).find("\"m2\""), std::string::npos);
    EXPECT_TRUE(c2d->feedback().receive().has_value());  // all available again
    EXPECT_TRUE(c2d->feedback().receive().has_value());
}

}  // namespace
}  // namespace hub
