// Registry memory per idle registered device, and bulk import speed.
//
// Imports N devices (keys generated, as a service creating them would) into a Registry whose
// disk discards what it is given, so the resident-set growth is the registry's memory alone:
// bytes per device = RSS growth / N, read from /proc/self/statm. The target:
// <= 512 bytes per idle registered device, 1M devices well under 1 GB.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "hub/core/registry.hpp"

namespace {

// A disk that accepts everything and keeps nothing: the registry log's bytes are not the
// registry's memory.
class NullDisk : public hub::Disk {
  public:
    hub::Status append(const std::string&, hub::ByteView) override { return {}; }
    hub::Status pwrite(const std::string&, uint64_t, hub::ByteView) override { return {}; }
    hub::Result<hub::Bytes> read(const std::string& name) override {
        return hub::Status(hub::Code::not_found, name);
    }
    hub::Status sync(const std::string&) override { return {}; }
    // Never completes: the registry syncs blockingly, and BenchEnv runs no callbacks.
    uint64_t sync_async(const std::string&, SyncDone) override { return 0; }
    void cancel_sync(uint64_t) override {}
    hub::Status truncate(const std::string&, uint64_t) override { return {}; }
    hub::Status rename(const std::string&, const std::string&) override { return {}; }
    hub::Status remove(const std::string&) override { return {}; }
    std::vector<std::string> list() override { return {}; }
};

class BenchEnv : public hub::Env {
  public:
    hub::Instant now() const override { return hub::Instant{0}; }
    int64_t utc_now_ms() const override { return 1767225600000; }
    hub::TimerId schedule(hub::Instant, std::function<void()>) override { return 0; }
    void cancel(hub::TimerId) override {}
    hub::Random& random() override { return random_; }
    hub::Disk& disk() override { return disk_; }
    hub::Network& network() override { std::abort(); }

  private:
    hub::Random random_{1};
    NullDisk disk_;
};

size_t rss_bytes() {
    std::ifstream statm("/proc/self/statm");
    size_t pages = 0, resident = 0;
    statm >> pages >> resident;
    return resident * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

void BM_RegistryBytesPerDevice(benchmark::State& state) {
    const size_t n = static_cast<size_t>(state.range(0));
    for (auto _ : state) {
        state.PauseTiming();
        BenchEnv env;
        std::vector<hub::Registry::ImportItem> items(n);
        for (size_t i = 0; i < n; ++i) {
            items[i].mode = hub::Registry::ImportMode::create;
            items[i].device.id = "device-" + std::to_string(i);
        }
        auto registry = std::move(*hub::Registry::open(env));
        const size_t before = rss_bytes();
        state.ResumeTiming();
        auto errors = registry->import_devices(std::move(items));
        state.PauseTiming();
        const size_t after = rss_bytes();
        if (!errors.ok() || !errors->empty() || registry->size() != n) {
            state.SkipWithError("import failed");
        }
        state.counters["bytes_per_device"] =
            static_cast<double>(after - before) / static_cast<double>(n);
        registry.reset();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_RegistryBytesPerDevice)->Arg(10'000)->Arg(1'000'000)->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
