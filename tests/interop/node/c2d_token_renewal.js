#!/usr/bin/env node
// c2d_token_renewal.js: the official device SDK (azure-iot-device over AMQPS) renews its SAS
// token on $cbs while it holds C2D messages it has not settled yet, then rejects them all. The
// hub must take the renewal's settlement for what it is: every message ends Rejected. (The hub
// once matched C2D locks by delivery tag alone, and the $cbs reply sender numbers its
// deliveries like the C2D sender does, so the device's `accepted` for a renewal reply completed
// the C2D message with the same tag: a false Success.)
//
// Environment: DEVICE_CONNECTION_STRING, SERVICE_CONNECTION_STRING, CA_CERT_PATH,
// NODE_EXTRA_CA_CERTS (set by run_interop.sh).
'use strict';

const fs = require('fs');
const { Client: DeviceClient, SharedAccessKeyAuthenticationProvider } = require('azure-iot-device');
const { Amqp } = require('azure-iot-device-amqp');
const { Client: ServiceClient } = require('azure-iothub');
const { Message } = require('azure-iot-common');
const { check, run, collectFeedback } = require('./common');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const COUNT = 6;
// Tokens valid 30 s, renewed 25 s before they lapse: a put-token on $cbs every 5 s.
const TOKEN_VALID_S = 30;
const RENEWAL_MARGIN_S = 25;

async function main() {
  const deviceCs = process.env.DEVICE_CONNECTION_STRING;
  const deviceId = /DeviceId=([^;]+)/.exec(deviceCs)[1];
  const gateway = /GatewayHostName=([^;]+)/.exec(deviceCs);
  const service = ServiceClient.fromConnectionString(process.env.SERVICE_CONNECTION_STRING.replace(
    /HostName=[^;]+/, `HostName=${gateway ? gateway[1] : 'localhost'}`));
  await service.open();
  const records = [];
  await collectFeedback(service, records);

  const auth = SharedAccessKeyAuthenticationProvider.fromConnectionString(
    deviceCs, TOKEN_VALID_S, RENEWAL_MARGIN_S);
  const device = DeviceClient.fromAuthenticationProvider(auth, Amqp);
  await device.setOptions({ ca: fs.readFileSync(process.env.CA_CERT_PATH, 'utf8') });
  const held = [];
  device.on('message', (msg) => held.push(msg));
  await device.open();
  const ids = [];
  for (let i = 0; i < COUNT; i++) {
    const m = new Message(`held ${i}`);
    m.messageId = `c2d-held-${i}`;
    m.ack = 'full';
    ids.push(m.messageId);
    await service.send(deviceId, m);
  }
  const renewals = [];
  auth.on('newTokenAvailable', () => renewals.push(Date.now()));
  // Hold every message unsettled across at least one renewal (the hub locks them for a minute).
  const until = Date.now() + 15000;
  while ((held.length < COUNT || renewals.length < 2) && Date.now() < until) await sleep(100);
  check(held.length === COUNT, `the device holds all ${COUNT} messages unsettled`);
  check(renewals.length >= 2, `the device renewed its token meanwhile (${renewals.length} times)`);
  // One at a time: rhea merges dispositions written in one tick (see c2d_feedback.js).
  for (const msg of held) {
    await new Promise((resolve) => device.reject(msg, () => resolve()));
    await sleep(300);
  }
  const deadline = Date.now() + 40000;  // feedback is batched: up to 15 s per batch
  while (records.length < COUNT && Date.now() < deadline) await sleep(250);
  console.log(`interop: feedback ${JSON.stringify(records)}`);
  const got = Object.fromEntries(records.map((r) => [r.originalMessageId, r.statusCode]));
  for (const id of ids) check(got[id] === 'Rejected', `${id} ends Rejected (got ${got[id]})`);
  check(records.length === COUNT, `exactly ${COUNT} feedback records`);
  await device.close();
  await service.close();
}

run(main, 90 * 1000);
