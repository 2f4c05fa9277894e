// iothubd: a local Azure-IoT-Hub-compatible hub on real sockets (AMQPS), for SDKs and tests.
//
// It parses flags, makes the data directory and a self-signed TLS certificate (reused on later
// starts), opens a hub::Hub over a RealEnv and serves it with hub::amqp::AmqpServer and
// hub::http::HttpServer, which also serves a Device Provisioning Service linked to the hub
// (LocalProvisioning). Then it
// prints lines a script can parse (listening address, CA path, one connection string per
// device, "iothubd: ready") and runs the event loop until SIGINT/SIGTERM or
// --exit-after-seconds. Exit status: 0 after a clean stop, 1 on a runtime error (port taken,
// data directory unusable...), 2 on bad flags.
//
// Threading: one thread runs everything (RealEnv's io_context); signals arrive through an
// asio::signal_set on that loop. No exception leaves main().
#include <signal.h>

#include <boost/asio/signal_set.hpp>
#include <algorithm>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hub/amqp/amqp_server.hpp"
#include "hub/http/http_server.hpp"
#include "hub/auth/sas.hpp"
#include "hub/core/hub.hpp"
#include "hub/core/registry.hpp"
#include "hub/http/dps_access.hpp"
#include "hub/server/local_provisioning.hpp"
#include "hub/server/posix_file.hpp"
#include "hub/server/real_env.hpp"
#include "hub/server/tls_cert.hpp"

namespace hub::server {
namespace {

constexpr uint16_t amqps_default_port = 5671;
// The Node SDK's HTTP transport and registry client always dial 443 (reference §7).
constexpr uint16_t https_default_port = 443;
// IoT Hub's tiers offer 2 to 128 D2C partitions; 1 is allowed here for simple tests.
constexpr uint32_t partitions_max = 128;
// Newest D2C records kept decoded in RAM per partition: readers at the tail (the usual case)
// never touch the disk; older positions are read back from the segment files.
constexpr uint64_t kD2cCacheBytes = 16ull << 20;
// Azure requires symmetric device keys of 16 to 64 bytes.
constexpr size_t device_key_bytes_min = 16;
constexpr size_t device_key_bytes_max = 64;
// Upper bound for --exit-after-seconds (a week): a larger value is surely a typo.
constexpr int64_t exit_after_seconds_max = 7 * 24 * 3600;
// After stop: time given to open connections to flush and close before the process exits.
constexpr Duration drain_limit = Duration::seconds(1);

constexpr const char* usage_text = R"(Usage: iothubd [flags]

Runs a local Azure-IoT-Hub-compatible hub that devices reach over AMQPS (AMQP 1.0 over TLS),
for example with the official Azure IoT device SDKs. It prints, and flushes, lines a script
can parse:
  iothubd: AMQPS listening on HOST:PORT
  iothubd: HTTPS listening on HOST:PORT
  iothubd: service connection string: HostName=...;SharedAccessKeyName=iothubowner;...
  iothubd: eventhub connection string: Endpoint=sb://localhost:PORT/;...;EntityPath=...
  iothubd: monitor connection string: ...;EntityPath=...-monitor   (connect/disconnect events)
  iothubd: CA certificate: /abs/path/cert.pem     (give it to the SDK: setOptions({ca}))
  iothubd: provisioning connection string: HostName=...;SharedAccessKeyName=...;...
  iothubd: provisioning id scope: 0ne00000000
  iothubd: device connection string: HostName=...;DeviceId=...;SharedAccessKey=...
  iothubd: ready
It also writes DIR/ca.pem and DIR/connection-strings.json ({"service": ..., "eventhub": ...,
"monitor": ..., "provisioning": ..., "idScope": ...}).
GET https://HOST:HTTPS_PORT/health answers {"status":"ok",...} without a token.

Device Provisioning Service (DPS): the HTTPS port also serves DPS, linked to this hub. With
azure-iot-provisioning-service, ProvisioningServiceClient.fromConnectionString(<provisioning
connection string>) creates, reads and deletes individual enrollments and enrollment groups
(symmetric keys). A device registers with azure-iot-provisioning-device(-http):
ProvisioningDeviceClient.create(HUB_NAME, ID_SCOPE, new Http(), new
SymmetricKeySecurityClient(registrationId, key)); the result's assignedHub is HUB_NAME and its
deviceId exists in this hub with the enrollment's key (a group member's key is
base64(HMAC-SHA256(base64decode(group key), registrationId))). The Node clients dial port 443.
The service keeps its state in DIR/hub (provisioning.log, provisioning-policy.json).

Flags (also accepted as --flag=value):
  --data-dir DIR            Where the hub keeps its files: DIR/hub holds the D2C log, DIR/tls
                            a self-signed certificate made on first start and reused after.
                            Default: ./iothubd-data
  --host HOST               Address to listen on. Default: 127.0.0.1 (this machine only).
  --amqp-port PORT          AMQPS port, 0 picks a free one (read it from the first line).
                            Default: 5671
  --https-port PORT         HTTPS port (device messaging and the registry REST API), 0 picks
                            a free one. Default: 443, the port the Node SDK's HTTP transport
                            and registry client always dial (binding it needs root or
                            CAP_NET_BIND_SERVICE).
  --hub-name NAME           The hub's HostName: devices put it in their SAS token audience.
                            Default: localhost (the certificate is valid for localhost and
                            127.0.0.1)
  --device ID[:BASE64KEY]   A device to register; repeat for more. Without a key one is
                            generated (32 random bytes) when the device is created; the
                            registry in DIR/hub keeps it across restarts. A key given for an
                            existing device replaces its primary key. Without any --device,
                            "device1" is made.
  --policy-key NAME:KEY     Fix the primary key (base64 of 16 to 64 bytes) of a shared access
                            policy (iothubowner, service, device, registryRead,
                            registryReadWrite) instead of the one generated on first start;
                            repeat for more. Connection strings then stay the same across
                            data directories.
  --partitions N            Number of D2C partitions, 1 to 128. Default: 4
  --id-scope SCOPE          The Device Provisioning Service's id scope (letters and digits,
                            at most 64): devices put it in their register URL and token.
                            Default: 0ne00000000
  --c2d-ttl-seconds N       Default C2D message TTL, 60 to 172800 (2 days). Default: 3600
  --c2d-max-deliveries N    Abandons before a C2D message is dead-lettered, 1 to 100. Default: 10
  --feedback-ttl-seconds N  TTL of feedback batches, 60 to 172800. Default: 3600
  --d2c-retention-hours N   D2C events older than this are dropped (whole segment files at a
                            time), 1 to 168 (7 days, IoT Hub's maximum). Default: 24
  --d2c-retention-mb N      Also drop the oldest D2C segments once a partition's files pass
                            N MiB, 0 = no size limit (then a day of traffic at load-test rates
                            needs terabytes). Readers get older events from the files; RAM
                            holds the newest 16 MiB per partition and 24 bytes per retained
                            event. Default: 256
  --write-stall-seconds N   Disconnect a client that takes none of the bytes the hub has
                            queued for it for N seconds (slow-client protection), 1 to 3600.
                            Default: 60
  --config FILE             A JSON object of these flags without "--", applied before the
                            command line (which overrides it), e.g.
                            {"amqp-port": 5671, "https-port": 8443, "partitions": 8,
                             "device": ["sensor-1", "sensor-2:BASE64KEY"], "trace": false,
                             "id-scope": "0ne00000000"}
  --exit-after-seconds N    Stop by itself after N seconds (tests use it so a server never
                            outlives them). 0 = run until SIGINT/SIGTERM. Default: 0
  --trace                   Print the hub's trace events to stderr. Set PN_TRACE_FRM=1 in the
                            environment to also see every AMQP frame.
  --log-format FORMAT       How --trace prints: text ("trace EVENT DETAIL") or json (one
                            object per line: {"time": ISO-8601 UTC, "event", "detail"}, for
                            log collectors). Default: text
  --help                    This text.

When the port is not 5671, connection strings carry GatewayHostName=localhost:PORT, which the
Node SDK's AMQP transport dials instead of HostName (the SAS audience still uses HostName).

Example:
  iothubd --data-dir /tmp/hub --amqp-port 0 --https-port 0 --device sensor-1 --exit-after-seconds 60
)";

struct Options {
    std::string data_dir = "./iothubd-data";
    std::string host = "127.0.0.1";
    uint16_t amqp_port = amqps_default_port;
    uint16_t https_port = https_default_port;
    std::string hub_name = "localhost";
    std::string id_scope = "0ne00000000";  // the Device Provisioning Service's
    std::vector<DeviceSpec> devices;
    std::vector<PolicyKeySpec> policy_keys;
    uint32_t partitions = 4;
    int64_t exit_after_seconds = 0;
    int64_t c2d_ttl_seconds = 3600;     // defaultTtlAsIso8601: 1 min - 2 days
    int64_t c2d_max_deliveries = 10;    // maxDeliveryCount: 1 - 100
    int64_t feedback_ttl_seconds = 3600;
    int64_t d2c_retention_hours = 24;
    // 0: no size limit. A day of traffic at load-test rates would fill a disk: the default keeps
    // a local hub's data directory bounded under any sustained load.
    int64_t d2c_retention_mb = 256;
    int64_t write_stall_seconds = 60;
    bool trace = false;
    bool log_json = false;
    bool help = false;
};

Status usage_error(const std::string& message) {
    return Status(Code::invalid_argument, message + " (see iothubd --help)");
}

Result<int64_t> parse_integer(const std::string& flag, const std::string& text, int64_t lo,
                              int64_t hi) {
    if (text.empty() || text.size() > 18 ||
        text.find_first_not_of("0123456789") != std::string::npos) {
        return usage_error(flag + " wants a whole number, got '" + text + "'");
    }
    const int64_t value = std::stoll(text);
    if (value < lo || value > hi) {
        return usage_error(flag + " must be between " + std::to_string(lo) + " and " +
                           std::to_string(hi) + ", got " + text);
    }
    return value;
}

Result<DeviceSpec> parse_device(const std::string& text) {
    DeviceSpec spec;
    const size_t colon = text.find(':');  // device ids never contain ':'
    spec.id = text.substr(0, colon);
    if (!is_valid_device_id(spec.id)) {
        return usage_error("--device: '" + spec.id +
                           "' is not a valid device id (1 to 128 characters: letters, digits "
                           "and - . + % _ # * ? ! ( ) , = @ $ ')");
    }
    if (colon == std::string::npos) {
        return spec;  // the hub generates a key
    }
    spec.primary_key = text.substr(colon + 1);
    Result<Bytes> key = auth::base64_decode(spec.primary_key);
    if (!key.ok() || key->size() < device_key_bytes_min || key->size() > device_key_bytes_max) {
        return usage_error("--device " + spec.id + ": the key must be base64 of 16 to 64 bytes");
    }
    return spec;
}

// The retention and stall flags: true if `flag` was one of them (and applied).
Result<bool> apply_limit_flag(Options& options, const std::string& flag, const std::string& value) {
    struct Limit {
        const char* flag;
        int64_t lo;
        int64_t hi;
        int64_t Options::*field;
    };
    static constexpr Limit kLimits[] = {
        {"--d2c-retention-hours", 1, 7 * 24, &Options::d2c_retention_hours},
        {"--d2c-retention-mb", 0, int64_t{1} << 30, &Options::d2c_retention_mb},
        {"--write-stall-seconds", 1, 3600, &Options::write_stall_seconds},
    };
    for (const Limit& limit : kLimits) {
        if (flag != limit.flag) continue;
        Result<int64_t> n = parse_integer(flag, value, limit.lo, limit.hi);
        if (!n.ok()) return n.status();
        options.*limit.field = *n;
        return true;
    }
    return false;
}

// Applies one flag with its value. `flag` is known to take a value.
Status apply_flag(Options& options, const std::string& flag, const std::string& value) {
    if (flag == "--data-dir" || flag == "--host" || flag == "--hub-name") {
        if (value.empty()) {
            return usage_error(flag + " must not be empty");
        }
        (flag == "--data-dir" ? options.data_dir
                              : flag == "--host" ? options.host : options.hub_name) = value;
        return Status::ok_status();
    }
    if (flag == "--id-scope") {
        if (!http::is_valid_id_scope(value)) {
            return usage_error("--id-scope wants 1 to " + std::to_string(http::kIdScopeBytesMax) +
                               " letters and digits, got '" + value + "'");
        }
        options.id_scope = value;
        return Status::ok_status();
    }
    if (flag == "--device") {
        Result<DeviceSpec> spec = parse_device(value);
        if (!spec.ok()) {
            return spec.status();
        }
        for (const DeviceSpec& existing : options.devices) {
            if (existing.id == spec->id) {
                return usage_error("--device " + spec->id + " is given twice");
            }
        }
        options.devices.push_back(*spec);
        return Status::ok_status();
    }
    if (flag == "--policy-key") {
        const size_t colon = value.find(':');
        if (colon == std::string::npos || colon == 0) {
            return usage_error("--policy-key wants NAME:BASE64KEY, got '" + value + "'");
        }
        options.policy_keys.push_back({value.substr(0, colon), value.substr(colon + 1)});
        return Status::ok_status();
    }
    if (flag == "--log-format") {
        if (value != "text" && value != "json") {
            return usage_error("--log-format is text or json, got '" + value + "'");
        }
        options.log_json = value == "json";
        return Status::ok_status();
    }
    if (Result<bool> limit = apply_limit_flag(options, flag, value); !limit.ok() || *limit) {
        return limit.status();
    }
    if (flag == "--c2d-ttl-seconds" || flag == "--feedback-ttl-seconds" ||
        flag == "--c2d-max-deliveries") {
        // The service's bounds (reference §3): TTLs 1 min to 2 days, deliveries 1 to 100.
        const bool deliveries = flag == "--c2d-max-deliveries";
        Result<int64_t> n = parse_integer(flag, value, deliveries ? 1 : 60,
                                          deliveries ? 100 : 2 * 24 * 3600);
        if (!n.ok()) return n.status();
        (deliveries                        ? options.c2d_max_deliveries
         : flag == "--c2d-ttl-seconds" ? options.c2d_ttl_seconds
                                           : options.feedback_ttl_seconds) = *n;
        return Status::ok_status();
    }
    const bool port = flag == "--amqp-port" || flag == "--https-port";
    const bool partitions = flag == "--partitions";
    Result<int64_t> n = parse_integer(flag, value, partitions ? 1 : 0,
                                      port         ? 65535
                                      : partitions ? int64_t{partitions_max}
                                                   : exit_after_seconds_max);
    if (!n.ok()) {
        return n.status();
    }
    if (port) {
        (flag == "--amqp-port" ? options.amqp_port : options.https_port) =
            static_cast<uint16_t>(*n);
    } else if (partitions) {
        options.partitions = static_cast<uint32_t>(*n);
    } else {
        options.exit_after_seconds = *n;
    }
    return Status::ok_status();
}

const std::vector<std::string> kValuedFlags = {
    "--data-dir", "--host", "--amqp-port", "--https-port", "--hub-name", "--device",
    "--partitions", "--exit-after-seconds", "--c2d-ttl-seconds", "--c2d-max-deliveries",
    "--feedback-ttl-seconds", "--id-scope", "--d2c-retention-hours", "--d2c-retention-mb",
    "--write-stall-seconds", "--log-format", "--policy-key"};

// A JSON object whose keys are flag names without "--" ({"amqp-port": 5671,
// "device": ["sensor-1", "sensor-2:KEY"], "trace": true}); each entry is applied as the flag.
Status apply_config_file(Options& options, const std::string& path) {
    std::ifstream in(path);
    if (!in) return usage_error("cannot read config file " + path);
    const nlohmann::json config = nlohmann::json::parse(in, nullptr, false);
    if (config.is_discarded() || !config.is_object()) {
        return usage_error("config file " + path + " is not a JSON object");
    }
    for (const auto& [key, value] : config.items()) {
        const std::string flag = "--" + key;
        if (flag == "--trace" && value.is_boolean()) {
            options.trace = value.get<bool>();
            continue;
        }
        if (std::find(kValuedFlags.begin(), kValuedFlags.end(), flag) == kValuedFlags.end()) {
            return usage_error("config file " + path + ": unknown key '" + key + "'");
        }
        const nlohmann::json list = value.is_array() ? value : nlohmann::json::array({value});
        for (const nlohmann::json& item : list) {
            const std::string text = item.is_string() ? item.get<std::string>() : item.dump();
            if (Status s = apply_flag(options, flag, text); !s.ok()) {
                return Status(s.code(), "config file " + path + ": " + s.message());
            }
        }
    }
    return Status::ok_status();
}

Result<Options> parse_args(const std::vector<std::string>& args) {
    Options options;
    // A config file first, so flags override it.
    for (size_t i = 0; i < args.size(); ++i) {
        const bool inline_value = args[i].rfind("--config=", 0) == 0;
        if (args[i] != "--config" && !inline_value) continue;
        if (!inline_value && i + 1 >= args.size()) return usage_error("--config needs a value");
        const std::string path = inline_value ? args[i].substr(9) : args[i + 1];
        if (Status s = apply_config_file(options, path); !s.ok()) return s;
    }
    for (size_t i = 0; i < args.size(); ++i) {
        std::string flag = args[i];
        std::optional<std::string> value;
        if (size_t eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
            value = flag.substr(eq + 1);
            flag = flag.substr(0, eq);
        }
        if (flag == "--config") {  // applied above
            i += value ? 0 : 1;
            continue;
        }
        if ((flag == "--help" || flag == "-h") && !value) {
            options.help = true;
            continue;
        }
        if (flag == "--trace" && !value) {
            options.trace = true;
            continue;
        }
        if (std::find(kValuedFlags.begin(), kValuedFlags.end(), flag) == kValuedFlags.end()) {
            return usage_error("unknown flag '" + args[i] + "'");
        }
        if (!value) {
            if (i + 1 >= args.size()) {
                return usage_error(flag + " needs a value");
            }
            value = args[++i];
        }
        if (Status s = apply_flag(options, flag, *value); !s.ok()) {
            return s;
        }
    }
    if (options.devices.empty()) {
        options.devices.push_back(DeviceSpec{"device1", ""});
    }
    return options;
}

// The host a device should dial: the certificate names localhost, so loopback and wildcard
// listen addresses are reached as "localhost"; any other address as given.
std::string dial_host(const std::string& listen_host) {
    static const std::vector<std::string> local = {"127.0.0.1", "::1",  "[::1]",
                                                   "localhost", "0.0.0.0", "::"};
    const bool loopback = listen_host.rfind("127.", 0) == 0 ||
                          std::find(local.begin(), local.end(), listen_host) != local.end();
    return loopback ? "localhost" : listen_host;
}

std::string connection_string(const Options& options, const Device& device, uint16_t port) {
    std::string text = "HostName=" + options.hub_name + ";DeviceId=" + device.id +
                       ";SharedAccessKey=" + device.primary_key;
    const std::string host = dial_host(options.host);
    if (port != amqps_default_port || host != options.hub_name) {
        text += ";GatewayHostName=" + host;
        if (port != amqps_default_port) {
            text += ":" + std::to_string(port);
        }
    }
    return text;
}

void say(const std::string& line) {
    std::printf("iothubd: %s\n", line.c_str());
    std::fflush(stdout);
}

uint16_t port_of(const std::string& address) {
    return static_cast<uint16_t>(std::stoul(address.substr(address.rfind(':') + 1)));
}

std::string listen_address(const Options& options, uint16_t port) {
    const bool v6 = options.host.find(':') != std::string::npos && options.host.front() != '[';
    const std::string host = v6 ? "[" + options.host + "]" : options.host;
    return host + ":" + std::to_string(port);
}

struct ConnectionStrings {
    std::string service;
    std::string eventhub;
    std::string monitor;  // the connection-monitoring events, same endpoint
    std::string provisioning;  // the Device Provisioning Service's service API
    std::string id_scope;
};

ConnectionStrings connection_strings(const Options& options, Hub& hub, uint16_t amqp_port,
                                     const http::ProvisioningEndpoint& dps) {
    const SharedAccessPolicy* owner = hub.registry().policy("iothubowner");
    HUB_ASSERT(owner != nullptr);
    // The Event Hubs-compatible endpoint is the AMQPS port; the entity is the hub's name.
    const std::string entity = options.hub_name.substr(0, options.hub_name.find('.'));
    return {"HostName=" + options.hub_name +
                ";SharedAccessKeyName=iothubowner;SharedAccessKey=" + owner->primary_key,
            "Endpoint=sb://" + dial_host(options.host) + ":" + std::to_string(amqp_port) +
                "/;SharedAccessKeyName=iothubowner;SharedAccessKey=" + owner->primary_key +
                ";EntityPath=" + entity,
            "Endpoint=sb://" + dial_host(options.host) + ":" + std::to_string(amqp_port) +
                "/;SharedAccessKeyName=iothubowner;SharedAccessKey=" + owner->primary_key +
                ";EntityPath=" + entity + "-monitor",
            http::provisioning_connection_string(dps), dps.id_scope};
}

// DIR/connection-strings.json and DIR/ca.pem: what scripts and CI jobs read.
Status write_handoff_files(const Options& options, const ConnectionStrings& strings,
                           const std::string& ca_path) {
    const std::string json = nlohmann::json{{"service", strings.service},
                                            {"eventhub", strings.eventhub},
                                            {"monitor", strings.monitor},
                                            {"provisioning", strings.provisioning},
                                            {"idScope", strings.id_scope}}
                                 .dump(2) + "\n";
    Status s = write_file_atomic(options.data_dir + "/connection-strings.json",
                                 ByteView(reinterpret_cast<const uint8_t*>(json.data()), json.size()),
                                 0600);
    if (!s.ok()) return s;
    std::ifstream in(ca_path, std::ios::binary);
    const std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return write_file_atomic(options.data_dir + "/ca.pem",
                             ByteView(reinterpret_cast<const uint8_t*>(pem.data()), pem.size()),
                             0644);
}

Status announce(const Options& options, RealEnv& env, Hub& hub, const std::string& address,
                const std::string& https_address, const std::string& ca_path,
                const http::ProvisioningEndpoint& dps) {
    const ConnectionStrings strings = connection_strings(options, hub, port_of(address), dps);
    Status s = write_handoff_files(options, strings, ca_path);
    if (!s.ok()) return s;
    say("data directory: " + env.data_dir());
    say("AMQPS listening on " + address);
    say("HTTPS listening on " + https_address);
    say("service connection string: " + strings.service);
    say("eventhub connection string: " + strings.eventhub);
    say("monitor connection string: " + strings.monitor);
    say("CA certificate: " + ca_path);
    say("D2C retention: " + std::to_string(options.d2c_retention_hours) + " h" +
        (options.d2c_retention_mb > 0
             ? " or " + std::to_string(options.d2c_retention_mb) + " MiB per partition"
             : std::string(" (no size limit)")));
    say("provisioning connection string: " + strings.provisioning);
    say("provisioning id scope: " + strings.id_scope);
    say("provisioning global endpoint: " + options.hub_name + " (the HTTPS port; devices "
        "register at /" + strings.id_scope + "/registrations/ID/register)");
    say("for scripts: " + options.data_dir + "/ca.pem and " + options.data_dir +
        "/connection-strings.json (keys service, eventhub, monitor, provisioning, idScope)");
    for (const DeviceSpec& spec : options.devices) {
        const Device* device = hub.registry().find(spec.id);
        HUB_ASSERT(device != nullptr);
        say("device connection string: " + connection_string(options, *device, port_of(address)));
    }
    say("to add a device: restart with --device ID, or PUT https://" + options.hub_name +
        "/devices/ID?api-version=2021-04-12 with the service connection string (azure-iothub's "
        "Registry.create does this)");
    say("ready");
    return Status();
}

// Arms SIGINT/SIGTERM and --exit-after-seconds to stop the loop. Returns the timer, if any.
std::optional<TimerId> arm_stops(const Options& options, RealEnv& env,
                                 boost::asio::signal_set& signals) {
    signals.async_wait([&env](const boost::system::error_code& ec, int signo) {
        if (!ec) {
            say("stopping on signal " + std::to_string(signo));
            env.stop();
        }
    });
    if (options.exit_after_seconds == 0) {
        return std::nullopt;
    }
    const int64_t seconds = options.exit_after_seconds;
    return env.schedule(env.now() + Duration::seconds(seconds), [&env, seconds] {
        say("stopping after " + std::to_string(seconds) + " s (--exit-after-seconds)");
        env.stop();
    });
}

Result<std::unique_ptr<RealEnv>> open_env(const Options& options, std::string& ca_path) {
    if (Status s = make_dirs(options.data_dir); !s.ok()) {
        return Status(s.code(), "data directory " + options.data_dir + " is unusable: " +
                                    s.message());
    }
    Result<CertFiles> cert = ensure_self_signed_cert(options.data_dir + "/tls");
    if (!cert.ok()) {
        return Status(cert.status().code(), "TLS certificate: " + cert.status().message());
    }
    ca_path = cert->cert_pem_path;
    RealEnvConfig config;
    config.data_dir = options.data_dir + "/hub";
    config.tls = TlsConfig{cert->cert_pem_path, cert->key_pem_path, cert->cert_pem_path};
    config.trace_to_stderr = options.trace;
    config.trace_json = options.log_json;
    config.tls_timeouts.write_stall = Duration::seconds(options.write_stall_seconds);
    return RealEnv::open(std::move(config));
}

HubConfig hub_config(const Options& options) {
    HubConfig config;
    config.host_name = options.hub_name;
    config.d2c.partitions = options.partitions;
    config.d2c.retention = Duration::seconds(options.d2c_retention_hours * 3600);
    config.d2c.cache_bytes = kD2cCacheBytes;
    if (options.d2c_retention_mb > 0) {
        config.d2c.retention_bytes = static_cast<uint64_t>(options.d2c_retention_mb) << 20;
    }
    config.devices = options.devices;
    config.policy_keys = options.policy_keys;
    config.c2d.default_ttl = Duration::seconds(options.c2d_ttl_seconds);
    config.c2d.max_delivery_count = static_cast<uint32_t>(options.c2d_max_deliveries);
    config.c2d.feedback.ttl = Duration::seconds(options.feedback_ttl_seconds);
    return config;
}

int fail(const Status& status) {
    std::fprintf(stderr, "iothubd: error: %s\n", status.message().c_str());
    return 1;
}

int serve(const Options& options) {
    std::string ca_path;
    Result<std::unique_ptr<RealEnv>> env = open_env(options, ca_path);
    if (!env.ok()) {
        return fail(env.status());
    }
    RealEnv& e = **env;
    Result<std::unique_ptr<Hub>> hub = Hub::open(e, hub_config(options));
    if (!hub.ok()) {
        return fail(Status(hub.status().code(), "open hub: " + hub.status().message()));
    }
    Result<std::unique_ptr<LocalProvisioning>> dps =
        LocalProvisioning::open(e, **hub, options.id_scope);
    if (!dps.ok()) {
        return fail(Status(dps.status().code(), "open provisioning service: " +
                                                    dps.status().message()));
    }
    auto server = std::make_unique<amqp::AmqpServer>(e, **hub);
    server->serve_provisioning((*dps)->service());  // DPS over AMQPS, as over HTTPS
    if (Status s = server->listen(listen_address(options, options.amqp_port)); !s.ok()) {
        return fail(s);
    }
    auto https = std::make_unique<http::HttpServer>(e, **hub);
    https->serve_provisioning((*dps)->service(), (*dps)->endpoint());
    if (Status s = https->listen(listen_address(options, options.https_port)); !s.ok()) {
        return fail(Status(s.code(), "HTTPS: " + s.message()));
    }
    boost::asio::signal_set signals(e.io_context(), SIGINT, SIGTERM);
    std::optional<TimerId> exit_timer = arm_stops(options, e, signals);
    if (Status s = announce(options, e, **hub, server->address(), https->address(), ca_path,
                            (*dps)->endpoint());
        !s.ok()) {
        return fail(s);
    }
    Status run_status = e.run();
    if (exit_timer) {
        e.cancel(*exit_timer);
    }
    boost::system::error_code ignored;
    signals.cancel(ignored);
    server.reset();  // closes connections and the listener
    https.reset();
    dps->reset();  // before the hub whose registry it uses
    hub->reset();
    Status drain_status = e.run_for(drain_limit);  // let closes reach the peers
    if (!run_status.ok() || !drain_status.ok()) {
        return fail(run_status.ok() ? drain_status : run_status);
    }
    say("stopped");
    return 0;
}

int main_impl(int argc, char** argv) {
    Result<Options> options = parse_args(std::vector<std::string>(argv + 1, argv + argc));
    if (!options.ok()) {
        std::fprintf(stderr, "iothubd: %s\n", options.status().message().c_str());
        return 2;
    }
    if (options->help) {
        std::fputs(usage_text, stdout);
        return 0;
    }
    // A peer or a reader of our stdout going away must be an error value, not a signal.
    ::signal(SIGPIPE, SIG_IGN);
    return serve(*options);
}

}  // namespace
}  // namespace hub::server

int main(int argc, char** argv) {
    try {
        return hub::server::main_impl(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "iothubd: fatal: %s\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "iothubd: fatal: unknown exception\n");
    }
    return 1;
}
