# Sourced by the bench scripts: start_iothubd N starts build/bin/iothubd with devices
# load-0..load-(N-1) (key $key) on free ports in a temporary directory, waits until it is
# ready, and sets $bin, $work, $pid and $port. The caller's EXIT trap stops it.
bin=$(cd "$(dirname "${BASH_SOURCE[0]}")/../build/bin" && pwd)
key=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
start_iothubd() {
    local n=$1 args=() i
    work=$(mktemp -d "${TMPDIR:-/tmp}/iothubd-bench.XXXXXX")
    for ((i = 0; i < n; i++)); do args+=(--device "load-$i:$key"); done
    "$bin/iothubd" --data-dir "$work/data" --amqp-port 0 --https-port 0 --exit-after-seconds 900 \
        "${args[@]}" > "$work/log" 2>&1 &
    pid=$!
    trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
    for _ in $(seq 600); do grep -q '^iothubd: ready$' "$work/log" && break; sleep 0.1; done
    port=$(sed -n 's/^iothubd: AMQPS listening on .*:\([0-9]*\)$/\1/p' "$work/log")
}
