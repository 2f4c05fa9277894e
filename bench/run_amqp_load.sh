#!/usr/bin/env bash
# Starts iothubd (build/bin) with N load devices on free ports, runs amqp_load against it over
# loopback TLS, and stops it. Usage: bench/run_amqp_load.sh CONNECTIONS WINDOW MESSAGES [BODY]
set -euo pipefail
bin=$(cd "$(dirname "$0")/../build/bin" && pwd)
connections=${1:-8}; window=${2:-32}; messages=${3:-2000}; body=${4:-256}
key=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
work=$(mktemp -d "${TMPDIR:-/tmp}/amqp-load.XXXXXX")
args=()
for ((i = 0; i < connections; i++)); do args+=(--device "load-$i:$key"); done
"$bin/iothubd" --data-dir "$work/data" --amqp-port 0 --https-port 0 --exit-after-seconds 900 \
    "${args[@]}" > "$work/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 300); do grep -q '^iothubd: ready$' "$work/log" && break; sleep 0.1; done
port=$(sed -n 's/^iothubd: AMQPS listening on .*:\([0-9]*\)$/\1/p' "$work/log")
"$bin/amqp_load" --address "localhost:$port" --ca "$work/data/ca.pem" --key "$key" \
    --connections "$connections" --window "$window" --messages "$messages" --body-bytes "$body"
