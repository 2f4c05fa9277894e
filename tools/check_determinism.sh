#!/usr/bin/env bash
# Fails if sim-path code (everything but hub/server and main programs) reaches the real world
# directly: wall clocks, unseeded or std randomness, std distributions, threads, sockets, files.
# Such code must go through hub/env's Env instead (see ../shared/DESIGN.md, "sans-IO").
set -u
root=${1:-.}
cd "$root" || exit 2
pattern='system_clock|steady_clock|high_resolution_clock|std::random_device|[^a-z_]rand\(|srand\(|std::thread|std::async|std::mutex|pthread_|[a-z_]+_distribution<|time\(NULL\)|time\(nullptr\)|gettimeofday|clock_gettime|sleep_for|usleep|[^a-z_]socket\(|asio::ip::|io_context|asio::ssl|asio::steady_timer|asio::deadline_timer|asio::system_timer|signal_set|asio::post|fopen|std::ifstream|std::ofstream|std::fstream|O_CREAT|O_RDONLY|O_WRONLY|O_RDWR|fsync\(|fdatasync\(|getenv'
hits=$(grep -rnE "$pattern" hub simnet conformance scenarios --include='*.cpp' --include='*.hpp' \
       | grep -v '^hub/server/' | grep -v '_main\.cpp:' || true)
if [ -n "$hits" ]; then
    echo "determinism lint: sim-path code touches the real world directly; route it through hub/env:"
    echo "$hits"
    exit 1
fi
echo "determinism lint: clean ($(grep -rlE . hub simnet conformance scenarios --include='*.cpp' --include='*.hpp' | grep -vc '^hub/server/') files checked)"
