#!/usr/bin/env node
// send_one.js: the official Azure IoT Node device SDK (azure-iot-device + azure-iot-device-amqp)
// opens an AMQPS connection to a hub, sends ONE device-to-cloud message and exits.
//
// Usage: node send_one.js [CONNECTION_STRING] [CA_PEM_PATH]
//   or set DEVICE_CONNECTION_STRING and CA_CERT_PATH in the environment.
// Prints "interop: sent" and exits 0 once the hub has accepted the message; prints the error
// and exits 1 otherwise. A hard 30 s timeout guarantees the process always ends.
'use strict';

const fs = require('fs');
const { Client, Message } = require('azure-iot-device');
const { Amqp } = require('azure-iot-device-amqp');

const HARD_TIMEOUT_MS = 30 * 1000;

function fail(what, err) {
  console.error(`interop: ${what}: ${err && err.stack ? err.stack : err}`);
  if (err && err.transportError) {
    console.error(`interop: transport error: ${err.transportError.stack || err.transportError}`);
  }
  process.exit(1);
}

async function main() {
  const connectionString = process.argv[2] || process.env.DEVICE_CONNECTION_STRING;
  const caPath = process.argv[3] || process.env.CA_CERT_PATH;
  if (!connectionString || !caPath) {
    fail('usage', 'node send_one.js CONNECTION_STRING CA_PEM_PATH ' +
         '(or DEVICE_CONNECTION_STRING and CA_CERT_PATH)');
  }
  const ca = fs.readFileSync(caPath, 'utf8');
  const client = Client.fromConnectionString(connectionString, Amqp);
  client.on('error', (err) => fail('client error', err));
  await client.setOptions({ ca });
  await client.open();
  console.log('interop: connected');
  await client.sendEvent(new Message('hello from node'));
  console.log('interop: sent');
  await client.close();
}

const timer = setTimeout(() => fail('timeout', `no result after ${HARD_TIMEOUT_MS} ms`),
                         HARD_TIMEOUT_MS);
main().then(() => {
  clearTimeout(timer);
  process.exit(0);
}, (err) => fail('failed', err));
