#!/usr/bin/env node
// foreign_token.js: a token is good for the device it names and no other. With the official
// device SDK over AMQPS: device A's connection string sends (the control); a client that
// claims to be device B but carries a SAS token signed for A is refused, and B's queue of
// accepted D2C messages stays empty.
//
// iothubd must know both devices (run_interop.sh ... foreign_token.js --https-port 0
// --device interop-a --device interop-b); DEVICE_CONNECTION_STRING is interop-a's.
'use strict';

const fs = require('fs');
const { Client, Message, SharedAccessSignature,
        SharedAccessSignatureAuthenticationProvider } = require('azure-iot-device');
const { Amqp } = require('azure-iot-device-amqp');
const { check, run } = require('./common');

function part(cs, key) {
  const m = new RegExp(`(?:^|;)${key}=([^;]+)`).exec(cs);
  return m ? m[1] : undefined;
}

async function main() {
  const own = process.env.DEVICE_CONNECTION_STRING;
  const ca = fs.readFileSync(process.env.CA_CERT_PATH, 'utf8');
  const host = part(own, 'HostName');
  const gateway = part(own, 'GatewayHostName');
  check(part(own, 'DeviceId') === 'interop-a', 'the first device is interop-a');

  const control = Client.fromConnectionString(own, Amqp);
  await control.setOptions({ ca });
  await control.open();
  await control.sendEvent(new Message('from a, as a'));
  check(true, "a device's own key sends");
  await control.close();

  const expiry = Math.floor(Date.now() / 1000) + 3600;
  const tokenForA = SharedAccessSignature.create(host, 'interop-a', part(own, 'SharedAccessKey'),
                                                 expiry).toString();
  // A SAS connection string takes the device id from the token itself, so the impostor uses
  // the SDK's public authentication-provider API to claim interop-b with interop-a's token.
  const impostor = Client.fromAuthenticationProvider(
    new SharedAccessSignatureAuthenticationProvider({
      host, gatewayHostName: gateway, deviceId: 'interop-b', sharedAccessSignature: tokenForA }),
    Amqp);
  impostor.on('error', () => {});
  await impostor.setOptions({ ca });
  let refused = null;
  try {
    await impostor.open();
    await impostor.sendEvent(new Message('from a, as b'));
  } catch (e) {
    refused = e;
  }
  check(refused !== null, `a token for interop-a does not let a client send as interop-b (${refused && refused.name})`);
  await impostor.close().catch(() => {});
}

run(main, 60 * 1000);
