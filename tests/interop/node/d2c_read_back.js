#!/usr/bin/env node
// d2c_read_back.js: the official device SDK sends D2C messages over AMQPS with application
// properties; the official Event Hubs client (@azure/event-hubs) reads them back from iothubd's
// Event Hubs-compatible endpoint: partition ids through $management, then events from the
// earliest position, with the body, the properties and the iothub-connection-device-id
// system property.
//
// Environment: DEVICE_CONNECTION_STRING, EVENTHUB_CONNECTION_STRING, CA_CERT_PATH,
// NODE_EXTRA_CA_CERTS (set by run_interop.sh).
'use strict';

const fs = require('fs');
const { Client, Message } = require('azure-iot-device');
const { Amqp } = require('azure-iot-device-amqp');
const { EventHubConsumerClient, earliestEventPosition } = require('@azure/event-hubs');

const COUNT = 5;
const HARD_TIMEOUT_MS = 60 * 1000;
const timer = setTimeout(() => fail('timeout', `no result after ${HARD_TIMEOUT_MS} ms`), HARD_TIMEOUT_MS);

function fail(what, err) {
  console.error(`interop: ${what}: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
}

async function send(deviceId) {
  const client = Client.fromConnectionString(process.env.DEVICE_CONNECTION_STRING, Amqp);
  await client.setOptions({ ca: fs.readFileSync(process.env.CA_CERT_PATH, 'utf8') });
  await client.open();
  for (let i = 0; i < COUNT; i++) {
    const m = new Message(JSON.stringify({ n: i }));
    m.messageId = `read-back-${i}`;
    m.properties.add('seq', String(i));
    await client.sendEvent(m);
  }
  await client.close();
  console.log(`interop: sent ${COUNT} messages as ${deviceId}`);
}

async function readBack(deviceId) {
  const consumer = new EventHubConsumerClient('$default', process.env.EVENTHUB_CONNECTION_STRING);
  const ids = await consumer.getPartitionIds();
  console.log(`interop: partition ids ${JSON.stringify(ids)}`);
  const seen = new Map();
  await new Promise((resolve, reject) => {
    const subscription = consumer.subscribe({
      processEvents: async (events) => {
        for (const e of events) {
          if (e.systemProperties['iothub-connection-device-id'] !== deviceId) continue;
          seen.set(e.properties.seq, e);
        }
        if (seen.size === COUNT) subscription.close().then(resolve, reject);
      },
      processError: async (err) => reject(err),
    }, { startPosition: earliestEventPosition, maxBatchSize: 10, maxWaitTimeInSeconds: 1 });
  });
  await consumer.close();
  for (let i = 0; i < COUNT; i++) {
    const e = seen.get(String(i));
    const body = Buffer.isBuffer(e.body) ? JSON.parse(e.body.toString()) : e.body;
    if (!e || body.n !== i || e.messageId !== `read-back-${i}` ||
        !/^[0-9]{18}$/.test(e.systemProperties['iothub-connection-auth-generation-id'] || '')) {
      fail('check failed', `event ${i}: ${JSON.stringify(e && { body: e.body, id: e.messageId })}`);
    }
  }
  console.log(`interop: read back all ${COUNT} events with bodies, properties and device id`);
}

// One attempt with a wrong key: the hub refuses the token and records a connection error.
async function failOnce() {
  const cs = process.env.DEVICE_CONNECTION_STRING.replace(/SharedAccessKey=./, 'SharedAccessKey=B');
  const client = Client.fromConnectionString(cs, Amqp);
  await client.setOptions({ ca: fs.readFileSync(process.env.CA_CERT_PATH, 'utf8') });
  let refused = false;
  try { await client.open(); } catch (e) { refused = true; }
  if (!refused) fail('check failed', 'a wrong key was accepted');
  try { await client.close(); } catch (e) { /* already closed */ }
}

// The connection-monitoring events, read with the same Event Hubs client: the seed's example
// of counting a device's failed connection attempts needs exactly this.
async function readMonitor(deviceId) {
  const consumer = new EventHubConsumerClient('$default', process.env.MONITOR_CONNECTION_STRING);
  const types = new Set();
  await new Promise((resolve, reject) => {
    const subscription = consumer.subscribe({
      processEvents: async (events) => {
        for (const e of events) {
          const body = Buffer.isBuffer(e.body) ? JSON.parse(e.body.toString()) : e.body;
          if (body.data.deviceId === deviceId) types.add(body.eventType);
        }
        if (types.size === 3) subscription.close().then(resolve, reject);
      },
      processError: async (err) => reject(err),
    }, { startPosition: earliestEventPosition, maxBatchSize: 50, maxWaitTimeInSeconds: 1 });
  });
  await consumer.close();
  console.log(`interop: monitor events for ${deviceId}: ${[...types].sort().join(', ')}`);
}

async function main() {
  const deviceId = /DeviceId=([^;]+)/.exec(process.env.DEVICE_CONNECTION_STRING)[1];
  await failOnce();
  await send(deviceId);
  await readBack(deviceId);
  await readMonitor(deviceId);
}

main().then(() => { clearTimeout(timer); process.exit(0); }, (err) => fail('failed', err));
