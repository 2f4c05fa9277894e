#!/usr/bin/env node
// c2d_feedback.js: the official service SDK (azure-iothub Client, AMQPS) sends cloud-to-device
// messages with ack 'full' to the official device SDK (azure-iot-device over AMQPS), which
// completes one, rejects one, abandons one (then completes its redelivery) and never sees one
// that expires. The service's feedback receiver must get exactly the matching records:
// Success, Rejected, Success, Expired.
//
// Environment: DEVICE_CONNECTION_STRING, SERVICE_CONNECTION_STRING, CA_CERT_PATH,
// NODE_EXTRA_CA_CERTS (set by run_interop.sh).
'use strict';

const fs = require('fs');
const { Client: DeviceClient } = require('azure-iot-device');
const { Amqp } = require('azure-iot-device-amqp');
const { Client: ServiceClient } = require('azure-iothub');
const { Message } = require('azure-iot-common');
const { fail, run, collectFeedback } = require('./common');

async function main() {
  const deviceCs = process.env.DEVICE_CONNECTION_STRING;
  const deviceId = /DeviceId=([^;]+)/.exec(deviceCs)[1];
  const gateway = /GatewayHostName=([^;]+)/.exec(deviceCs);
  // The service client dials HostName (port 5671 unless HostName carries one): point it at
  // iothubd's AMQPS port; the hub accepts a host:port audience.
  const serviceCs = process.env.SERVICE_CONNECTION_STRING.replace(
    /HostName=[^;]+/, `HostName=${gateway ? gateway[1] : 'localhost'}`);
  const service = ServiceClient.fromConnectionString(serviceCs);
  await service.open();

  const records = [];
  await collectFeedback(service, records);

  // One message expires before the device ever connects.
  const expiring = new Message('expires');
  expiring.messageId = 'c2d-expire';
  expiring.ack = 'full';
  expiring.expiryTimeUtc = Date.now() + 1500;  // ms since the epoch: absolute-expiry-time
  await service.send(deviceId, expiring);

  // Adding a 'message' listener makes the SDK connect and attach the C2D link at once, so wait
  // for the expiry first: a message the device has locked may still be completed.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  const device = DeviceClient.fromConnectionString(deviceCs, Amqp);
  await device.setOptions({ ca: fs.readFileSync(process.env.CA_CERT_PATH, 'utf8') });
  let abandoned = false;
  device.on('message', (msg) => {
    const id = msg.messageId;
    console.log(`interop: device got ${id} (${msg.data.toString()})`);
    if (id === 'c2d-complete') device.complete(msg, () => {});
    else if (id === 'c2d-reject') device.reject(msg, () => {});
    else if (id === 'c2d-abandon' && !abandoned) { abandoned = true; device.abandon(msg, () => {}); }
    else device.complete(msg, () => {});
  });
  await device.open();
  // One at a time: rhea 1.0.24 (pinned by the SDK) merges dispositions written in one tick
  // into a range without comparing outcomes when the range starts with one delivery
  // (write_dispositions in lib/session.js: `first !== last && ...`), so a complete and a reject
  // settled together both go out as `accepted`. Spacing the messages keeps each on its own.
  for (const id of ['c2d-complete', 'c2d-reject', 'c2d-abandon']) {
    const m = new Message(`payload of ${id}`);
    m.messageId = id;
    m.ack = 'full';
    await service.send(deviceId, m);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }

  const expected = { 'c2d-complete': 'Success', 'c2d-reject': 'Rejected', 'c2d-abandon': 'Success',
                     'c2d-expire': 'Expired' };
  const deadline = Date.now() + 40000;  // feedback is batched: up to 15 s per batch
  while (records.length < 4 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const got = Object.fromEntries(records.map((r) => [r.originalMessageId, r.statusCode]));
  console.log(`interop: feedback ${JSON.stringify(records)}`);
  for (const [id, code] of Object.entries(expected)) {
    if (got[id] !== code) fail('check failed', `feedback for ${id}: ${got[id]} (want ${code})`);
  }
  if (records.length !== 4) fail('check failed', `${records.length} feedback records, want 4`);
  if (!records.every((r) => r.deviceId === deviceId && r.enqueuedTimeUtc && r.deviceGenerationId)) {
    fail('check failed', 'feedback records miss deviceId, deviceGenerationId or enqueuedTimeUtc');
  }
  console.log('interop: C2D complete/reject/abandon/expire gave exactly the matching feedback');
  await device.close();
  await service.close();
}

run(main, 60 * 1000);
