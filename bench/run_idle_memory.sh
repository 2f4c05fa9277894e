#!/usr/bin/env bash
# Memory per idle TLS device connection on iothubd: start it with N devices, read its RSS,
# connect N devices (each sends one message, then idles), read the RSS again.
# Usage: bench/run_idle_memory.sh N
set -euo pipefail
source "$(dirname "$0")/iothubd_with_load_devices.sh"
n=${1:-1000}
start_iothubd "$n"
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
