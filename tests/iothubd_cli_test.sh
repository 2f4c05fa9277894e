#!/usr/bin/env bash
# iothubd's command line: a JSON config file applies, flags add to it, and bad input exits 2
# with a message naming the problem.
set -u
iothubd=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/iothubd-cli.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

printf '{"amqp-port": 0, "https-port": 0, "device": ["cfg-1", "cfg-2"], "exit-after-seconds": 1}' \
    > "$work/good.json"
out=$("$iothubd" --data-dir "$work/data" --config "$work/good.json" --device cli-1 2>&1) ||
    fail "good config: exit $? ($out)"
for id in cfg-1 cfg-2 cli-1; do
    grep -q "DeviceId=$id;" <<<"$out" || fail "device $id missing from: $out"
done
[ -f "$work/data/connection-strings.json" ] || fail "connection-strings.json not written"
[ -f "$work/data/ca.pem" ] || fail "ca.pem not written"
# The Device Provisioning Service: its connection string and id scope, printed and handed off.
grep -q "^iothubd: provisioning id scope: 0ne00000000$" <<<"$out" || fail "no id scope in: $out"
dps="HostName=localhost;SharedAccessKeyName=provisioningserviceowner;SharedAccessKey="
grep -q "^iothubd: provisioning connection string: $dps" <<<"$out" ||
    fail "no provisioning connection string in: $out"
grep -q "\"provisioning\": \"$dps" "$work/data/connection-strings.json" ||
    fail "connection-strings.json lacks provisioning"
grep -q '"idScope": "0ne00000000"' "$work/data/connection-strings.json" ||
    fail "connection-strings.json lacks idScope"
key=$(sed -n 's/.*"provisioning": ".*SharedAccessKey=\([^"]*\)".*/\1/p' "$work/data/connection-strings.json")
printf '{"id-scope": "0neCONFIG1", "amqp-port": 0, "https-port": 0, "exit-after-seconds": 1}' \
    > "$work/scope.json"
out=$("$iothubd" --data-dir "$work/data" --config "$work/scope.json" 2>&1) ||
    fail "id-scope config: exit $? ($out)"
grep -q "^iothubd: provisioning id scope: 0neCONFIG1$" <<<"$out" || fail "config id-scope ignored: $out"
grep -q "SharedAccessKey=$key$" <<<"$out" || fail "the provisioning key changed across restarts: $out"
out=$("$iothubd" --id-scope "0ne/bad" 2>&1); code=$?
[ "$code" -eq 2 ] && grep -q "id-scope wants" <<<"$out" || fail "bad id scope: exit $code ($out)"
"$iothubd" --help | grep -q -- "--id-scope" || fail "--help does not teach --id-scope"

printf '{"amqp-prot": 1}' > "$work/typo.json"
out=$("$iothubd" --config "$work/typo.json" 2>&1); code=$?
[ "$code" -eq 2 ] && grep -q "unknown key 'amqp-prot'" <<<"$out" || fail "typo: exit $code ($out)"
out=$("$iothubd" --c2d-max-deliveries 500 2>&1); code=$?
[ "$code" -eq 2 ] && grep -q "between 1 and 100" <<<"$out" || fail "range: exit $code ($out)"
out=$("$iothubd" --d2c-retention-hours 0 2>&1); code=$?
[ "$code" -eq 2 ] && grep -q "between 1 and 168" <<<"$out" || fail "retention: exit $code ($out)"
out=$("$iothubd" --log-format yaml 2>&1); code=$?
[ "$code" -eq 2 ] && grep -q "text or json" <<<"$out" || fail "log format: exit $code ($out)"
# Structured logs: every trace line is a JSON object; limits come from the config file too.
printf '{"amqp-port": 0, "https-port": 0, "exit-after-seconds": 1, "trace": true, "log-format": "json", "d2c-retention-mb": 8, "write-stall-seconds": 5}' \
    > "$work/json-log.json"
out=$("$iothubd" --data-dir "$work/data2" --config "$work/json-log.json" 2>&1) ||
    fail "json log config: exit $? ($out)"
grep -q '^{"detail":"device1","event":"registry.create","time":"' <<<"$out" ||
    fail "no JSON trace lines in: $out"
if grep -q '^trace ' <<<"$out"; then fail "text trace lines with --log-format json: $out"; fi
# A fixed policy key: the service connection string carries it; an unknown policy fails.
fixed=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
out=$("$iothubd" --data-dir "$work/data3" --amqp-port 0 --https-port 0 --exit-after-seconds 1 \
      --policy-key "iothubowner:$fixed" 2>&1) || fail "policy key: exit $? ($out)"
grep -q "service connection string: .*SharedAccessKeyName=iothubowner;SharedAccessKey=$fixed$" <<<"$out" ||
    fail "the fixed iothubowner key is not in: $out"
out=$("$iothubd" --data-dir "$work/data4" --amqp-port 0 --https-port 0 --exit-after-seconds 1 \
      --policy-key "nobody:$fixed" 2>&1); code=$?
[ "$code" -ne 0 ] && grep -q "no shared access policy 'nobody'" <<<"$out" || fail "unknown policy: exit $code ($out)"
out=$("$iothubd" --config "$work/missing.json" 2>&1); code=$?
[ "$code" -eq 2 ] && grep -q "cannot read config file" <<<"$out" || fail "missing: exit $code ($out)"
echo "iothubd cli: config file, flags on top, and clear errors"
