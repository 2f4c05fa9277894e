#!/usr/bin/env bash
# Starts the real iothubd binary on a free loopback port and runs hubconform against it over
# TLS. Exits with hubconform's status. The server stops by itself after 120 s in any case.
set -euo pipefail
iothubd=$1
hubconform=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/hubconform-iothubd.XXXXXX")
pid=""
cleanup() {
    status=$?
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    [ "$status" -ne 0 ] && [ -f "$work/log" ] && { echo "---- iothubd output ----"; cat "$work/log"; }
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
"$iothubd" --data-dir "$work/data" --amqp-port 0 --https-port 0 --exit-after-seconds 120 >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 300); do
    grep -q '^iothubd: ready$' "$work/log" && break
    kill -0 "$pid" 2>/dev/null || { echo "iothubd exited early"; exit 1; }
    sleep 0.1
done
conn=$(sed -n 's/^iothubd: device connection string: //p' "$work/log" | head -n 1)
service=$(sed -n 's/^iothubd: service connection string: //p' "$work/log" | head -n 1)
ca=$(sed -n 's/^iothubd: CA certificate: //p' "$work/log" | head -n 1)
[ -n "$conn" ] && [ -n "$service" ] && [ -n "$ca" ] || { echo "iothubd printed no connection string"; exit 1; }
# Feedback is batched for up to 15 s (reference §3): the C2D cases need more than that.
"$hubconform" --connection-string "$conn" --service-connection-string "$service" --ca "$ca" \
    --messages 50 --timeout-seconds 25
