// D2C append + group commit in the simulator (memory disk): the hub core's durable ingest path
// without any protocol. Each iteration appends a batch of 256-byte messages from many devices
// and runs virtual time until the group commit acknowledged all of them.
#include <benchmark/benchmark.h>

#include "hub/core/d2c_log.hpp"
#include "simnet/sim_node.hpp"

namespace {

constexpr int64_t kEventsBeforeReset = 200'000;

void BM_D2cAppendCommit(benchmark::State& state) {
    const int64_t batch = state.range(0);
    simnet::Simulator sim(1);
    simnet::SimNetwork net(sim, hub::Random(2));
    simnet::SimNode node(sim, net, "hub");
    hub::D2cLogConfig config;
    config.partitions = 4;
    auto log = std::move(*hub::D2cLog::open(node, config));
    std::vector<std::string> devices;
    for (int d = 0; d < 1000; ++d) {
        devices.push_back("device-" + std::to_string(d));
    }
    const hub::Bytes body(256, 'x');
    int64_t acknowledged = 0;
    uint64_t n = 0;
    int64_t since_reset = 0;
    for (auto _ : state) {
        for (int64_t i = 0; i < batch; ++i, ++n) {
            log->append(hub::D2cMessage{devices[n % devices.size()], "m" + std::to_string(n), body,
                                        {}},
                        [&acknowledged](hub::Result<hub::EventPosition> r) {
                            acknowledged += r.ok() ? 1 : 0;
                        });
        }
        sim.run_until([&] { return log->uncommitted_count() == 0; },
                      sim.now() + hub::Duration::seconds(1));
        since_reset += batch;
        if (since_reset >= kEventsBeforeReset) {
            // Keep memory flat: this measures ingest, not a log growing for minutes.
            state.PauseTiming();
            log.reset();
            for (const std::string& f : node.sim_disk().list()) {
                (void)node.sim_disk().remove(f);
            }
            log = std::move(*hub::D2cLog::open(node, config));
            since_reset = 0;
            state.ResumeTiming();
        }
    }
    if (acknowledged != static_cast<int64_t>(n)) {
        state.SkipWithError("not every append was acknowledged");
    }
    state.SetItemsProcessed(static_cast<int64_t>(n));
    state.SetBytesProcessed(static_cast<int64_t>(n) * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_D2cAppendCommit)->Arg(1)->Arg(64)->Arg(1024);

}  // namespace

BENCHMARK_MAIN();
