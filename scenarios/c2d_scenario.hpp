// The C2D at-least-once scenario: a simulated service sends cloud-to-device messages over AMQP to N
// simulated devices through a simulated hub, and reads the feedback, while a nemesis resets
// connections, partitions and clogs links (the service's too) and crashes/restarts the hub, and
// devices go offline for a while.
//
// Messages: ids "c2d-{device}/{n}"; ack modes none/positive/negative/full (or no property); expiry:
// most an hour away, some a few seconds (they expire while their device is offline or cut off),
// some the hub's default TTL. Devices settle by a plan fixed per message: complete, reject, abandon
// 1-3 times then complete, or abandon every time (dead-lettered with DeliveryCountExceeded at the
// hub's max delivery count, 10). The service reconnects and resends what the hub never settled, so
// a message id can be enqueued twice (two copies, two outcomes).
//
// Phases: (1) safety: sends and faults within the send window; (2) liveness: faults stop; every
// send must be settled, every queue and the feedback queue drained before a deadline; (3) check:
// the hub is crashed once more and restarted, and the checker reads its recovered C2D log (every
// enqueue and every outcome, in order; compaction is off so the log is the whole history) and
// proves, per copy (sequence number) of each message id:
//   - nothing the hub accepted is lost: every accepted id has at least one enqueued copy, and every
//     copy is one the service sent, to that device, with the ack and expiry it sent;
//   - every copy reached exactly one outcome (completed, rejected, expired,
//     delivery-count-exceeded; never purged), one its device's plan allows, and expired only once
//     its expiry had passed;
//   - no copy was handed to a device (hub trace c2d.deliver) at or after its expiry;
//   - feedback: the (originalMessageId, statusCode) pairs the service received, deduplicated
//     (feedback is at-least-once), are exactly those of copies whose outcome their ack asks for,
//     each with the right deviceId: no receipt for ack none, none for an unknown id, no second
//     status for one id unless two copies had those two outcomes.
// Deterministic: one seed fixes the run, like the D2C scenario.
#pragma once

#include "scenarios/scenario.hpp"

namespace scenarios {

ScenarioResult run_c2d_scenario(const ScenarioConfig& config);

}  // namespace scenarios
