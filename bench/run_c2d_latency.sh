#!/usr/bin/env bash
# C2D latency on iothubd over loopback TLS: starts it with N load devices on free ports, runs
# c2d_latency (one service connection, N device connections) and stops it.
# Usage: bench/run_c2d_latency.sh DEVICES WINDOW MESSAGES_PER_DEVICE
set -euo pipefail
source "$(dirname "$0")/iothubd_with_load_devices.sh"
devices=${1:-8}; window=${2:-1}; messages=${3:-500}
start_iothubd "$devices"
policy_key=$(sed -n 's/^iothubd: service connection string: .*SharedAccessKey=\([^;]*\).*$/\1/p' "$work/log")
"$bin/c2d_latency" --address "localhost:$port" --ca "$work/data/ca.pem" --key "$key" \
    --policy-key "$policy_key" --devices "$devices" --window "$window" --messages "$messages"
