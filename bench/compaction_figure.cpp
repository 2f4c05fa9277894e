// Log size with and without compaction for churn workloads (simulator memory disk): the
// registry (create one device, delete the one created 100 ops ago), C2D (enqueue, receive and
// complete across 100 devices, feedback drained), provisioning (updates of 100 enrollments).
// Prints one table row per checkpoint. Default compaction policy (4 x live, 1 MiB floor).
//
// Usage: compaction_figure [ops] [live]   (defaults 40000 100; live: devices, queues with one
// message each, or enrollments that the churn keeps alive)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>

#include "hub/core/c2d_queue.hpp"
#include "hub/core/provisioning/provisioning_service.hpp"
#include "hub/core/registry.hpp"
#include "simnet/sim_node.hpp"

namespace {

using hub::store::CompactionPolicy;

constexpr CompactionPolicy kOff{4, UINT64_MAX};
constexpr int kCheckpoints = 4;

struct Node {
    simnet::Simulator sim{1};
    simnet::SimNetwork net{sim, hub::Random(2)};
    simnet::SimNode node{sim, net, "hub"};
    void run_for(hub::Duration d) { sim.run_until([] { return false; }, sim.now() + d); }
};

struct Sample {
    uint64_t log_bytes = 0;
    uint64_t live_bytes = 0;
    uint64_t compactions = 0;
};

// A workload on one store: step(i) does op i; sample() reads the store's sizes.
struct Workload {
    std::function<void(int)> step;
    std::function<Sample()> sample;
    std::shared_ptr<void> keep;  // the world and store the lambdas use
};

Workload registry_churn(CompactionPolicy policy, int live) {
    auto n = std::make_shared<Node>();
    auto r = std::shared_ptr<hub::Registry>(std::move(*hub::Registry::open(n->node, policy)));
    Workload w;
    w.step = [r, live](int i) {
        hub::Device d;
        d.id = "dev-" + std::to_string(i);
        (void)r->create(d);
        if (i >= live) (void)r->remove("dev-" + std::to_string(i - live), "*");
    };
    w.sample = [r] { return Sample{r->log_bytes(), r->live_bytes(), r->compactions()}; };
    w.keep = std::make_shared<std::pair<std::shared_ptr<Node>, std::shared_ptr<hub::Registry>>>(
        n, r);
    return w;
}

Workload c2d_churn(CompactionPolicy policy, int live) {
    auto n = std::make_shared<Node>();
    hub::C2dConfig config;
    config.store.compaction = policy;
    auto q = std::shared_ptr<hub::C2dQueues>(std::move(*hub::C2dQueues::open(n->node, config)));
    Workload w;
    w.step = [n, q, live](int i) {
        hub::C2dMessage m;
        m.message_id = "m" + std::to_string(i);
        m.ack = hub::AckMode::full;
        m.body = hub::Bytes(128, 'x');
        const std::string device = "device-" + std::to_string(i % live);
        q->enqueue(device, "gen", std::move(m), [](hub::Result<uint64_t>) {});
        n->run_for(hub::Duration::millis(2));
        if (i >= live) {
            const std::string old = "device-" + std::to_string((i - live) % live);
            if (auto locked = q->receive(old)) q->complete(old, locked->lock_token, [](auto) {});
        }
        if (i % 1000 == 999) {  // batches seal after 15 s; the service completes them
            n->run_for(hub::kFeedbackBatchDelay + hub::Duration::seconds(1));
            while (auto f = q->feedback().receive()) {
                q->feedback().complete(f->lock_token, [](auto) {});
            }
        }
        n->run_for(hub::Duration::millis(2));
    };
    w.sample = [q] {
        const hub::C2dStore& s = q->store();
        return Sample{s.log_bytes(), s.live_bytes(), s.compactions()};
    };
    w.keep = std::make_shared<std::pair<std::shared_ptr<Node>, std::shared_ptr<hub::C2dQueues>>>(
        n, q);
    return w;
}

struct NoHubs : hub::provisioning::HubDirectory {
    hub::Registry* registry_for(std::string_view) override { return nullptr; }
};

Workload provisioning_churn(CompactionPolicy policy, int live) {
    using namespace hub::provisioning;
    auto n = std::make_shared<Node>();
    auto hubs = std::make_shared<NoHubs>();
    ProvisioningConfig config;
    config.compaction = policy;
    auto dps = std::shared_ptr<ProvisioningService>(
        std::move(*ProvisioningService::open(n->node, *hubs, config)));
    Workload w;
    w.step = [dps, live](int i) {
        const std::string id = "sensor-" + std::to_string(i % live);
        if (const IndividualEnrollment* e = dps->find_enrollment(id)) {
            IndividualEnrollment next = *e;
            next.reprovision_policy.migrate_device_data = i % 2 == 0;
            (void)dps->update_enrollment(next, "*");
        } else {
            IndividualEnrollment fresh;
            fresh.registration_id = id;
            (void)dps->create_enrollment(fresh);
        }
    };
    w.sample = [dps] {
        return Sample{dps->log_bytes(), dps->snapshot_bytes(), dps->compactions()};
    };
    w.keep = std::make_shared<std::tuple<std::shared_ptr<Node>, std::shared_ptr<NoHubs>,
                                         std::shared_ptr<ProvisioningService>>>(n, hubs, dps);
    return w;
}

void figure(const char* name, const std::function<Workload(CompactionPolicy, int)>& make,
            int ops, int live) {
    Workload on = make(CompactionPolicy{}, live);
    Workload off = make(kOff, live);
    uint64_t peak = 0;
    for (int c = 1; c <= kCheckpoints; ++c) {
        const int until = ops * c / kCheckpoints;
        for (int i = ops * (c - 1) / kCheckpoints; i < until; ++i) {
            on.step(i);
            off.step(i);
            peak = std::max(peak, on.sample().log_bytes);
        }
        const Sample a = on.sample();
        const Sample b = off.sample();
        std::printf("| %s | %d | %.2f | %.2f | %.2f | %.3f | %llu |\n", name, until,
                    static_cast<double>(b.log_bytes) / 1e6, static_cast<double>(a.log_bytes) / 1e6,
                    static_cast<double>(peak) / 1e6, static_cast<double>(a.live_bytes) / 1e6,
                    static_cast<unsigned long long>(a.compactions));
    }
}

}  // namespace

int main(int argc, char** argv) {
    const int ops = argc > 1 ? std::atoi(argv[1]) : 40000;
    const int live = argc > 2 ? std::max(1, std::atoi(argv[2])) : 100;
    std::printf("| store | ops | MB without compaction | MB with | peak MB with | MB live | "
                "compactions |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|\n");
    figure("registry", registry_churn, ops, live);
    figure("c2d", c2d_churn, ops, live);
    figure("provisioning", provisioning_churn, ops, live);
    return 0;
}
