// Registry: the hub's device identities and shared access policies, durable on Env::Disk.
//
// Semantics follow Azure IoT Hub's identity registry (reference §2.2): device ids of at most
// 128 characters from a fixed set; a generationId fixed at creation (a re-created device gets
// a new one); an etag that changes on every update; If-Match concurrency ("*" or empty means
// unconditional); symmetric keys generated when a SAS device comes with empty keys; status
// enabled/disabled with a reason. Connection state, last activity and the C2D message count
// are live, not durable (the service documents them as best-effort).
//
// Durability: every change is a JSON record appended to "registry.log" and synced before the
// call returns, so a returned success survives any crash (registry writes are rare; Azure
// throttles them to a few per second). open() replays the log.
//
// Compaction (hub/store/compaction.hpp): after a change is synced, when the log exceeds
// max(live_factor x live, floor) bytes, the registry rewrites it as its live state in the
// record kinds replay already reads (one "policy" record per policy, one "put" per device, in
// name and id order) and swaps the file in atomically. The live size is kept exactly: a put
// record holds only durable fields, so its size is a function of the device. A compaction
// that fails before the swap leaves the old log in use (retried after the log grows by the
// floor); one that fails after it stops all changes (unavailable) until the registry is
// reopened, because memory can no longer tell which file the next record would extend.
//
// Single-threaded; the Env must outlive the registry.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hub/env/env.hpp"
#include "hub/store/compaction.hpp"
#include "hub/store/record_log.hpp"

namespace hub {

// Limits from the reference (§2.2, §3).
constexpr size_t kDeviceIdBytesMax = 128;
constexpr size_t kStatusReasonBytesMax = 128;
constexpr size_t kDevicesMax = 1'000'000;
constexpr size_t kListPageMax = 1000;

enum class DeviceStatus { enabled, disabled };
enum class AuthType { sas, self_signed, certificate_authority, none };

struct Device {
    std::string id;
    std::string generation_id;
    uint64_t version = 0;  // the etag is derived from it
    DeviceStatus status = DeviceStatus::enabled;
    std::string status_reason;
    int64_t status_updated_ms = 0;
    AuthType auth_type = AuthType::sas;
    std::string primary_key;  // base64
    std::string secondary_key;
    std::string primary_thumbprint;
    std::string secondary_thumbprint;
    bool iot_edge = false;
    // Live state, not durable.
    bool connected = false;
    int64_t connection_state_updated_ms = 0;
    int64_t last_activity_ms = 0;
    uint32_t cloud_to_device_message_count = 0;

    bool enabled() const { return status == DeviceStatus::enabled; }
    // Azure's form: base64 of the 8-byte big-endian version ("AAAAAAAAAAE=").
    std::string etag() const;
};

// Access rights of a shared access policy.
enum Rights : uint32_t {
    kRegistryRead = 1,
    kRegistryWrite = 2,
    kServiceConnect = 4,
    kDeviceConnect = 8,
};

struct SharedAccessPolicy {
    std::string name;
    std::string primary_key;
    std::string secondary_key;
    uint32_t rights = 0;
};

bool is_valid_device_id(std::string_view id);
// Symmetric keys are base64 of 16 to 64 bytes (Azure's rule). Errors: invalid_argument
// naming `which`.
constexpr size_t kSymmetricKeyBytesMin = 16;
constexpr size_t kSymmetricKeyBytesMax = 64;
Status check_symmetric_key(const std::string& key, const char* which);
// 32 random bytes, base64: what the hub generates when a device comes without keys.
std::string generate_device_key(Random& random);

class Registry {
  public:
    // Replays "registry.log" (deleting a stray "registry.log.compact" first); creates the
    // default policies (iothubowner, service, device, registryRead, registryReadWrite) that are
    // missing, with fresh keys; compacts the log if it is due.
    static Result<std::unique_ptr<Registry>> open(Env& env, store::CompactionPolicy policy = {});
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    // Errors: invalid_argument, already_exists, resource_exhausted (1,000,000 devices).
    Result<Device> create(Device device);
    // Replaces the device's durable fields. if_match: "", "*" or the current etag (quotes
    // allowed). Errors: not_found, failed_precondition, invalid_argument.
    Result<Device> update(Device device, std::string_view if_match);
    // Errors: not_found, failed_precondition.
    Status remove(std::string_view id, std::string_view if_match);
    const Device* find(std::string_view id) const;
    size_t size() const { return devices_.size(); }

    // Devices with ids after `after_id`, in id order, at most `max` (<= 1000).
    std::vector<const Device*> list(std::string_view after_id, size_t max) const;

    enum class ImportMode { create, create_or_update, remove };
    struct ImportItem {
        ImportMode mode = ImportMode::create_or_update;
        Device device;
    };
    struct ImportError {
        std::string id;
        Status status;
    };
    // Applies every item (each one on its own), then syncs once. Returns the per-item errors.
    Result<std::vector<ImportError>> import_devices(std::vector<ImportItem> items);
    std::vector<Device> export_devices() const;

    const SharedAccessPolicy* policy(std::string_view name) const;
    // Replaces a policy's keys (durable on return); an empty secondary key keeps the current
    // one. Lets a deployment fix its service keys instead of reading the generated ones.
    // Errors: not_found (no such policy), invalid_argument (a key that is not base64 of 16 to
    // 64 bytes), io_error.
    Status set_policy_keys(std::string_view name, const std::string& primary_key,
                           const std::string& secondary_key);
    const std::map<std::string, SharedAccessPolicy, std::less<>>& policies() const {
        return policies_;
    }

    // Live state (not durable): a front door reports connects, disconnects and activity.
    void set_connected(std::string_view id, bool connected, int64_t now_ms);
    void touch(std::string_view id, int64_t now_ms);

    // The log's size in bytes and what its live state takes as records (tests, benchmarks).
    uint64_t log_bytes() const { return log_bytes_; }
    uint64_t live_bytes() const { return live_bytes_; }
    uint64_t compactions() const { return compactions_; }

  private:
    Registry(Env& env, store::CompactionPolicy policy);
    Status replay(const Bytes& record);
    Status validate(Device& device);
    // Appends one change; sync is separate so imports share one.
    Status log_record(const nlohmann::json& record);
    Status log_put(const Device& device);
    Status log_remove(std::string_view id);
    Status log_policy(const SharedAccessPolicy& policy);
    Status create_default_policies();
    void maybe_compact();
    Status compact();
    uint64_t live_record_bytes() const;
    std::string new_generation_id();
    Device* find_mutable(std::string_view id);
    Result<Device> apply_create(Device device);
    Result<Device> apply_update(Device device, std::string_view if_match);
    Status apply_remove(std::string_view id, std::string_view if_match);

    Env& env_;
    const store::CompactionPolicy policy_;
    std::unique_ptr<store::RecordLog> log_;
    std::map<std::string, Device, std::less<>> devices_;
    std::map<std::string, SharedAccessPolicy, std::less<>> policies_;
    uint64_t log_bytes_ = 0;   // bytes of records in the log
    uint64_t live_bytes_ = 0;  // bytes the live state takes as records
    uint64_t compaction_retry_bytes_ = 0;  // after a failed compaction: wait for this log size
    uint64_t compactions_ = 0;
    Status log_failure_;  // set when a compaction failed after the swap: changes stop
};

}  // namespace hub
