#!/usr/bin/env bash
# Memory per idle TLS device connection on iothubd: start it with N devices, read its RSS,
# connect N devices (each sends one message, then idles), read the RSS again.
# Usage: bench/run_idle_memory.sh N
set -euo pipefail
bin=$(cd "$(dirname "$0")/../build/bin" && pwd)
n=${1:-1000}
key=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
work=$(mktemp -d "${TMPDIR:-/tmp}/idle-mem.XXXXXX")
args=()
for ((i = 0; i < n; i++)); do args+=(--device "load-$i:$key"); done
"$bin/iothubd" --data-dir "$work/data" --amqp-port 0 --https-port 0 --exit-after-seconds 600 \
    "${args[@]}" > "$work/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 600); do grep -q '^iothubd: ready$' "$work/log" && break; sleep 0.1; done
port=$(sed -n 's/^iothubd: AMQPS listening on .*:\([0-9]*\)$/\1/p' "$work/log")
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
before=$(rss)
"$bin/amqp_load" --address "localhost:$port" --ca "$work/data/ca.pem" --key "$key" \
    --connections "$n" --window 1 --messages 1 --hold-seconds 8 > "$work/load" &
load=$!
sleep 6
after=$(rss)
wait $load
cat "$work/load"
echo "idle connections=$n iothubd_rss_before_kb=$before after_kb=$after per_connection_kb=$(( (after - before) / n ))"
