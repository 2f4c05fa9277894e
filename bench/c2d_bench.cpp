// C2D round trips in the simulator (memory disk): enqueue -> durable -> receive -> complete ->
// durable, for a batch of messages across 1000 devices per iteration. Measures the core's
// C2D path (queues, locks, log, group commit) without any protocol.
#include <benchmark/benchmark.h>

#include "hub/core/c2d_queue.hpp"
#include "simnet/sim_node.hpp"

namespace {

void BM_C2dEnqueueReceiveComplete(benchmark::State& state) {
    const int64_t batch = state.range(0);
    simnet::Simulator sim(1);
    simnet::SimNetwork net(sim, hub::Random(2));
    simnet::SimNode node(sim, net, "hub");
    auto queues = std::move(*hub::C2dQueues::open(node, hub::C2dConfig{}));
    std::vector<std::string> devices;
    for (int d = 0; d < 1000; ++d) devices.push_back("device-" + std::to_string(d));
    int64_t completed = 0;
    int64_t n = 0;
    const auto settle = [&] { sim.run_until([] { return false; }, sim.now() + hub::Duration::millis(5)); };
    for (auto _ : state) {
        for (int64_t i = 0; i < batch; ++i) {
            hub::C2dMessage m;
            m.message_id = "m" + std::to_string(n + i);
            m.body = hub::Bytes(128, 'x');
            queues->enqueue(devices[(n + i) % devices.size()], "gen", std::move(m), [](auto) {});
        }
        settle();
        for (int64_t i = 0; i < batch; ++i) {
            const std::string& device = devices[(n + i) % devices.size()];
            std::optional<hub::LockedMessage> locked = queues->receive(device);
            if (!locked) {
                state.SkipWithError("nothing to receive");
                return;
            }
            queues->complete(device, locked->lock_token, [&completed](hub::Status s) {
                completed += s.ok() ? 1 : 0;
            });
        }
        settle();
        n += batch;
    }
    if (completed != n) state.SkipWithError("not every message was completed");
    state.SetItemsProcessed(n);
}
BENCHMARK(BM_C2dEnqueueReceiveComplete)->Arg(64)->Arg(1024);

}  // namespace

BENCHMARK_MAIN();
