#include "hub/core/monitor.hpp"
#include "hub/core/json_text.hpp"

#include <cinttypes>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "hub/core/time_format.hpp"

namespace hub {

namespace {

// A random version-4 UUID from the Env's generator (deterministic in the simulator).
std::string uuid4(Random& random) {
    const uint64_t hi = (random.next_u64() & 0xffffffffffff0fffULL) | 0x4000;
    const uint64_t lo = (random.next_u64() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64
                  "-%012" PRIx64, hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48,
                  static_cast<uint64_t>(lo & 0xffffffffffffULL));
    return buf;
}

}  // namespace

Monitor::Monitor(Env& env, std::string hub_name, D2cLog& stream)
    : env_(env), hub_name_(std::move(hub_name)), stream_(stream) {}

void Monitor::device_connected(std::string_view device_id) {
    emit(kDeviceConnected, device_id, {});
}

void Monitor::device_disconnected(std::string_view device_id, std::string_view reason) {
    emit(kDeviceDisconnected, device_id, reason);
}

void Monitor::connection_error(std::string_view device_id, std::string_view reason) {
    emit(kDeviceConnectionError, device_id, reason);
}

void Monitor::emit(const char* type, std::string_view device_id, std::string_view reason) {
    ++sequence_;
    char sequence[72];
    std::snprintf(sequence, sizeof sequence, "%064" PRIx64, sequence_);
    nlohmann::json data = {{"deviceConnectionStateEventInfo", {{"sequenceNumber", sequence}}},
                           {"hubName", hub_name_},
                           {"deviceId", device_id},
                           {"moduleId", ""}};
    if (!reason.empty()) {
        data["reason"] = reason;
    }
    const std::string id = uuid4(env_.random());
    const nlohmann::json event = {
        {"id", id},
        {"topic", "/SUBSCRIPTIONS/LOCAL/RESOURCEGROUPS/LOCAL/PROVIDERS/MICROSOFT.DEVICES/IOTHUBS/" +
                      hub_name_},
        {"subject", "devices/" + std::string(device_id)},
        {"eventType", type},
        {"eventTime", format_utc_ms(env_.utc_now_ms())},
        {"data", data},
        {"dataVersion", "1"},
        {"metadataVersion", "1"},
    };
    const std::string body = json_text(event);
    env_.trace("monitor.event", std::string(type) + " " + std::string(device_id));
    stream_.append(D2cMessage{std::string(device_id), id, Bytes(body.begin(), body.end()),
                              {{"eventType", type}}},
                   [](Result<EventPosition>) {});  // best effort: a failed log fails the hub
}

}  // namespace hub
