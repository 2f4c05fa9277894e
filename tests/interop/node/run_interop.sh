#!/usr/bin/env bash
# run_interop.sh IOTHUBD_BINARY: the official Azure IoT Node device SDK sends one D2C message to
# a freshly started iothubd over AMQPS. Exits with send_one.js's status (0 = the hub accepted
# the message).
#
# Steps: install the pinned npm packages if any is missing or differs; start iothubd on a free
# port with a temporary data directory (it stops by itself after 60 s in any case); wait for
# "iothubd: ready"; read the device connection string and the CA path from its output; run
# send_one.js; stop iothubd and remove the temporary directory, whatever happens.
#
# Environment: IOTHUBD_EXTRA_ARGS adds flags to iothubd (e.g. --trace); PN_TRACE_FRM=1 makes
# iothubd print every AMQP frame. On failure the server's log is printed.
set -euo pipefail

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 IOTHUBD_BINARY [SCRIPT.js [IOTHUBD_ARGS...]] (default script: send_one.js)" >&2
    exit 2
fi
iothubd=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
script=${2:-send_one.js}
shift $(( $# >= 2 ? 2 : 1 ))
# Default ports: any free ones. Tests of the HTTP transport pass --https-port 443.
iothubd_args=("$@")
[ ${#iothubd_args[@]} -gt 0 ] || iothubd_args=(--https-port 0)
here=$(cd "$(dirname "$0")" && pwd)
ready_timeout_s=30

command -v node >/dev/null || { echo "interop: node is not installed" >&2; exit 2; }
command -v npm >/dev/null || { echo "interop: npm is not installed" >&2; exit 2; }

# Install when any pinned package is missing or at another version (package.json gained
# packages since node_modules was made, or a pin moved).
installed_matches_pins() {
    (cd "$here" && node -e '
        const deps = require("./package.json").dependencies;
        for (const [name, version] of Object.entries(deps)) {
            let found;
            try { found = require("./node_modules/" + name + "/package.json").version; } catch (e) {}
            if (found !== version) process.exit(1);
        }')
}
if ! installed_matches_pins; then
    echo "interop: installing the pinned Azure IoT SDK packages"
    if [ -f "$here/package-lock.json" ]; then
        (cd "$here" && npm ci --no-audit --no-fund)
    else
        (cd "$here" && npm install --no-audit --no-fund --no-save)
    fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/iothubd-interop.XXXXXX")
server_pid=""
cleanup() {
    local status=$?
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ "$status" -ne 0 ] && [ -f "$work/iothubd.log" ]; then
        echo "interop: ---- iothubd output ----" >&2
        cat "$work/iothubd.log" >&2
        echo "interop: ------------------------" >&2
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$iothubd" --data-dir "$work/data" --amqp-port 0 --exit-after-seconds 60 "${iothubd_args[@]}" \
    ${IOTHUBD_EXTRA_ARGS:-} >"$work/iothubd.log" 2>&1 &
server_pid=$!

for _ in $(seq $((ready_timeout_s * 10))); do
    grep -q '^iothubd: ready$' "$work/iothubd.log" && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "interop: iothubd exited before it was ready" >&2
        exit 1
    fi
    sleep 0.1
done
if ! grep -q '^iothubd: ready$' "$work/iothubd.log"; then
    echo "interop: iothubd was not ready after ${ready_timeout_s} s" >&2
    exit 1
fi

conn=$(sed -n 's/^iothubd: device connection string: //p' "$work/iothubd.log" | head -n 1)
service=$(sed -n 's/^iothubd: service connection string: //p' "$work/iothubd.log" | head -n 1)
eventhub=$(sed -n 's/^iothubd: eventhub connection string: //p' "$work/iothubd.log" | head -n 1)
monitor=$(sed -n 's/^iothubd: monitor connection string: //p' "$work/iothubd.log" | head -n 1)
provisioning=$(sed -n 's/^iothubd: provisioning connection string: //p' "$work/iothubd.log" | head -n 1)
id_scope=$(sed -n 's/^iothubd: provisioning id scope: //p' "$work/iothubd.log" | head -n 1)
ca=$(sed -n 's/^iothubd: CA certificate: //p' "$work/iothubd.log" | head -n 1)
if [ -z "$conn" ] || [ -z "$ca" ]; then
    echo "interop: could not read the connection string or CA path from iothubd" >&2
    exit 1
fi
echo "interop: $(grep '^iothubd: AMQPS listening on' "$work/iothubd.log")"
echo "interop: device $(sed -n 's/.*DeviceId=\([^;]*\).*/\1/p' <<<"$conn")"

set +e
# The service, registry and Event Hubs clients have no CA option: Node adds this file to its
# trust store (reference §7).
DEVICE_CONNECTION_STRING="$conn" SERVICE_CONNECTION_STRING="$service" \
    EVENTHUB_CONNECTION_STRING="$eventhub" MONITOR_CONNECTION_STRING="$monitor" CA_CERT_PATH="$ca" \
    PROVISIONING_CONNECTION_STRING="$provisioning" PROVISIONING_ID_SCOPE="$id_scope" \
    NODE_EXTRA_CA_CERTS="$ca" node "$here/$script" "$conn" "$ca"
node_status=$?
set -e
exit "$node_status"
