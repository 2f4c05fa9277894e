// Monitor: connection monitoring events on an Event Hubs-compatible partitioned stream.
//
// The front doors report device connects, disconnects (with a reason) and connection errors
// (failed authentication, unknown or disabled device). Each becomes an Event Grid-shaped JSON
// event (reference §4) appended to its own D2cLog ("monitor-<p>.log", partitioned by device
// id), so readers consume it like the D2C stream, in order, with a hub-wide sequence number:
//   {"id","topic","subject":"devices/<id>","eventType","eventTime",
//    "data":{"deviceConnectionStateEventInfo":{"sequenceNumber":"<64 hex>"},"hubName",
//            "deviceId","moduleId","reason"?},"dataVersion":"1","metadataVersion":"1"}
// eventType is Microsoft.Devices.DeviceConnected / DeviceDisconnected, and, an extension of
// ours for the failed attempts Azure only shows in its logs, Microsoft.Devices.DeviceConnectionError.
//
// Single-threaded; the Env and the log must outlive the monitor.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "hub/core/d2c_log.hpp"

namespace hub {

inline constexpr const char* kDeviceConnected = "Microsoft.Devices.DeviceConnected";
inline constexpr const char* kDeviceDisconnected = "Microsoft.Devices.DeviceDisconnected";
inline constexpr const char* kDeviceConnectionError = "Microsoft.Devices.DeviceConnectionError";

class Monitor {
  public:
    Monitor(Env& env, std::string hub_name, D2cLog& stream);
    Monitor(const Monitor&) = delete;
    Monitor& operator=(const Monitor&) = delete;

    void device_connected(std::string_view device_id);
    void device_disconnected(std::string_view device_id, std::string_view reason);
    void connection_error(std::string_view device_id, std::string_view reason);
    uint64_t events_emitted() const { return sequence_; }

  private:
    void emit(const char* type, std::string_view device_id, std::string_view reason);

    Env& env_;
    std::string hub_name_;
    D2cLog& stream_;
    uint64_t sequence_ = 0;
};

}  // namespace hub
