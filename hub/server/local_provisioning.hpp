// LocalProvisioning: the Device Provisioning Service (DPS) that iothubd runs next to its hub.
//
// Concept: one ProvisioningService whose only linked hub is the local Hub (region "local"),
// found through a HubDirectory that hands out that Hub's Registry. Devices that register are
// assigned to the hub's host name, so the assignedHub they get back is the name they then
// connect to (iothubd). Its state lives on the Env's disk next to the hub's files:
// "provisioning.log" (the service's log) and "provisioning-policy.json" (the service policy
// "provisioningserviceowner" with two keys, made on first start and kept after). On open,
// hubs linked under another name (an earlier --hub-name) are unlinked so allocation never
// picks a hub that is not here. A deprovisioned device's C2D queue is purged like a deleted
// device's. Device activity reaches the service's lifecycle (a bootstrapped device becomes
// activated on its first connect or message): ActivityFeeds tail the hub's monitoring stream
// (DeviceConnected events) and D2C log (HTTPS devices never connect) from where they were at
// open, and report each device to ProvisioningService::report_activity, which ignores devices
// it did not provision and devices already activated. A crash between a commit and its report
// loses that one report; the device's next connect or message reports it again.
//
// Ownership: the Env and the Hub must outlive the LocalProvisioning; members are declared so
// the service goes before the directory it uses. Single-threaded like the Hub.
//
// Example:
//   Result<LocalProvisioning> dps = LocalProvisioning::open(env, hub, "0ne00000000");
//   https_server.serve_provisioning(dps->service(), dps->endpoint());
//   std::string text = http::provisioning_connection_string(dps->endpoint());
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hub/core/hub.hpp"
#include "hub/core/provisioning/provisioning_service.hpp"
#include "hub/http/dps_access.hpp"

namespace hub::server {

// The policy's file on the Env's disk.
constexpr const char* kProvisioningPolicyFile = "provisioning-policy.json";
// Azure generates 32-byte shared access keys.
constexpr size_t kPolicyKeyBytes = 32;

// Reads the provisioning service policy, or makes one with fresh keys and writes it durably.
// Errors: corruption (a policy file that is not ours), io_error.
Result<http::ProvisioningPolicy> load_or_create_provisioning_policy(Env& env);

// A directory of one hub: the local Hub, by its host name (case-insensitive).
class LocalHubDirectory : public provisioning::HubDirectory {
  public:
    explicit LocalHubDirectory(Hub& hub) : hub_(hub) {}
    Registry* registry_for(std::string_view hub_name) override;

  private:
    Hub& hub_;
};

// Tails a D2cLog from its end at construction: after each commit, calls `report` with the
// device id of every new event that `wanted` accepts (partition order, then sequence order).
// The log must outlive the feed.
class ActivityFeed {
  public:
    using Filter = std::function<bool(const StoredEvent&)>;
    using Report = std::function<void(std::string_view device_id)>;
    ActivityFeed(D2cLog& log, Filter wanted, Report report);
    ~ActivityFeed();
    ActivityFeed(const ActivityFeed&) = delete;
    ActivityFeed& operator=(const ActivityFeed&) = delete;

  private:
    void on_commit();

    D2cLog& log_;
    Filter wanted_;
    Report report_;
    std::vector<uint64_t> next_sequence_;  // per partition: the first event not yet seen
    uint64_t listener_ = 0;
};

class LocalProvisioning {
  public:
    // REQUIRES: http::is_valid_id_scope(id_scope).
    // Errors: those of ProvisioningService::open, of the policy file, and of linking the hub.
    static Result<std::unique_ptr<LocalProvisioning>> open(Env& env, Hub& hub,
                                                           std::string id_scope);
    LocalProvisioning(const LocalProvisioning&) = delete;
    LocalProvisioning& operator=(const LocalProvisioning&) = delete;

    provisioning::ProvisioningService& service() { return *service_; }
    const http::ProvisioningEndpoint& endpoint() const { return endpoint_; }

  private:
    explicit LocalProvisioning(Hub& hub) : directory_(hub) {}
    Status link_only(Hub& hub);
    void watch_activity(Hub& hub);

    LocalHubDirectory directory_;
    std::unique_ptr<provisioning::ProvisioningService> service_;  // uses directory_
    http::ProvisioningEndpoint endpoint_;
    std::unique_ptr<ActivityFeed> connects_;  // use service_: declared after it
    std::unique_ptr<ActivityFeed> telemetry_;
};

}  // namespace hub::server
