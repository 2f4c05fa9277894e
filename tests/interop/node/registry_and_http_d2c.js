#!/usr/bin/env node
// registry_and_http_d2c.js: the official service SDK (azure-iothub Registry, HTTPS on 443)
// creates, reads, updates, lists and deletes a device on iothubd; the device SDK's HTTP
// transport (azure-iot-device-http) sends one D2C message with it, which the Event Hubs client
// (@azure/event-hubs) reads back; C2D reaches the polling device; a wrong key is refused.
//
// Environment: SERVICE_CONNECTION_STRING, DEVICE_CONNECTION_STRING (for the host), CA_CERT_PATH,
// NODE_EXTRA_CA_CERTS (set by run_interop.sh). Exits 0 when every step behaved as Azure does.
'use strict';

const fs = require('fs');
const { Registry, Client: ServiceClient } = require('azure-iothub');
const { Client, Message } = require('azure-iot-device');
const { Http } = require('azure-iot-device-http');
const { EventHubConsumerClient, earliestEventPosition } = require('@azure/event-hubs');
const { check, run, wrongKey } = require('./common');

// The first event from `deviceId` on the Event Hubs-compatible endpoint.
async function readFirstEvent(deviceId) {
  const consumer = new EventHubConsumerClient('$default', process.env.EVENTHUB_CONNECTION_STRING);
  const event = await new Promise((resolve, reject) => {
    const subscription = consumer.subscribe({
      processEvents: async (events) => {
        const e = events.find((x) => x.systemProperties['iothub-connection-device-id'] === deviceId);
        if (e) subscription.close().then(() => resolve(e), reject);
      },
      processError: async (err) => reject(err),
    }, { startPosition: earliestEventPosition, maxBatchSize: 10, maxWaitTimeInSeconds: 1 });
  });
  await consumer.close();
  return event;
}

async function main() {
  const registry = Registry.fromConnectionString(process.env.SERVICE_CONNECTION_STRING);
  const ca = fs.readFileSync(process.env.CA_CERT_PATH, 'utf8');
  const host = /HostName=([^;]+)/.exec(process.env.DEVICE_CONNECTION_STRING)[1];
  const id = 'interop-http-' + process.pid;

  const created = (await registry.create({ deviceId: id })).responseBody;
  check(created.deviceId === id && created.authentication.symmetricKey.primaryKey.length === 44,
        'create generates keys');
  let refused = null;
  try { await registry.create({ deviceId: id }); } catch (e) { refused = e; }
  check(refused && refused.name === 'DeviceAlreadyExistsError', 'creating it again is refused (409)');
  const got = (await registry.get(id)).responseBody;
  check(got.etag === created.etag, 'get returns the device');
  const list = (await registry.list()).responseBody;
  check(list.some((d) => d.deviceId === id), 'list includes it');

  const key = created.authentication.symmetricKey.primaryKey;
  // azure-iot-device-http's setOptions calls back only when a receive policy is included
  // (reference §9), so always give one.
  const options = { ca, http: { receivePolicy: { interval: 1 } } };
  const client = Client.fromConnectionString(`HostName=${host};DeviceId=${id};SharedAccessKey=${key}`, Http);
  await client.setOptions(options);
  const d2c = new Message('hello over https');
  d2c.properties.add('via', 'http');
  await client.sendEvent(d2c);
  check(true, 'device D2C over HTTPS accepted');
  const event = await readFirstEvent(id);
  const body = Buffer.isBuffer(event.body) ? event.body.toString() : String(event.body);
  check(body === 'hello over https' && event.properties.via === 'http',
        'the HTTPS message reads back through the Event Hubs client with its property');

  // C2D to a device that polls over HTTPS: the service sends over AMQPS (iothubd's port, as
  // GatewayHostName in the device connection string gives it), the device GETs, completes.
  const gateway = /GatewayHostName=([^;]+)/.exec(process.env.DEVICE_CONNECTION_STRING);
  const service = ServiceClient.fromConnectionString(process.env.SERVICE_CONNECTION_STRING.replace(
    /HostName=[^;]+/, `HostName=${gateway ? gateway[1] : host}`));
  await service.open();
  const c2d = new Message('to the polling device');
  c2d.messageId = 'http-c2d-1';
  c2d.properties.add('color', 'blue');
  const received = new Promise((resolve) => client.on('message', (msg) => {
    client.complete(msg, (err) => resolve({ msg, err }));
  }));
  await service.send(id, c2d);
  const { msg, err } = await received;
  check(!err && msg.messageId === 'http-c2d-1' && msg.data.toString() === 'to the polling device',
        'C2D received over HTTPS and completed');
  await service.close();
  let count = -1;
  for (let i = 0; i < 20 && count !== 0; i++) {
    count = (await registry.get(id)).responseBody.cloudToDeviceMessageCount;
    if (count !== 0) await new Promise((r) => setTimeout(r, 100));
  }
  check(count === 0, 'the completed message left the queue (cloudToDeviceMessageCount 0)');
  client.removeAllListeners('message');

  const wrong = Client.fromConnectionString(
    `HostName=${host};DeviceId=${id};SharedAccessKey=${wrongKey(key)}`, Http);
  await wrong.setOptions(options);
  let unauthorized = null;
  try { await wrong.sendEvent(new Message('nope')); } catch (e) { unauthorized = e; }
  check(unauthorized && unauthorized.name === 'UnauthorizedError',
        `a wrong key is refused (401): ${unauthorized ? unauthorized.name : 'the send succeeded'}`);

  got.status = 'disabled';
  const updated = (await registry.update(got)).responseBody;
  check(updated.status === 'disabled' && updated.etag !== got.etag, 'update changes status and etag');
  let disabled = null;
  try { await client.sendEvent(new Message('disabled')); } catch (e) { disabled = e; }
  check(disabled !== null, 'a disabled device is refused');

  await registry.delete(id);
  let missing = null;
  try { await registry.get(id); } catch (e) { missing = e; }
  check(missing && missing.name === 'DeviceNotFoundError', 'get after delete is DeviceNotFound (404)');
}

run(main, 60 * 1000);
