#!/usr/bin/env node
// dps_register.js: the official Device Provisioning Service SDKs against iothubd's DPS.
// The service SDK (azure-iot-provisioning-service) creates an individual enrollment; the
// device SDK (azure-iot-provisioning-device + -http, azure-iot-security-symmetric-key)
// registers with its symmetric key over HTTPS (443), gets assignedHub and deviceId, connects
// to that hub with azure-iot-device + AMQP and sends a D2C message. Then the same through an
// enrollment group with a derived key; then a wrong key is refused, and the enrollments are
// deleted.
//
// Environment (set by run_interop.sh): PROVISIONING_CONNECTION_STRING, PROVISIONING_ID_SCOPE,
// SERVICE_CONNECTION_STRING, DEVICE_CONNECTION_STRING (for GatewayHostName, the AMQPS port),
// CA_CERT_PATH, NODE_EXTRA_CA_CERTS. Exits 0 when every step behaved as Azure does.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const { ProvisioningServiceClient } = require('azure-iot-provisioning-service');
const { ProvisioningDeviceClient } = require('azure-iot-provisioning-device');
const { Http: ProvisioningHttp } = require('azure-iot-provisioning-device-http');
const { Amqp: ProvisioningAmqp } = require('azure-iot-provisioning-device-amqp');
const { SymmetricKeySecurityClient } = require('azure-iot-security-symmetric-key');
const { Client, Message } = require('azure-iot-device');
const { Amqp } = require('azure-iot-device-amqp');
const { Registry } = require('azure-iothub');
const { fail, check, run, wrongKey } = require('./common');

async function refusal(promise) {
  try { await promise; } catch (e) { return e; }
  return null;
}

function statusOf(err) {
  return err && err.response && err.response.statusCode;
}

// The key a group member proves: base64(HMAC-SHA256(base64decode(group key), registration id)).
function derivedKey(groupKey, registrationId) {
  return crypto.createHmac('sha256', Buffer.from(groupKey, 'base64')).update(registrationId).digest('base64');
}

async function register(host, idScope, registrationId, key, transport = new ProvisioningHttp()) {
  const security = new SymmetricKeySecurityClient(registrationId, key);
  const client = ProvisioningDeviceClient.create(host, idScope, transport, security);
  return client.register();
}

// Connects to the hub DPS assigned, as the SDK samples do, and sends one D2C message.
async function sendFromAssigned(result, key, ca, what) {
  const gateway = /GatewayHostName=([^;]+)/.exec(process.env.DEVICE_CONNECTION_STRING);
  let conn = `HostName=${result.assignedHub};DeviceId=${result.deviceId};SharedAccessKey=${key}`;
  if (gateway) conn += `;GatewayHostName=${gateway[1]}`;
  const client = Client.fromConnectionString(conn, Amqp);
  await client.setOptions({ ca });
  await client.open();
  await client.sendEvent(new Message(JSON.stringify({ provisioned: what })));
  await client.close();
  check(true, `${what}: D2C over AMQP with the provisioned key accepted`);
}

async function main() {
  const ca = fs.readFileSync(process.env.CA_CERT_PATH, 'utf8');
  const idScope = process.env.PROVISIONING_ID_SCOPE;
  const provisioningString = process.env.PROVISIONING_CONNECTION_STRING;
  if (!idScope || !provisioningString) fail('setup', 'iothubd printed no provisioning connection string or id scope');
  const host = /HostName=([^;]+)/.exec(provisioningString)[1];
  const service = ProvisioningServiceClient.fromConnectionString(provisioningString);
  const registry = Registry.fromConnectionString(process.env.SERVICE_CONNECTION_STRING);
  const suffix = String(process.pid);

  // ---- Individual enrollment.
  const id = 'interop-dps-' + suffix;
  const created = (await service.createOrUpdateIndividualEnrollment({
    registrationId: id,
    attestation: { type: 'symmetricKey' },
    provisioningStatus: 'enabled',
  })).responseBody;
  const key = created.attestation.symmetricKey.primaryKey;
  check(created.registrationId === id && Buffer.from(key, 'base64').length === 32 && created.etag,
        'individual enrollment created with generated keys');
  const got = (await service.getIndividualEnrollment(id)).responseBody;
  check(got.etag === created.etag && got.attestation.symmetricKey.primaryKey === key,
        'getIndividualEnrollment returns it');
  const query = service.createIndividualEnrollmentQuery({ query: 'SELECT * FROM enrollments' }, 100);
  const page = (await query.next()).responseBody;
  check(Array.isArray(page) && page.some((e) => e.registrationId === id) && !query.hasMoreResults,
        'createIndividualEnrollmentQuery lists it in one page');

  const started = Date.now();
  const result = await register(host, idScope, id, key);
  check(result.assignedHub === host && result.deviceId === id && result.status === 'assigned',
        `device registered over HTTPS in ${Date.now() - started} ms (register, one poll after ` +
        `retry-after): assignedHub ${result.assignedHub}, deviceId ${result.deviceId}`);
  const device = (await registry.get(id)).responseBody;
  check(device.authentication.symmetricKey.primaryKey === key, 'the hub has the device with the enrollment key');
  await sendFromAssigned(result, key, ca, 'individual');
  const state = (await service.getDeviceRegistrationState(id)).responseBody;
  check(state.status === 'assigned' && state.assignedHub === host, 'getDeviceRegistrationState says assigned');

  // ---- Enrollment group with a derived key.
  const groupId = 'interop-group-' + suffix;
  const group = (await service.createOrUpdateEnrollmentGroup({
    enrollmentGroupId: groupId,
    attestation: { type: 'symmetricKey' },
  })).responseBody;
  const groupKey = group.attestation.symmetricKey.primaryKey;
  check(group.enrollmentGroupId === groupId && groupKey, 'enrollment group created');
  check((await service.getEnrollmentGroup(groupId)).responseBody.etag === group.etag, 'getEnrollmentGroup returns it');
  const memberId = 'interop-member-' + suffix;
  const memberKey = derivedKey(groupKey, memberId);
  const member = await register(host, idScope, memberId, memberKey);
  check(member.assignedHub === host && member.deviceId === memberId, 'group member registered with its derived key');
  await sendFromAssigned(member, memberKey, ca, 'group member');

  // ---- Over AMQPS: SASL PLAIN as the registration, then register and poll on its links. The
  // AMQP transport dials provisioningHost, whose port (iothubd's AMQPS port) it honours.
  const amqpId = 'interop-dps-amqp-' + suffix;
  const amqpKey = (await service.createOrUpdateIndividualEnrollment({
    registrationId: amqpId, attestation: { type: 'symmetricKey' },
  })).responseBody.attestation.symmetricKey.primaryKey;
  const gateway = /GatewayHostName=([^;]+)/.exec(process.env.DEVICE_CONNECTION_STRING);
  const amqpHost = gateway ? gateway[1] : host;
  const overAmqp = await register(amqpHost, idScope, amqpId, amqpKey, new ProvisioningAmqp());
  check(overAmqp.assignedHub === host && overAmqp.deviceId === amqpId && overAmqp.status === 'assigned',
        `device registered over AMQPS: assignedHub ${overAmqp.assignedHub}, deviceId ${overAmqp.deviceId}`);
  await sendFromAssigned(overAmqp, amqpKey, ca, 'registered over AMQPS');
  const amqpWrong = await refusal(register(amqpHost, idScope, amqpId, wrongKey(amqpKey),
                                           new ProvisioningAmqp()));
  check(amqpWrong !== null, `a wrong key is refused over AMQPS: ${amqpWrong && amqpWrong.name}`);
  await service.deleteIndividualEnrollment(amqpId);

  // ---- Refusals.
  const wrong = await refusal(register(host, idScope, 'interop-member-x' + suffix, groupKey));
  check(wrong && (wrong.name === 'UnauthorizedError' || statusOf(wrong) === 401),
        `the group key itself (not derived) is refused: ${wrong && wrong.name}`);
  const wrongIndividual = await refusal(register(host, idScope, id, wrongKey(key)));
  check(wrongIndividual && (wrongIndividual.name === 'UnauthorizedError' || statusOf(wrongIndividual) === 401),
        `a wrong individual key is refused: ${wrongIndividual && wrongIndividual.name}`);

  // ---- Clean up through the service SDK.
  await service.deleteIndividualEnrollment(id);
  const gone = await refusal(service.getIndividualEnrollment(id));
  check(gone && statusOf(gone) === 404, 'the deleted enrollment is gone (404)');
  await service.deleteEnrollmentGroup(groupId);
  const groupGone = await refusal(service.getEnrollmentGroup(groupId));
  check(groupGone && statusOf(groupGone) === 404, 'the deleted group is gone (404)');
  const badService = ProvisioningServiceClient.fromConnectionString(
    provisioningString.replace(/SharedAccessKey=[^;]+/, 'SharedAccessKey=' + Buffer.alloc(32, 7).toString('base64')));
  const unauthorized = await refusal(badService.getEnrollmentGroup(groupId));
  check(unauthorized && statusOf(unauthorized) === 401, 'a wrong service policy key is refused (401)');
}

run(main, 90 * 1000);
