#include "hub/core/c2d_queue.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <set>
#include <tuple>
#include <nlohmann/json.hpp>

#include "simnet/sim_node.hpp"

namespace hub {
namespace {

C2dMessage message(const std::string& id, AckMode ack = AckMode::none, size_t body_bytes = 3) {
    C2dMessage m;
    m.message_id = id;
    m.ack = ack;
    m.body = Bytes(body_bytes, 'x');
    return m;
}

// A world: one simulated node whose disk outlives any number of C2dQueues opened on it.
struct World {
    simnet::Simulator sim{1};
    simnet::SimNetwork net{sim, Random(2)};
    simnet::SimNode node{sim, net, "hub"};
    C2dConfig config;
    std::unique_ptr<C2dQueues> c2d;

    void open() {
        Result<std::unique_ptr<C2dQueues>> q = C2dQueues::open(node, config);
        HUB_ASSERT(q.ok());
        c2d = std::move(*q);
    }
    void run_for(Duration d) { sim.run_until([] { return false; }, sim.now() + d); }
    void commit() { run_for(Duration::millis(10)); }
    Result<uint64_t> enqueue(const std::string& device, C2dMessage m) {
        std::optional<Result<uint64_t>> out;
        c2d->enqueue(device, "gen-" + device, std::move(m), [&](Result<uint64_t> r) { out = r; });
        HUB_ASSERT(!out.has_value());  // never inside the call
        commit();
        HUB_ASSERT(out.has_value());
        return *out;
    }
    Status settle(const std::string& device, const std::string& token, Settle how) {
        std::optional<Status> out;
        auto done = [&](Status s) { out = s; };
        if (how == Settle::complete) {
            c2d->complete(device, token, done);
        } else if (how == Settle::reject) {
            c2d->reject(device, token, done);
        } else {
            c2d->abandon(device, token, done);
        }
        HUB_ASSERT(!out.has_value());
        commit();
        HUB_ASSERT(out.has_value());
        return *out;
    }
    // Receives and completes every feedback message now available; returns their records.
    std::vector<nlohmann::json> drain_feedback() {
        std::vector<nlohmann::json> records;
        while (std::optional<LockedMessage> m = c2d->feedback().receive()) {
            const Bytes& body = m->queued.message.body;
            nlohmann::json batch = nlohmann::json::parse(body.begin(), body.end());
            for (auto& r : batch) {
                records.push_back(r);
            }
            c2d->feedback().complete(m->lock_token, [](Status s) { HUB_ASSERT(s.ok()); });
        }
        commit();
        return records;
    }
    std::vector<nlohmann::json> feedback_after_batching() {
        run_for(kFeedbackBatchDelay + Duration::seconds(1));
        return drain_feedback();
    }
};

class C2dQueuesTest : public ::testing::Test {
  protected:
    void SetUp() override { w.open(); }
    World w;
};

TEST_F(C2dQueuesTest, TheFiftyFirstMessageIsRefused) {
    for (int i = 0; i < 50; ++i) {
        ASSERT_TRUE(w.enqueue("d1", message("m" + std::to_string(i))).ok());
    }
    EXPECT_EQ(w.c2d->pending_count("d1"), 50u);
    Result<uint64_t> r = w.enqueue("d1", message("m50"));
    EXPECT_EQ(r.status().code(), Code::resource_exhausted);
    EXPECT_NE(r.status().message().find("DeviceMaximumQueueDepthExceeded"), std::string::npos);
    EXPECT_NE(r.status().message().find("403004"), std::string::npos);
    EXPECT_TRUE(w.enqueue("d2", message("other device")).ok());  // per device
    std::optional<LockedMessage> m = w.c2d->receive("d1");
    ASSERT_TRUE(m.has_value());
    ASSERT_TRUE(w.settle("d1", m->lock_token, Settle::complete).ok());
    EXPECT_TRUE(w.enqueue("d1", message("m50")).ok());  // room again
}

TEST_F(C2dQueuesTest, SixtyFourKilobytesPassOneByteMoreIsRefused) {
    EXPECT_TRUE(w.enqueue("d1", message("", AckMode::none, kC2dMessageBytesMax)).ok());
    Result<uint64_t> r = w.enqueue("d1", message("", AckMode::none, kC2dMessageBytesMax + 1));
    EXPECT_EQ(r.status().code(), Code::invalid_argument);
    EXPECT_EQ(r.status().message(), "message exceeds 64 KB");
    // Properties count too (reference §3 "Size accounting").
    C2dMessage m = message("", AckMode::none, kC2dMessageBytesMax - 1);
    m.properties = {{"k", "v"}};
    EXPECT_EQ(w.enqueue("d1", m).status().code(), Code::invalid_argument);
}

TEST_F(C2dQueuesTest, IdsAreBounded) {
    EXPECT_TRUE(w.enqueue("d1", message(std::string(128, 'i'))).ok());
    EXPECT_EQ(w.enqueue("d1", message(std::string(129, 'i'))).status().code(),
              Code::invalid_argument);
    Status long_device;
    w.c2d->enqueue(std::string(129, 'd'), "g", message("m"),
                   [&](Result<uint64_t> r) { long_device = r.status(); });
    w.commit();
    EXPECT_EQ(long_device.code(), Code::invalid_argument);
}

TEST_F(C2dQueuesTest, FarExpiryIsHonouredWithoutOverflow) {
    C2dMessage m = message("m1", AckMode::full);
    m.expiry_time_utc_ms = INT64_MAX;
    ASSERT_TRUE(w.enqueue("d1", m).ok());
    w.run_for(Duration::seconds(3 * 24 * 3600));  // the capped timer re-arms daily
    EXPECT_EQ(w.c2d->pending_count("d1"), 1u);
}

TEST_F(C2dQueuesTest, ExpiryInThePastIsRefused) {
    C2dMessage m = message("m1");
    m.expiry_time_utc_ms = w.node.utc_now_ms();
    Result<uint64_t> r = w.enqueue("d1", m);
    EXPECT_EQ(r.status().code(), Code::invalid_argument);
    EXPECT_NE(r.status().message().find("403009"), std::string::npos);
}

TEST_F(C2dQueuesTest, OnlyDurableMessagesAreReceivable) {
    bool acked = false;
    w.c2d->enqueue("d1", "g", message("m1"), [&](Result<uint64_t> r) { acked = r.ok(); });
    EXPECT_EQ(w.c2d->pending_count("d1"), 1u);  // counts against the 50 at once
    EXPECT_FALSE(w.c2d->receive("d1").has_value());
    w.commit();
    EXPECT_TRUE(acked);
    std::optional<LockedMessage> m = w.c2d->receive("d1");
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->queued.message.message_id, "m1");
    EXPECT_EQ(m->queued.device_generation_id, "g");
    EXPECT_EQ(m->queued.expiry_time_utc_ms - m->queued.enqueued_time_utc_ms, 3'600'000);
}

TEST_F(C2dQueuesTest, LockHidesForExactlySixtySecondsThenSameDeliveryCount) {
    ASSERT_TRUE(w.enqueue("d1", message("m1")).ok());
    std::optional<LockedMessage> first = w.c2d->receive("d1");
    ASSERT_TRUE(first.has_value());
    const Instant locked_at = w.sim.now();
    w.sim.run_until([] { return false; }, locked_at + kC2dLockDuration + Duration::millis(-1));
    EXPECT_FALSE(w.c2d->receive("d1").has_value());
    w.sim.run_until([] { return false; }, locked_at + kC2dLockDuration);
    std::optional<LockedMessage> again = w.c2d->receive("d1");
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->queued.message.message_id, "m1");
    EXPECT_EQ(again->queued.delivery_count, 0u);
    EXPECT_NE(again->lock_token, first->lock_token);
    Status lost = w.settle("d1", first->lock_token, Settle::complete);
    EXPECT_EQ(lost.code(), Code::not_found);
    EXPECT_NE(lost.message().find("message-lock-lost"), std::string::npos);
    EXPECT_TRUE(w.settle("d1", again->lock_token, Settle::complete).ok());
    EXPECT_EQ(w.c2d->pending_count("d1"), 0u);
}

TEST_F(C2dQueuesTest, CompleteAfterLockExpiryIsLockLostEvenBeforeTheTimerRuns) {
    ASSERT_TRUE(w.enqueue("d1", message("m1", AckMode::full)).ok());
    // An event at the lock's last instant, scheduled before receive() arms the lock timer, so
    // it runs first: the lock must be found lapsed lazily.
    std::optional<LockedMessage> m;
    std::optional<Status> lazy;
    w.sim.schedule(w.sim.now() + kC2dLockDuration, [&] {
        w.c2d->complete("d1", m->lock_token, [&](Status st) { lazy = st; });
    });
    m = w.c2d->receive("d1");
    ASSERT_TRUE(m.has_value());
    w.run_for(kC2dLockDuration + Duration::millis(10));
    ASSERT_TRUE(lazy.has_value());
    EXPECT_EQ(lazy->code(), Code::not_found);
    Status s = w.settle("d1", m->lock_token, Settle::complete);
    EXPECT_EQ(s.code(), Code::not_found);
    EXPECT_NE(s.message().find("message-lock-lost"), std::string::npos);
    EXPECT_EQ(w.c2d->pending_count("d1"), 1u);
    EXPECT_TRUE(w.feedback_after_batching().empty());  // no outcome yet
}

TEST_F(C2dQueuesTest, AbandonCountsAndMakesTheMessageAvailableAtOnce) {
    ASSERT_TRUE(w.enqueue("d1", message("m1")).ok());
    for (uint32_t i = 1; i <= 3; ++i) {
        std::optional<LockedMessage> m = w.c2d->receive("d1");
        ASSERT_TRUE(m.has_value());
        EXPECT_EQ(m->queued.delivery_count, i - 1);
        ASSERT_TRUE(w.settle("d1", m->lock_token, Settle::abandon).ok());
    }
    EXPECT_EQ(w.c2d->messages("d1").at(0).delivery_count, 3u);
}

struct AckCase {
    AckMode ack;
    size_t receipts;
};

class DeadLetterByDeliveryCount : public ::testing::TestWithParam<AckCase> {};

TEST_P(DeadLetterByDeliveryCount, TenAbandonsDeadLetterWithOneReceiptWhenAsked) {
    World w;
    w.open();
    ASSERT_TRUE(w.enqueue("d1", message("m1", GetParam().ack)).ok());
    for (int i = 0; i < 10; ++i) {
        std::optional<LockedMessage> m = w.c2d->receive("d1");
        ASSERT_TRUE(m.has_value()) << "abandon " << i;
        ASSERT_TRUE(w.settle("d1", m->lock_token, Settle::abandon).ok());
    }
    EXPECT_EQ(w.c2d->pending_count("d1"), 0u);
    EXPECT_FALSE(w.c2d->receive("d1").has_value());
    std::vector<nlohmann::json> receipts = w.feedback_after_batching();
    ASSERT_EQ(receipts.size(), GetParam().receipts);
    if (!receipts.empty()) {
        EXPECT_EQ(receipts[0]["statusCode"], "DeliveryCountExceeded");
        EXPECT_EQ(receipts[0]["originalMessageId"], "m1");
        EXPECT_EQ(receipts[0]["deviceId"], "d1");
        EXPECT_EQ(receipts[0]["deviceGenerationId"], "gen-d1");
    }
}

INSTANTIATE_TEST_SUITE_P(AckModes, DeadLetterByDeliveryCount,
                         ::testing::Values(AckCase{AckMode::none, 0}, AckCase{AckMode::positive, 0},
                                           AckCase{AckMode::negative, 1},
                                           AckCase{AckMode::full, 1}));

TEST_F(C2dQueuesTest, CompleteAndRejectProduceTheReceiptsTheirAckAsksFor) {
    const std::vector<std::pair<std::string, AckMode>> sent = {
        {"c-none", AckMode::none},      {"c-pos", AckMode::positive}, {"c-neg", AckMode::negative},
        {"c-full", AckMode::full},      {"r-none", AckMode::none},    {"r-pos", AckMode::positive},
        {"r-neg", AckMode::negative},   {"r-full", AckMode::full}};
    for (const auto& [id, ack] : sent) {
        ASSERT_TRUE(w.enqueue("d1", message(id, ack)).ok());
    }
    for (const auto& [id, ack] : sent) {
        std::optional<LockedMessage> m = w.c2d->receive("d1");
        ASSERT_TRUE(m.has_value());
        ASSERT_EQ(m->queued.message.message_id, id);  // oldest first
        ASSERT_TRUE(w.settle("d1", m->lock_token, id[0] == 'c' ? Settle::complete
                                                               : Settle::reject).ok());
    }
    std::map<std::string, std::string> got;
    for (const nlohmann::json& r : w.feedback_after_batching()) {
        EXPECT_TRUE(got.emplace(r["originalMessageId"], r["statusCode"]).second);
    }
    EXPECT_EQ(got, (std::map<std::string, std::string>{{"c-pos", "Success"},
                                                       {"c-full", "Success"},
                                                       {"r-neg", "Rejected"},
                                                       {"r-full", "Rejected"}}));
}

TEST_F(C2dQueuesTest, TtlExpiryProducesExpiredFeedbackWithoutAnyReceive) {
    C2dMessage m = message("m1", AckMode::negative);
    m.expiry_time_utc_ms = w.node.utc_now_ms() + 5'000;
    ASSERT_TRUE(w.enqueue("d1", m).ok());
    ASSERT_TRUE(w.enqueue("d1", message("default-ttl", AckMode::full)).ok());
    w.run_for(Duration::seconds(5));
    EXPECT_EQ(w.c2d->pending_count("d1"), 1u);  // dead-lettered by the timer, no receive
    std::vector<nlohmann::json> receipts = w.feedback_after_batching();
    ASSERT_EQ(receipts.size(), 1u);
    EXPECT_EQ(receipts[0]["statusCode"], "Expired");
    w.run_for(Duration::seconds(3600));  // the default TTL of 1 h
    EXPECT_EQ(w.c2d->pending_count("d1"), 0u);
    EXPECT_EQ(w.c2d->device_count(), 0u);
    receipts = w.feedback_after_batching();
    ASSERT_EQ(receipts.size(), 1u);
    EXPECT_EQ(receipts[0]["originalMessageId"], "default-ttl");
}

TEST_F(C2dQueuesTest, PurgeDropsEverythingWithPurgedFeedbackForNegativeAndFull) {
    for (AckMode ack : {AckMode::none, AckMode::positive, AckMode::negative, AckMode::full}) {
        ASSERT_TRUE(w.enqueue("d1", message(ack_mode_name(ack), ack)).ok());
    }
    std::optional<LockedMessage> locked = w.c2d->receive("d1");
    ASSERT_TRUE(locked.has_value());
    Status purged = Status(Code::internal, "not called");
    w.c2d->purge("d1", [&](Status s) { purged = s; });
    w.commit();
    EXPECT_TRUE(purged.ok());
    EXPECT_EQ(w.c2d->pending_count("d1"), 0u);
    EXPECT_EQ(w.settle("d1", locked->lock_token, Settle::complete).code(), Code::not_found);
    std::map<std::string, std::string> got;
    for (const nlohmann::json& r : w.feedback_after_batching()) {
        got.emplace(r["originalMessageId"], r["statusCode"]);
    }
    EXPECT_EQ(got, (std::map<std::string, std::string>{{"negative", "Purged"},
                                                       {"full", "Purged"}}));
}

TEST_F(C2dQueuesTest, ListenerRunsLaterForDevicesWithReceivableMessages) {
    std::vector<std::string> told;
    w.c2d->set_available_listener([&](const std::string& id) { told.push_back(id); });
    w.c2d->enqueue("d2", "g", message("a"), [](auto) {});
    w.c2d->enqueue("d1", "g", message("b"), [](auto) {});
    EXPECT_TRUE(told.empty());
    w.commit();
    EXPECT_EQ(told, (std::vector<std::string>{"d1", "d2"}));  // ordered, one flush
    told.clear();
    ASSERT_TRUE(w.c2d->receive("d1").has_value());
    w.run_for(kC2dLockDuration);
    EXPECT_EQ(told, (std::vector<std::string>{"d1"}));  // the lock lapsed
}

TEST(C2dConfigTest, BoundsFromTheReference) {
    EXPECT_TRUE(validate_c2d_config(C2dConfig{}).ok());
    C2dConfig c;
    c.default_ttl = Duration::seconds(59);
    EXPECT_FALSE(validate_c2d_config(c).ok());
    c.default_ttl = Duration::seconds(2 * 24 * 3600);
    EXPECT_TRUE(validate_c2d_config(c).ok());
    c.default_ttl = Duration::seconds(2 * 24 * 3600 + 1);
    EXPECT_FALSE(validate_c2d_config(c).ok());
    c = C2dConfig{};
    c.max_delivery_count = 0;
    EXPECT_FALSE(validate_c2d_config(c).ok());
    c.max_delivery_count = 101;
    EXPECT_FALSE(validate_c2d_config(c).ok());
    c.max_delivery_count = 100;
    EXPECT_TRUE(validate_c2d_config(c).ok());
    c.feedback.lock_duration = Duration::seconds(4);
    EXPECT_FALSE(validate_c2d_config(c).ok());
    simnet::Simulator sim{1};
    simnet::SimNetwork net{sim, Random(2)};
    simnet::SimNode node{sim, net, "hub"};
    EXPECT_EQ(C2dQueues::open(node, c).status().code(), Code::invalid_argument);
}

TEST_F(C2dQueuesTest, FailedSyncMakesTheQueuesFailStop) {
    ASSERT_TRUE(w.enqueue("d0", message("locked")).ok());
    ASSERT_TRUE(w.c2d->receive("d0").has_value());
    w.node.sim_disk().set_fail_syncs(true);
    EXPECT_EQ(w.enqueue("d1", message("m1")).status().code(), Code::io_error);
    EXPECT_EQ(w.c2d->pending_count("d1"), 0u);
    EXPECT_EQ(w.enqueue("d1", message("m2")).status().code(), Code::unavailable);
    EXPECT_FALSE(w.c2d->receive("d1").has_value());
    // Timers stop: a lapsed lock must not re-fire forever on a failed store.
    EXPECT_TRUE(w.sim.run_until([] { return false; }, w.sim.now() + Duration::seconds(7200)) ==
                false);
    EXPECT_LT(w.sim.pending_events(), 5u);
}

// ---- crash recovery --------------------------------------------------------------------------

// What the workload was told (acknowledged) and what it merely issued before the crash.
struct Acks {
    std::map<std::string, AckMode> enqueued;          // acknowledged enqueues
    std::map<std::string, Outcome> terminal;          // acknowledged outcomes
    std::map<std::string, uint32_t> abandons;         // acknowledged abandons
    std::map<std::string, std::string> device_of;     // every issued enqueue
    std::set<std::string> issued_terminal;            // complete/reject/purge issued
    std::map<std::string, uint32_t> issued_abandons;
};

// Runs a fixed workload; crash point 2i is "step i issued, not yet committed", 2i+1 is "step i
// committed and acknowledged". Returns false if it stopped at `crash_at`.
class CrashWorkload {
  public:
    CrashWorkload(World& w, int crash_at) : w_(w), crash_at_(crash_at) {}

    bool run() {
        return enqueue("d1", "a", AckMode::full) && enqueue("d1", "b", AckMode::none) &&
               enqueue("d2", "c", AckMode::negative) && settle("d1", Settle::complete) &&
               settle("d1", Settle::abandon) && settle("d2", Settle::reject) &&
               enqueue("d1", "d", AckMode::positive) && settle("d1", Settle::abandon) &&
               enqueue("d2", "e", AckMode::full) && purge("d2") &&
               settle("d1", Settle::complete) && enqueue("d1", "f", AckMode::full);
    }
    Acks acks;

  private:
    bool point() { return point_++ != crash_at_; }
    bool step(const std::function<void()>& issue) {
        issue();
        if (!point()) {
            return false;
        }
        w_.commit();
        return point();
    }
    bool enqueue(const std::string& device, const std::string& id, AckMode ack) {
        return step([&, device, id, ack] {
            acks.device_of[id] = device;
            w_.c2d->enqueue(device, "g", message(id, ack), [this, id, ack](Result<uint64_t> r) {
                HUB_ASSERT(r.ok());
                acks.enqueued[id] = ack;
            });
        });
    }
    bool settle(const std::string& device, Settle how) {
        std::optional<LockedMessage> m = w_.c2d->receive(device);
        HUB_ASSERT(m.has_value());
        const std::string id = m->queued.message.message_id;
        return step([&, device, how, id, token = m->lock_token] {
            const Outcome outcome = how == Settle::complete ? Outcome::completed
                                                            : Outcome::rejected;
            auto done = [this, id, how, outcome](Status s) {
                HUB_ASSERT(s.ok());
                if (how == Settle::abandon) {
                    ++acks.abandons[id];
                } else {
                    acks.terminal[id] = outcome;
                }
            };
            if (how == Settle::abandon) {
                ++acks.issued_abandons[id];
                w_.c2d->abandon(device, token, done);
            } else {
                acks.issued_terminal.insert(id);
                how == Settle::complete ? w_.c2d->complete(device, token, done)
                                        : w_.c2d->reject(device, token, done);
            }
        });
    }
    bool purge(const std::string& device) {
        return step([&, device] {
            std::vector<std::string> ids;
            for (const QueuedMessage& m : w_.c2d->messages(device)) {
                ids.push_back(m.message.message_id);
                acks.issued_terminal.insert(m.message.message_id);
            }
            w_.c2d->purge(device, [this, ids](Status s) {
                HUB_ASSERT(s.ok());
                for (const std::string& id : ids) {
                    acks.terminal[id] = Outcome::purged;
                }
            });
        });
    }

    World& w_;
    int crash_at_;
    int point_ = 0;
};

// Receipts anywhere in the recovered feedback state (pending or batched), by message id.
std::map<std::string, std::vector<std::string>> recovered_receipts(C2dQueues& c2d) {
    std::map<std::string, std::vector<std::string>> out;
    for (const Receipt& r : c2d.feedback().pending()) {
        out[r.original_message_id].push_back(outcome_status_code(r.outcome));
    }
    for (const QueuedMessage& m : c2d.feedback().messages()) {
        const Bytes& body = m.message.body;
        for (const auto& r : nlohmann::json::parse(body.begin(), body.end())) {
            out[r["originalMessageId"]].push_back(r["statusCode"]);
        }
    }
    return out;
}

void check_recovered(C2dQueues& c2d, const Acks& acks) {
    std::map<std::string, QueuedMessage> present;
    for (const std::string device : {"d1", "d2"}) {
        for (const QueuedMessage& m : c2d.messages(device)) {
            EXPECT_TRUE(present.emplace(m.message.message_id, m).second) << "duplicate";
        }
    }
    const auto receipts = recovered_receipts(c2d);
    for (const auto& [id, device] : acks.device_of) {
        const bool is_present = present.contains(id);
        const size_t n = receipts.contains(id) ? receipts.at(id).size() : 0;
        EXPECT_LE(n, 1u) << id;
        if (is_present) {
            EXPECT_EQ(n, 0u) << id << ": a receipt while the message is still queued";
            EXPECT_GE(present.at(id).delivery_count, acks.abandons.contains(id)
                                                         ? acks.abandons.at(id) : 0u);
            EXPECT_LE(present.at(id).delivery_count, acks.issued_abandons.contains(id)
                                                         ? acks.issued_abandons.at(id) : 0u);
        }
        if (acks.terminal.contains(id)) {
            EXPECT_FALSE(is_present) << id << ": acknowledged outcome lost";
            const Outcome o = acks.terminal.at(id);
            EXPECT_EQ(n, ack_requests(acks.enqueued.at(id), o) ? 1u : 0u) << id;
            if (n == 1) {
                EXPECT_EQ(receipts.at(id)[0], outcome_status_code(o));
            }
        } else if (acks.enqueued.contains(id) && !acks.issued_terminal.contains(id)) {
            EXPECT_TRUE(is_present) << id << ": acknowledged enqueue lost";
        }
    }
}

TEST(C2dCrashRecovery, AcknowledgedStateSurvivesACrashAtEveryPoint) {
    int runs = 0;
    for (int crash_at = 0; crash_at <= 24; ++crash_at) {
        for (uint64_t tear_seed = 1; tear_seed <= 3; ++tear_seed) {
            SCOPED_TRACE("crash_at=" + std::to_string(crash_at) + " tear_seed=" +
                         std::to_string(tear_seed));
            World w;
            w.open();
            CrashWorkload workload(w, crash_at);
            const bool finished = workload.run();
            w.c2d.reset();  // the process dies: pending callbacks never run
            Random tear(tear_seed);
            w.node.sim_disk().crash(tear);
            w.open();
            check_recovered(*w.c2d, workload.acks);
            // The recovered hub works: every message is receivable (locks were not durable).
            for (const std::string device : {"d1", "d2"}) {
                while (std::optional<LockedMessage> m = w.c2d->receive(device)) {
                    ASSERT_TRUE(w.settle(device, m->lock_token, Settle::complete).ok());
                }
                EXPECT_EQ(w.c2d->pending_count(device), 0u);
            }
            EXPECT_EQ(finished, crash_at == 24);
            ++runs;
        }
    }
    EXPECT_EQ(runs, 75);
}

TEST(C2dCrashRecovery, PendingReceiptsAndBatchesSurviveAndExpiryResumes) {
    World w;
    w.open();
    for (int i = 0; i < 3; ++i) {
        C2dMessage m = message("m" + std::to_string(i), AckMode::full);
        m.expiry_time_utc_ms = w.node.utc_now_ms() + 60'000;
        ASSERT_TRUE(w.enqueue("d1", m).ok());
    }
    std::optional<LockedMessage> m = w.c2d->receive("d1");
    ASSERT_TRUE(w.settle("d1", m->lock_token, Settle::complete).ok());
    EXPECT_EQ(w.c2d->feedback().pending_receipts(), 1u);
    w.c2d.reset();
    Random tear(1);
    w.node.sim_disk().crash(tear);
    w.open();
    EXPECT_EQ(w.c2d->feedback().pending_receipts(), 1u);
    EXPECT_EQ(w.c2d->pending_count("d1"), 2u);
    w.run_for(Duration::seconds(61));  // the timers were re-armed from the log
    EXPECT_EQ(w.c2d->pending_count("d1"), 0u);
    std::map<std::string, std::string> got;
    for (const nlohmann::json& r : w.feedback_after_batching()) {
        got.emplace(r["originalMessageId"], r["statusCode"]);
    }
    EXPECT_EQ(got, (std::map<std::string, std::string>{
                       {"m0", "Success"}, {"m1", "Expired"}, {"m2", "Expired"}}));
}

// ---- property: exactly one outcome per message, receipts as the ack asks ----------------------

struct ModelMessage {
    std::string id;
    std::string device;
    AckMode ack = AckMode::none;
    int64_t expiry_utc_ms = 0;
    uint32_t abandons = 0;
    std::optional<Outcome> outcome;
};

// The model's own reading of the ack table (reference §1.7), independent of ack_requests().
bool model_wants_receipt(AckMode ack, Outcome outcome) {
    const bool success = outcome == Outcome::completed;
    return ack == AckMode::full || (ack == AckMode::positive && success) ||
           (ack == AckMode::negative && !success);
}

struct ModelLock {
    std::string device;
    std::string token;
    size_t message = 0;
    Instant until;
    bool used = false;
};

class Model {
  public:
    std::vector<ModelMessage> messages;
    std::vector<ModelLock> locks;

    bool locked(size_t i, Instant now) const {
        for (const ModelLock& l : locks) {
            if (l.message == i && !l.used && now < l.until) {
                return true;
            }
        }
        return false;
    }
    // Expiry applies to enqueued (unlocked) messages; the hub's timer is exact.
    void expire(Instant now, int64_t utc_ms) {
        for (size_t i = 0; i < messages.size(); ++i) {
            ModelMessage& m = messages[i];
            if (!m.outcome && utc_ms >= m.expiry_utc_ms && !locked(i, now)) {
                m.outcome = Outcome::expired;
            }
        }
    }
    size_t live(const std::string& device) const {
        size_t n = 0;
        for (const ModelMessage& m : messages) {
            n += m.device == device && !m.outcome;
        }
        return n;
    }
    std::optional<size_t> next_receivable(const std::string& device, Instant now) const {
        for (size_t i = 0; i < messages.size(); ++i) {
            if (messages[i].device == device && !messages[i].outcome && !locked(i, now)) {
                return i;
            }
        }
        return std::nullopt;
    }
};

class PropertyRun {
  public:
    PropertyRun(uint32_t max_delivery_count) {
        w_.config.default_ttl = Duration::seconds(120);
        w_.config.max_delivery_count = max_delivery_count;
        w_.config.feedback.ttl = Duration::seconds(2 * 24 * 3600);
        w_.open();
    }

    void step(int kind, int device_index, int arg) {
        const std::string device = device_index == 0 ? "d0" : "d1";
        model_.expire(w_.sim.now(), w_.node.utc_now_ms());
        if (kind <= 2) {
            enqueue(device, arg);
        } else if (kind <= 4) {
            receive(device);
        } else if (kind <= 8 && !model_.locks.empty()) {
            const Settle how = kind == 5 ? Settle::complete
                               : kind == 6 ? Settle::reject : Settle::abandon;
            settle(static_cast<size_t>(arg) % model_.locks.size(), how);
        } else if (kind == 9) {
            w_.run_for(Duration::seconds(arg % 91));
        } else if (kind == 10) {
            collect(w_.drain_feedback());
        } else if (kind == 11) {
            purge(device);
        }
    }

    void finish() {
        w_.run_for(Duration::seconds(600));  // past every TTL and lock
        model_.expire(w_.sim.now(), w_.node.utc_now_ms());
        RC_ASSERT(w_.c2d->total_pending() == 0u);
        collect(w_.feedback_after_batching());
        RC_ASSERT(w_.c2d->feedback().pending_receipts() == 0u);
        RC_ASSERT(w_.c2d->feedback().size() == 0u);
        for (const ModelMessage& m : model_.messages) {
            RC_ASSERT(m.outcome.has_value());  // every message ends in exactly one state
            std::vector<std::string> want;
            if (model_wants_receipt(m.ack, *m.outcome)) {
                want.push_back(outcome_status_code(*m.outcome));
            }
            std::vector<std::string> got;
            if (receipts_.contains(m.id)) {
                got = receipts_.at(m.id);
            }
            RC_LOG() << m.id << " ack=" << ack_mode_name(m.ack) << "\n";
            RC_ASSERT(got == want);
            receipts_.erase(m.id);
        }
        RC_ASSERT(receipts_.empty());  // no receipt for a message never acknowledged
    }

  private:
    void enqueue(const std::string& device, int arg) {
        const std::string id = "m" + std::to_string(model_.messages.size() + refused_);
        C2dMessage m = message(id, static_cast<AckMode>(arg % 4));
        const int64_t now_ms = w_.node.utc_now_ms();
        const int expiry_choice = (arg / 4) % 3;
        if (expiry_choice > 0) {
            m.expiry_time_utc_ms = now_ms + 60'000 * (expiry_choice == 1 ? 1 : 3);
        }
        const int64_t expiry = m.expiry_time_utc_ms.value_or(now_ms + 120'000);
        const bool room = model_.live(device) < kC2dQueueDepthMax;
        Result<uint64_t> r = w_.enqueue(device, m);
        RC_ASSERT(r.ok() == room);
        if (r.ok()) {
            model_.messages.push_back(ModelMessage{id, device, m.ack, expiry, 0, std::nullopt});
        } else {
            RC_ASSERT(r.status().code() == Code::resource_exhausted);
            ++refused_;
        }
    }
    void receive(const std::string& device) {
        std::optional<size_t> want = model_.next_receivable(device, w_.sim.now());
        std::optional<LockedMessage> got = w_.c2d->receive(device);
        RC_ASSERT(got.has_value() == want.has_value());
        if (!got) {
            return;
        }
        const ModelMessage& m = model_.messages[*want];
        RC_ASSERT(got->queued.message.message_id == m.id);
        RC_ASSERT(got->queued.delivery_count == m.abandons);
        model_.locks.push_back(ModelLock{device, got->lock_token, *want,
                                         w_.sim.now() + kC2dLockDuration, false});
    }
    void settle(size_t lock_index, Settle how) {
        ModelLock& lock = model_.locks[lock_index];
        ModelMessage& m = model_.messages[lock.message];
        const bool valid = !lock.used && w_.sim.now() < lock.until && !m.outcome;
        Status s = w_.settle(lock.device, lock.token, how);
        RC_ASSERT(s.ok() == valid);
        if (!s.ok()) {
            RC_ASSERT(s.code() == Code::not_found);
            return;
        }
        lock.used = true;
        if (how == Settle::complete) {
            m.outcome = Outcome::completed;
        } else if (how == Settle::reject) {
            m.outcome = Outcome::rejected;
        } else if (++m.abandons == w_.config.max_delivery_count) {
            m.outcome = Outcome::delivery_count_exceeded;
        }
    }
    void purge(const std::string& device) {
        Status out = Status(Code::internal, "not called");
        w_.c2d->purge(device, [&](Status s) { out = s; });
        w_.commit();
        RC_ASSERT(out.ok());
        for (ModelMessage& m : model_.messages) {
            if (m.device == device && !m.outcome) {
                m.outcome = Outcome::purged;
            }
        }
        RC_ASSERT(w_.c2d->pending_count(device) == 0u);
    }
    void collect(const std::vector<nlohmann::json>& records) {
        for (const nlohmann::json& r : records) {
            receipts_[r["originalMessageId"]].push_back(r["statusCode"]);
        }
    }

    World w_;
    Model model_;
    size_t refused_ = 0;
    std::map<std::string, std::vector<std::string>> receipts_;
};

RC_GTEST_PROP(C2dProperty, ExactlyOneOutcomePerMessageAndReceiptsMatchTheAck, ()) {
    const uint32_t max_delivery_count = *rc::gen::inRange<uint32_t>(1, 4);
    const auto ops = *rc::gen::container<std::vector<std::tuple<int, int, int>>>(
        rc::gen::tuple(rc::gen::inRange(0, 12), rc::gen::inRange(0, 2),
                       rc::gen::inRange(0, 1000)));
    PropertyRun run(max_delivery_count);
    for (const auto& [kind, device, arg] : ops) {
        run.step(kind, device, arg);
    }
    run.finish();
}

}  // namespace
}  // namespace hub
