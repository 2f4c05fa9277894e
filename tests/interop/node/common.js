// common.js: what every interop script needs: a hard time limit, failing loudly, and
// printing each check that held. Usage:
//   const { fail, check, run } = require('./common');
//   run(main, 60 * 1000);  // exits 0 when main resolves, 1 on any failure or the time limit
'use strict';

function fail(what, err) {
  console.error(`interop: ${what}: ${err && err.stack ? err.stack : err}`);
  if (err && err.transportError) {
    console.error(`interop: transport error: ${err.transportError.stack || err.transportError}`);
  }
  process.exit(1);
}

function check(condition, what) {
  if (!condition) fail('check failed', what);
  console.log(`interop: ok: ${what}`);
}

// Runs the async `main`, bounded by `hardTimeoutMs` so the process always ends.
function run(main, hardTimeoutMs) {
  const timer = setTimeout(() => fail('timeout', `no result after ${hardTimeoutMs} ms`),
                           hardTimeoutMs);
  main().then(() => { clearTimeout(timer); process.exit(0); }, (err) => fail('failed', err));
}

// A key that differs from `key` for certain: its first character changed. (Replacing it with a
// fixed character would give back the same key whenever the key starts with that character.)
function wrongKey(key) {
  return (key[0] === 'A' ? 'B' : 'A') + key.slice(1);
}

// Opens the service's feedback receiver: every record of every feedback message is pushed
// onto `records`, and the message is completed.
async function collectFeedback(service, records) {
  const receiver = await new Promise((resolve, reject) =>
    service.getFeedbackReceiver((err, r) => (err ? reject(err) : resolve(r))));
  receiver.on('message', (msg) => {
    for (const r of JSON.parse(msg.data.toString())) records.push(r);
    receiver.complete(msg, () => {});
  });
  return receiver;
}

module.exports = { fail, check, run, wrongKey, collectFeedback };
