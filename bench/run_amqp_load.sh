#!/usr/bin/env bash
# Starts iothubd (build/bin) with N load devices on free ports, runs amqp_load against it over
# loopback TLS, and stops it. Usage: bench/run_amqp_load.sh CONNECTIONS WINDOW MESSAGES [BODY]
set -euo pipefail
source "$(dirname "$0")/iothubd_with_load_devices.sh"
connections=${1:-8}; window=${2:-32}; messages=${3:-2000}; body=${4:-256}
start_iothubd "$connections"
"$bin/amqp_load" --address "localhost:$port" --ca "$work/data/ca.pem" --key "$key" \
    --connections "$connections" --window "$window" --messages "$messages" --body-bytes "$body"
