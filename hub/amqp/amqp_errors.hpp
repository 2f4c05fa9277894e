// AMQP error conditions the hub sends, as the Azure SDKs translate them (reference §1.6; Node:
// common/transport/amqp/src/amqp_common_errors.ts):
//   amqp:unauthorized-access        UnauthorizedError         no or lapsed token for the identity
//   amqp:not-found                  DeviceNotFoundError       unknown address or device
//   amqp:resource-limit-exceeded    IotHubQuotaExceededError  C2D queue full, link/reader caps
//   amqp:link:message-size-exceeded MessageTooLargeError      a D2C/C2D message over its limit
//   com.microsoft:message-lock-lost DeviceMessageLockLostError settling a lapsed C2D lock
//   com.microsoft:argument-error    ArgumentError             a malformed request
//   amqp:internal-error             InternalServerError       the store failed
// A rejected transfer carries its condition in the disposition's `error` field (AMQP 1.0
// §3.4.3), which the SDK hands to this translation (sender_link.ts: remote_state.error).
//
// Example:
//   reject_delivery(d, error_for(Status(Code::not_found, "no device dev9")));
#pragma once

#include <proton/delivery.hpp>
#include <proton/error_condition.hpp>
#include <proton/tracker.hpp>

#include "hub/env/status.hpp"

namespace hub::amqp {

inline constexpr const char* kUnauthorizedAccess = "amqp:unauthorized-access";
inline constexpr const char* kNotFound = "amqp:not-found";
inline constexpr const char* kResourceLimitExceeded = "amqp:resource-limit-exceeded";
inline constexpr const char* kMessageSizeExceeded = "amqp:link:message-size-exceeded";
inline constexpr const char* kMessageLockLost = "com.microsoft:message-lock-lost";
inline constexpr const char* kArgumentError = "com.microsoft:argument-error";
inline constexpr const char* kInternalError = "amqp:internal-error";

// The condition for a failed Status, by its code; the message becomes the description.
// REQUIRES: !status.ok().
proton::error_condition error_for(const Status& status);

// Settles a received transfer `rejected` with `why` in the outcome's error field.
void reject_delivery(proton::delivery& d, const proton::error_condition& why);

// Settles a sent transfer with the hub's own outcome: accepted if `why` is empty, else rejected
// with `why`. For a receiver that left its disposition unsettled (rcv-settle-mode second).
void settle_tracker(proton::tracker& t, const proton::error_condition& why);

}  // namespace hub::amqp
