// C2D store compaction (c2d.log holds the device queues and the feedback queue): a churn of
// enqueues, settlements, purges, expiries and feedback keeps the log bounded and the state
// intact across reopen; a crash after every disk write of that churn, compactions included,
// recovers what was acknowledged (model check).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "hub/core/c2d_queue.hpp"
#include "hub/store/crash_point_disk.hpp"
#include "simnet/sim_node.hpp"

namespace hub {
namespace {

const std::vector<std::string> kDevices = {"d0", "d1", "d2"};

struct World {
    simnet::Simulator sim{1};
    simnet::SimNetwork net{sim, Random(2)};
    simnet::SimNode node{sim, net, "hub"};
    store::CrashPointDisk disk{node.sim_disk()};
    store::DiskEnv env{node, disk};
    C2dConfig config;
    std::unique_ptr<C2dQueues> c2d;

    explicit World(store::CompactionPolicy policy) { config.store.compaction = policy; }
    Status open() {
        Result<std::unique_ptr<C2dQueues>> q = C2dQueues::open(env, config);
        if (!q.ok()) return q.status();
        c2d = std::move(*q);
        return Status::ok_status();
    }
    void run_for(Duration d) { sim.run_until([] { return false; }, sim.now() + d); }
    uint64_t file_bytes() { return node.sim_disk().read(config.store.file_name)->size(); }
};

// What the churn was told (acknowledged) and what it merely issued.
struct Acks {
    std::map<std::string, AckMode> enqueued;  // acknowledged enqueues
    std::map<std::string, uint64_t> sequence_of;
    std::map<std::string, Outcome> terminal;  // acknowledged outcomes
    std::map<std::string, uint32_t> abandons;
    std::map<std::string, AckMode> issued;  // every enqueue issued
    std::set<std::string> issued_terminal;
    std::map<std::string, uint32_t> issued_abandons;
    std::set<std::string> receipts_delivered;  // completing their feedback message was acked
    std::set<std::string> receipts_issued;     // ... was issued
    uint64_t compactions = 0;
};

Outcome outcome_of(Settle how) {
    return how == Settle::complete ? Outcome::completed : Outcome::rejected;
}

class Churn {
  public:
    Churn(World& w, Acks& acks) : w_(w), acks_(acks) {}

    // Runs `steps` steps; false if the store failed (the power was cut) on the way.
    bool run(int steps) {
        for (int k = 0; k < steps; ++k) {
            step(next_step_++);  // message ids stay unique across runs
            w_.run_for(Duration::millis(10));  // commits
            if (w_.c2d->store().failed()) return false;
        }
        return true;
    }

  private:
    void step(int i) {
        enqueue(kDevices[i % 3], "m" + std::to_string(i), static_cast<AckMode>(i % 4), i % 5 == 0);
        settle(kDevices[(i + 1) % 3], i % 4 == 2 ? Settle::abandon
                                      : i % 4 == 3 ? Settle::reject
                                                   : Settle::complete);
        if (i % 11 == 10) purge(kDevices[i % 3]);
        if (i % 9 == 8) {
            w_.run_for(kFeedbackBatchDelay + Duration::seconds(1));  // seals, expires, unlocks
            drain_feedback(i % 2 == 0);
        }
    }
    void enqueue(const std::string& device, const std::string& id, AckMode ack, bool short_ttl) {
        C2dMessage m;
        m.message_id = id;
        m.ack = ack;
        m.body = Bytes(40, 'x');
        if (short_ttl) m.expiry_time_utc_ms = w_.env.utc_now_ms() + 12'000;
        acks_.issued[id] = ack;
        w_.c2d->enqueue(device, "g-" + device, m, [this, id, ack](Result<uint64_t> r) {
            if (!r.ok()) return;
            acks_.enqueued[id] = ack;
            acks_.sequence_of[id] = *r;
        });
    }
    void settle(const std::string& device, Settle how) {
        std::optional<LockedMessage> m = w_.c2d->receive(device);
        if (!m.has_value()) return;
        const std::string id = m->queued.message.message_id;
        auto done = [this, id, how](Status s) {
            if (!s.ok()) return;
            if (how == Settle::abandon) {
                ++acks_.abandons[id];
            } else {
                acks_.terminal[id] = outcome_of(how);
            }
        };
        if (how == Settle::abandon) {
            ++acks_.issued_abandons[id];
            w_.c2d->abandon(device, m->lock_token, done);
        } else {
            acks_.issued_terminal.insert(id);
            how == Settle::complete ? w_.c2d->complete(device, m->lock_token, done)
                                    : w_.c2d->reject(device, m->lock_token, done);
        }
    }
    void purge(const std::string& device) {
        std::vector<std::string> ids;
        for (const QueuedMessage& m : w_.c2d->messages(device)) {
            ids.push_back(m.message.message_id);
            acks_.issued_terminal.insert(m.message.message_id);
        }
        w_.c2d->purge(device, [this, ids](Status s) {
            if (!s.ok()) return;
            for (const std::string& id : ids) acks_.terminal[id] = Outcome::purged;
        });
    }
    // Completes every feedback message (or abandons them all).
    void drain_feedback(bool complete) {
        std::vector<LockedMessage> got;
        while (std::optional<LockedMessage> m = w_.c2d->feedback().receive()) got.push_back(*m);
        for (const LockedMessage& m : got) {
            const Bytes& body = m.queued.message.body;
            std::vector<std::string> ids;
            for (const auto& r : nlohmann::json::parse(body.begin(), body.end())) {
                ids.push_back(r["originalMessageId"]);
            }
            if (!complete) {
                w_.c2d->feedback().abandon(m.lock_token, [](Status) {});
                continue;
            }
            acks_.receipts_issued.insert(ids.begin(), ids.end());
            w_.c2d->feedback().complete(m.lock_token, [this, ids](Status s) {
                if (s.ok()) acks_.receipts_delivered.insert(ids.begin(), ids.end());
            });
        }
    }

    World& w_;
    Acks& acks_;
    int next_step_ = 0;
};

// Every receipt in the recovered feedback state, by original message id.
std::map<std::string, int> receipts(C2dQueues& c2d) {
    std::map<std::string, int> out;
    for (const Receipt& r : c2d.feedback().pending()) ++out[r.original_message_id];
    for (const QueuedMessage& m : c2d.feedback().messages()) {
        const Bytes& body = m.message.body;
        for (const auto& r : nlohmann::json::parse(body.begin(), body.end())) {
            ++out[r["originalMessageId"].get<std::string>()];
        }
    }
    return out;
}

void check_message(const std::string& id, const Acks& acks, const QueuedMessage* present,
                   int receipts) {
    SCOPED_TRACE(id);
    EXPECT_LE(receipts, 1);
    const auto count = [&](const std::map<std::string, uint32_t>& m) {
        return m.contains(id) ? m.at(id) : 0u;
    };
    if (present != nullptr) {
        EXPECT_EQ(receipts, 0) << "a receipt while the message is still queued";
        EXPECT_GE(present->delivery_count, count(acks.abandons));
        EXPECT_LE(present->delivery_count, count(acks.issued_abandons));
        EXPECT_TRUE(acks.issued.contains(id));
    }
    if (acks.terminal.contains(id)) {
        EXPECT_EQ(present, nullptr) << "acknowledged outcome lost";
        const bool wanted = ack_requests(acks.enqueued.at(id), acks.terminal.at(id));
        if (!wanted || acks.receipts_delivered.contains(id)) {
            EXPECT_EQ(receipts, 0);
        } else if (!acks.receipts_issued.contains(id)) {
            EXPECT_EQ(receipts, 1) << "acknowledged receipt lost";
        }
    } else if (acks.enqueued.contains(id) && !acks.issued_terminal.contains(id)) {
        // Not settled by the churn: only an expiry may have taken it, with its receipt.
        const bool expired_receipt = receipts == 1 || acks.receipts_issued.contains(id) ||
                                     !ack_requests(acks.enqueued.at(id), Outcome::expired);
        EXPECT_TRUE(present != nullptr || expired_receipt) << "acknowledged enqueue lost";
    }
}

void check_recovered(C2dQueues& c2d, const Acks& acks) {
    std::map<std::string, QueuedMessage> present;
    for (const std::string& device : kDevices) {
        for (const QueuedMessage& m : c2d.messages(device)) {
            EXPECT_TRUE(present.emplace(m.message.message_id, m).second) << "duplicate";
        }
    }
    const std::map<std::string, int> got = receipts(c2d);
    for (const auto& [id, ack] : acks.issued) {
        auto it = present.find(id);
        check_message(id, acks, it == present.end() ? nullptr : &it->second,
                      got.contains(id) ? got.at(id) : 0);
    }
    for (const auto& [id, m] : present) EXPECT_TRUE(acks.issued.contains(id)) << id;
}

constexpr int kSteps = 60;

TEST(C2dCompaction, ChurnKeepsTheLogBoundedAndReopenSeesTheSameState) {
    const store::CompactionPolicy policy{4, 8 * 1024};
    World w(policy);
    ASSERT_TRUE(w.open().ok());
    Acks acks;
    Churn churn(w, acks);
    for (int round = 0; round < 10; ++round) {
        ASSERT_TRUE(churn.run(kSteps));
        const C2dStore& store = w.c2d->store();
        EXPECT_EQ(w.file_bytes(), store.log_bytes());
        EXPECT_LE(store.log_bytes(),
                  std::max(policy.live_factor * store.live_bytes(), policy.floor_bytes));
    }
    EXPECT_GE(w.c2d->store().compactions(), 5u);
    std::map<std::string, std::vector<std::pair<uint64_t, uint32_t>>> before;
    for (const std::string& d : kDevices) {
        for (const QueuedMessage& m : w.c2d->messages(d)) {
            before[m.message.message_id].emplace_back(m.sequence_number, m.delivery_count);
        }
    }
    const std::vector<QueuedMessage> feedback_before = w.c2d->feedback().messages();
    const size_t pending_before = w.c2d->feedback().pending_receipts();
    w.c2d.reset();
    ASSERT_TRUE(w.open().ok());
    std::map<std::string, std::vector<std::pair<uint64_t, uint32_t>>> after;
    for (const std::string& d : kDevices) {
        for (const QueuedMessage& m : w.c2d->messages(d)) {
            after[m.message.message_id].emplace_back(m.sequence_number, m.delivery_count);
        }
    }
    EXPECT_EQ(after, before);
    const std::vector<QueuedMessage> feedback_after = w.c2d->feedback().messages();
    ASSERT_EQ(feedback_after.size(), feedback_before.size());
    for (size_t i = 0; i < feedback_after.size(); ++i) {
        EXPECT_EQ(feedback_after[i].sequence_number, feedback_before[i].sequence_number);
        EXPECT_EQ(feedback_after[i].message.body, feedback_before[i].message.body);
        EXPECT_EQ(feedback_after[i].delivery_count, feedback_before[i].delivery_count);
    }
    EXPECT_EQ(w.c2d->feedback().pending_receipts(), pending_before);
    check_recovered(*w.c2d, acks);
    // Sequence numbers go on from where they were, not from the compacted log's live ones.
    uint64_t max_seq = 0;
    for (const auto& [id, seq] : acks.sequence_of) max_seq = std::max(max_seq, seq);
    std::optional<Result<uint64_t>> next;
    C2dMessage m;
    m.message_id = "after";
    w.c2d->enqueue("d0", "g", m, [&](Result<uint64_t> r) { next = r; });
    w.run_for(Duration::millis(10));
    ASSERT_TRUE(next.has_value() && next->ok());
    EXPECT_EQ(**next, max_seq + 1);
}

TEST(C2dCompaction, WithoutCompactionTheSameChurnGrows) {
    World w(store::CompactionPolicy{4, UINT64_MAX});
    ASSERT_TRUE(w.open().ok());
    Acks acks;
    Churn churn(w, acks);
    ASSERT_TRUE(churn.run(10 * kSteps));
    EXPECT_EQ(w.c2d->store().compactions(), 0u);
    EXPECT_GT(w.c2d->store().log_bytes(), 10 * w.c2d->store().live_bytes());
}

// Pending receipts move onto carrier records with the times they were logged: the feedback
// batch still seals 15 s after the first receipt, not after the last.
TEST(FeedbackCompaction, PendingReceiptsKeepTheirTimesAcrossACompaction) {
    World w(store::CompactionPolicy{2, 0});
    ASSERT_TRUE(w.open().ok());
    const Instant t0 = w.sim.now();
    for (int i = 0; i < 3; ++i) {
        C2dMessage m;
        m.message_id = "m" + std::to_string(i);
        m.ack = AckMode::full;
        m.body = Bytes(4000, 'x');  // a long log to compact, little live state left
        w.c2d->enqueue("d0", "g", m, [](Result<uint64_t> r) { ASSERT_TRUE(r.ok()); });
        w.run_for(Duration::millis(10));
        std::optional<LockedMessage> locked = w.c2d->receive("d0");
        ASSERT_TRUE(locked.has_value());
        w.c2d->complete("d0", locked->lock_token, [](Status s) { ASSERT_TRUE(s.ok()); });
        w.run_for(Duration::seconds(4));
    }
    ASSERT_GE(w.c2d->store().compactions(), 1u);
    ASSERT_EQ(w.c2d->feedback().pending_receipts(), 3u);
    w.c2d.reset();
    ASSERT_TRUE(w.open().ok());
    ASSERT_EQ(w.c2d->feedback().pending_receipts(), 3u);
    const Instant due = t0 + Duration::millis(10) + kFeedbackBatchDelay;
    w.sim.run_until([] { return false; }, due + Duration::millis(-1));
    EXPECT_EQ(w.c2d->feedback().size(), 0u);  // not sealed early
    w.run_for(Duration::millis(20));
    EXPECT_EQ(w.c2d->feedback().size(), 1u);  // sealed 15 s after the first receipt
    EXPECT_EQ(w.c2d->feedback().pending_receipts(), 0u);
}

TEST(C2dCompactionCrash, ACrashAfterEveryDiskWriteRecoversTheAcknowledgedState) {
    const store::CompactionPolicy policy{2, 2048};
    uint64_t total_writes = 0;
    {
        World w(policy);
        ASSERT_TRUE(w.open().ok());
        Acks acks;
        ASSERT_TRUE(Churn(w, acks).run(kSteps));
        ASSERT_GE(w.c2d->store().compactions(), 4u);
        total_writes = w.disk.writes();
    }
    int interrupted_compactions = 0;  // crashes that left a "c2d.log.compact" behind
    for (uint64_t cut = 0; cut <= total_writes; ++cut) {
        SCOPED_TRACE("cut after write " + std::to_string(cut));
        World w(policy);
        w.node.sim_disk().set_crash_garbage(cut % 2 == 1);
        w.disk.cut_after(cut);
        Acks acks;
        if (w.open().ok()) {
            EXPECT_EQ(Churn(w, acks).run(kSteps), cut == total_writes);
        }
        w.c2d.reset();  // the process dies: pending callbacks never run
        Random tear(cut + 1);
        w.node.sim_disk().crash(tear);
        w.disk.heal();
        interrupted_compactions += w.node.sim_disk().list().size() > 1 ? 1 : 0;
        ASSERT_TRUE(w.open().ok());
        for (const std::string& name : w.node.sim_disk().list()) {
            EXPECT_EQ(name, w.config.store.file_name);
        }
        check_recovered(*w.c2d, acks);
        uint64_t max_seq = 0;
        for (const auto& [id, seq] : acks.sequence_of) max_seq = std::max(max_seq, seq);
        std::optional<Result<uint64_t>> next;
        w.c2d->enqueue("d0", "g", C2dMessage{}, [&](Result<uint64_t> r) { next = r; });
        w.run_for(Duration::millis(10));
        ASSERT_TRUE(next.has_value() && next->ok());
        EXPECT_GT(**next, max_seq) << "a sequence number was handed out twice";
    }
    EXPECT_GE(interrupted_compactions, 4);
}


// ---- property: a compacted log replays to what the full log replays to ------------------------

// Everything replay rebuilds, canonical (locks are not durable, so not here).
nlohmann::json durable_state(C2dQueues& c2d) {
    nlohmann::json s = {{"devices", nlohmann::json::object()},
                        {"feedback", nlohmann::json::array()}};
    for (const std::string& d : kDevices) {
        for (const QueuedMessage& m : c2d.messages(d)) {
            s["devices"][d].push_back({m.sequence_number, m.message.message_id, m.delivery_count,
                                       m.expiry_time_utc_ms});
        }
    }
    for (const QueuedMessage& m : c2d.feedback().messages()) {
        s["feedback"].push_back({m.sequence_number, std::string(m.message.body.begin(),
                                                                m.message.body.end()),
                                 m.delivery_count});
    }
    for (const Receipt& r : c2d.feedback().pending()) {
        s["pending"].push_back({r.original_message_id, static_cast<int>(r.outcome)});
    }
    return s;
}

// Runs one random op on both worlds alike (same seeds: the same draws and times).
void random_op(World& w, int kind, int device, int& next_id) {
    const std::string& d = kDevices[static_cast<size_t>(device) % kDevices.size()];
    switch (kind) {
        case 0:
        case 1: {
            C2dMessage m;
            m.message_id = "m" + std::to_string(next_id++);
            m.ack = static_cast<AckMode>(next_id % 4);
            m.body = Bytes(300, 'x');
            w.c2d->enqueue(d, "g", m, [](Result<uint64_t>) {});
            break;
        }
        case 2:
        case 3:
        case 4:
            if (std::optional<LockedMessage> m = w.c2d->receive(d)) {
                const auto done = [](Status) {};
                kind == 2   ? w.c2d->complete(d, m->lock_token, done)
                : kind == 3 ? w.c2d->abandon(d, m->lock_token, done)
                            : w.c2d->reject(d, m->lock_token, done);
            }
            break;
        case 5: w.c2d->purge(d, [](Status) {}); break;
        case 6:
            if (std::optional<LockedMessage> f = w.c2d->feedback().receive()) {
                w.c2d->feedback().complete(f->lock_token, [](Status) {});
            }
            break;
        default: w.run_for(Duration::seconds(8)); break;  // batches seal, locks lapse
    }
    w.run_for(Duration::millis(5));
}

RC_GTEST_PROP(C2dCompactionProperty, ACompactedLogReplaysToTheSameStateAsTheFullOne, ()) {
    const auto ops = *rc::gen::container<std::vector<std::pair<int, int>>>(
        rc::gen::pair(rc::gen::inRange(0, 8), rc::gen::inRange(0, 3)));
    World compacted(store::CompactionPolicy{2, 0});
    World full(store::CompactionPolicy{2, UINT64_MAX});
    RC_ASSERT(compacted.open().ok());
    RC_ASSERT(full.open().ok());
    int id_a = 0;
    int id_b = 0;
    for (const auto& [kind, device] : ops) {
        random_op(compacted, kind, device, id_a);
        random_op(full, kind, device, id_b);
    }
    RC_ASSERT(durable_state(*compacted.c2d) == durable_state(*full.c2d));
    RC_ASSERT(full.c2d->store().compactions() == 0u);
    RC_CLASSIFY(compacted.c2d->store().compactions() > 0, "compacted");
    compacted.c2d.reset();
    full.c2d.reset();
    RC_ASSERT(compacted.open().ok());
    RC_ASSERT(full.open().ok());
    RC_ASSERT(durable_state(*compacted.c2d) == durable_state(*full.c2d));
    RC_ASSERT(compacted.c2d->store().log_bytes() <= full.c2d->store().log_bytes());
    // And both go on alike: the next sequence number is the same (0: refused, queue full).
    std::optional<uint64_t> a;
    std::optional<uint64_t> b;
    compacted.c2d->enqueue("d0", "g", C2dMessage{},
                           [&](Result<uint64_t> r) { a = r.ok() ? *r : 0; });
    full.c2d->enqueue("d0", "g", C2dMessage{}, [&](Result<uint64_t> r) { b = r.ok() ? *r : 0; });
    compacted.run_for(Duration::millis(5));
    full.run_for(Duration::millis(5));
    RC_ASSERT(a.has_value() && a == b);
}

}  // namespace
}  // namespace hub
