// hubconform: runs the conformance cases against any hub that speaks Azure IoT Hub's AMQP,
// given a device connection string: our iothubd, or a real cloud hub.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <unistd.h>
#include <functional>
#include <string>
#include <vector>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "conformance/amqp_device_client.hpp"
#include "conformance/amqp_service_client.hpp"
#include "conformance/connection_string.hpp"
#include "hub/server/real_env.hpp"

namespace {

using conformance::AmqpDeviceClient;
using conformance::AmqpServiceClient;
using conformance::DeviceClientConfig;
using conformance::DeviceConnectionString;
using hub::Duration;
using hub::Status;

// The TTL of the expiry case: long enough to reach a distant hub, short enough to wait for.
constexpr int64_t kShortTtlMs = 3000;

constexpr const char* kHelp = R"HELP(hubconform - conformance cases against an IoT hub over AMQPS

Usage: hubconform --connection-string "HostName=...;DeviceId=...;SharedAccessKey=..." [options]
  --connection-string S  a device connection string (as iothubd or the Azure portal print it);
                         GatewayHostName=host:port, if present, is where AMQP connects
  --service-connection-string S
                         a service (shared access policy) connection string; enables the
                         c2d.* cases, which send to the device above and read feedback. The
                         feedback receiver accepts every record it gets, other senders' too:
                         do not point it at a hub whose feedback another service consumes
  --ca FILE              CA certificate (PEM) to trust; default: the system's trust store
  --messages N           messages for the D2C case (default 10)
  --timeout-seconds N    time limit of each case (default 30)
  --filter TEXT          run only cases whose name contains TEXT
  --list                 list the cases and exit
  --help                 this text

Each case prints PASS, FAIL with the reason, or SKIP (a case that needs a flag not given); the last line counts them
("N passed, M failed"). Exit status: 0 if all passed, 1 if any failed, 2 on bad usage.

Example (against iothubd):
  hubconform --connection-string "$(sed -n 's/^iothubd: device connection string: //p' log)" \
             --ca iothubd-data/tls/cert.pem
)HELP";

struct Options {
    DeviceConnectionString target;
    std::optional<conformance::ServiceConnectionString> service;
    std::string ca_path;
    uint32_t messages = 10;
    int64_t timeout_s = 30;
    std::string filter;
};

struct Case {
    const char* name;
    const char* what;
    bool needs_service;
    std::function<Status(hub::server::RealEnv&, const Options&)> run;
};

DeviceClientConfig client_config(const Options& options) {
    DeviceClientConfig config;
    config.hub_address = options.target.amqp_address();
    config.host_name = options.target.host_name;
    config.device_id = options.target.device_id;
    config.key = options.target.shared_access_key;
    config.backoff_max = Duration::seconds(1);
    return config;
}

Status d2c_accepted(hub::server::RealEnv& env, const Options& options) {
    AmqpDeviceClient client(env, client_config(options));
    uint32_t acknowledged = 0;
    client.on_acknowledged = [&](const std::string&) {
        if (++acknowledged == options.messages) env.stop();
    };
    for (uint32_t i = 0; i < options.messages; ++i) {
        const std::string id = "hubconform-" + std::to_string(env.utc_now_ms()) + "-" +
                               std::to_string(i);
        client.send(id, hub::Bytes(id.begin(), id.end()));
    }
    client.start();
    Status run = env.run_for(Duration::seconds(options.timeout_s));
    client.stop();
    if (!run.ok()) return run;
    if (acknowledged != options.messages) {
        return Status(hub::Code::unavailable,
                      std::to_string(acknowledged) + " of " + std::to_string(options.messages) +
                          " messages accepted within " + std::to_string(options.timeout_s) +
                          " s (" + std::to_string(client.connection_failures()) +
                          " connection failures)");
    }
    return Status();
}

Status d2c_wrong_key_refused(hub::server::RealEnv& env, const Options& options) {
    DeviceClientConfig config = client_config(options);
    // Same length, different key: flip the first base64 character.
    config.key[0] = config.key[0] == 'A' ? 'B' : 'A';
    AmqpDeviceClient client(env, config);
    bool accepted = false;
    client.on_acknowledged = [&](const std::string&) { accepted = true; };
    client.send("hubconform-wrong-key", hub::Bytes{1});
    client.start();
    const int64_t wait_s = std::min<int64_t>(options.timeout_s, 3);
    Status run = env.run_for(Duration::seconds(wait_s));
    client.stop();
    if (!run.ok()) return run;
    if (accepted) {
        return Status(hub::Code::internal, "the hub accepted a message signed with a wrong key");
    }
    if (client.token_refusals() == 0) {
        return Status(hub::Code::internal,
                      "no put-token refusal seen (" + std::to_string(client.connection_failures()) +
                          " connection failures): the hub never answered the wrong token");
    }
    return Status();
}

conformance::ServiceClientConfig service_config(const Options& options) {
    conformance::ServiceClientConfig config;
    config.hub_address = options.target.amqp_address();  // the same hub the device talks to
    config.host_name = options.service->host_name;
    config.policy_name = options.service->key_name;
    config.policy_key = options.service->shared_access_key;
    config.receive_feedback = true;
    return config;
}

// The statusCode of each feedback record about one of `ids`, by original message id.
void collect_feedback(const std::string& json, const std::map<std::string, std::string>& ids,
                      std::map<std::string, std::string>& outcomes) {
    const nlohmann::json records = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (!records.is_array()) return;
    for (const nlohmann::json& r : records) {
        const std::string id = r.value("originalMessageId", "");
        if (ids.contains(id)) outcomes[id] = r.value("statusCode", "");
    }
}

// A service client whose feedback is watched for `expected` (message id -> statusCode): it
// stops the env once every id has a receipt, or on a refused send or a lost connection.
struct FeedbackWatch {
    FeedbackWatch(hub::server::RealEnv& env, const Options& options,
                  std::map<std::string, std::string> expected_outcomes)
        : expected(std::move(expected_outcomes)), service(env, service_config(options)) {
        service.on_sent = [this](const std::string& id, const Status& s) {
            if (!s.ok()) failure = Status(s.code(), "the hub refused C2D " + id + ": " + s.message());
        };
        service.on_failed = [this, &env](const Status& s) {
            failure = s;
            env.stop();
        };
        service.on_feedback = [this, &env](const std::string& json) {
            collect_feedback(json, expected, outcomes);
            if (outcomes.size() == expected.size()) env.stop();
        };
    }
    // After the run: the first receipt missing or wrong, else ok.
    Status verdict(int64_t timeout_s) const {
        if (!failure.ok()) return failure;
        for (const auto& [id, status] : expected) {
            if (!outcomes.contains(id)) {
                return Status(hub::Code::unavailable, "no feedback for " + id + " within " +
                                                          std::to_string(timeout_s) + " s");
            }
            if (outcomes.at(id) != status) {
                return Status(hub::Code::internal, "feedback for " + id + " says " +
                                                       outcomes.at(id) + ", expected " + status);
            }
        }
        return Status();
    }

    const std::map<std::string, std::string> expected;
    std::map<std::string, std::string> outcomes;
    Status failure;
    AmqpServiceClient service;
};

// A service sends two messages asking for full feedback; the device completes one and rejects
// the other; the feedback says Success and Rejected for exactly those.
Status c2d_settled_with_feedback(hub::server::RealEnv& env, const Options& options) {
    const std::string stamp = std::to_string(env.utc_now_ms());
    FeedbackWatch watch(env, options,
                        {{"hubconform-complete-" + stamp, "Success"},
                         {"hubconform-reject-" + stamp, "Rejected"}});
    AmqpDeviceClient device(env, client_config(options));
    std::map<std::string, int> deliveries;
    device.on_c2d = [&](const conformance::ReceivedC2d& m) {
        ++deliveries[m.message_id];
        return watch.expected.contains(m.message_id) &&
                       watch.expected.at(m.message_id) == "Rejected"
                   ? conformance::C2dOutcome::reject
                   : conformance::C2dOutcome::complete;
    };
    device.start();
    watch.service.start();
    for (const auto& [id, status] : watch.expected) {
        watch.service.send(
            {options.target.device_id, id, hub::Bytes(id.begin(), id.end()), "full"});
    }
    Status run = env.run_for(Duration::seconds(options.timeout_s));
    device.stop();
    watch.service.stop();
    if (!run.ok()) return run;
    for (const auto& [id, status] : watch.expected) {
        if (watch.failure.ok() && !deliveries.contains(id)) {
            return Status(hub::Code::unavailable, id + " never reached the device");
        }
    }
    return watch.verdict(options.timeout_s);
}

// The device abandons a message the first time it gets it: the hub delivers it again, the
// device completes it, and the feedback says Success (an abandon is not an outcome).
Status c2d_abandon_redelivered(hub::server::RealEnv& env, const Options& options) {
    const std::string id = "hubconform-abandon-" + std::to_string(env.utc_now_ms());
    FeedbackWatch watch(env, options, {{id, "Success"}});
    AmqpDeviceClient device(env, client_config(options));
    int deliveries = 0;
    device.on_c2d = [&](const conformance::ReceivedC2d& m) {
        if (m.message_id != id) return conformance::C2dOutcome::complete;
        return ++deliveries == 1 ? conformance::C2dOutcome::abandon
                                 : conformance::C2dOutcome::complete;
    };
    device.start();
    watch.service.start();
    watch.service.send({options.target.device_id, id, hub::Bytes(id.begin(), id.end()), "full"});
    Status run = env.run_for(Duration::seconds(options.timeout_s));
    device.stop();
    watch.service.stop();
    if (!run.ok()) return run;
    if (watch.failure.ok() && deliveries < 2) {
        return Status(hub::Code::unavailable, id + " was delivered " + std::to_string(deliveries) +
                                                  " time(s); an abandon must redeliver it");
    }
    return watch.verdict(options.timeout_s);
}

// While the device is offline, a service sends a message that expires in a few seconds and
// asks for negative feedback: the hub dead-letters it at its expiry and says Expired, and the
// device, connecting afterwards, never gets it. (The device must not be connected elsewhere.)
Status c2d_expired_with_feedback(hub::server::RealEnv& env, const Options& options) {
    const std::string id = "hubconform-expire-" + std::to_string(env.utc_now_ms());
    FeedbackWatch watch(env, options, {{id, "Expired"}});
    watch.service.start();
    conformance::C2dToSend message{options.target.device_id, id, hub::Bytes(id.begin(), id.end()),
                                   "negative"};
    message.expiry_time_utc_ms = env.utc_now_ms() + kShortTtlMs;
    watch.service.send(message);
    Status run = env.run_for(Duration::seconds(options.timeout_s));
    watch.service.stop();
    if (!run.ok()) return run;
    if (Status s = watch.verdict(options.timeout_s); !s.ok()) return s;
    AmqpDeviceClient device(env, client_config(options));
    bool delivered = false;
    device.on_c2d = [&](const conformance::ReceivedC2d& m) {
        delivered = delivered || m.message_id == id;
        return conformance::C2dOutcome::complete;
    };
    device.start();
    run = env.run_for(Duration::seconds(2));
    device.stop();
    if (!run.ok()) return run;
    if (delivered) return Status(hub::Code::internal, "the expired " + id + " reached the device");
    return Status();
}

const std::vector<Case>& cases() {
    static const std::vector<Case> all = {
        {"d2c.accepted", "D2C messages over AMQP are all accepted", false, d2c_accepted},
        {"auth.wrong-key-refused", "a token signed with a wrong key is refused", false,
         d2c_wrong_key_refused},
        {"c2d.settled-with-feedback",
         "C2D completed and rejected by the device yield Success and Rejected feedback", true,
         c2d_settled_with_feedback},
        {"c2d.abandon-redelivered",
         "a C2D message the device abandons is delivered again; completed, it yields Success",
         true, c2d_abandon_redelivered},
        {"c2d.expired-with-feedback",
         "a C2D message that expires while its device is offline yields Expired feedback and "
         "is never delivered",
         true, c2d_expired_with_feedback},
    };
    return all;
}

int usage_error(const std::string& message) {
    std::fprintf(stderr, "hubconform: %s\nTry 'hubconform --help'.\n", message.c_str());
    return 2;
}

int run_cases(const Options& options) {
    const std::string scratch =
        (std::filesystem::temp_directory_path() / ("hubconform-" + std::to_string(::getpid())))
            .string();
    int passed = 0;
    int failed = 0;
    std::printf("hubconform: hub %s, device %s, dialing %s\n", options.target.host_name.c_str(),
                options.target.device_id.c_str(), options.target.amqp_address().c_str());
    for (const Case& c : cases()) {
        if (std::string(c.name).find(options.filter) == std::string::npos) continue;
        hub::server::RealEnvConfig env_config;
        env_config.data_dir = scratch;
        env_config.tls.ca_pem_path = options.ca_path;
        auto env = hub::server::RealEnv::open(env_config);
        if (!env.ok()) {
            std::fprintf(stderr, "hubconform: %s\n", env.status().to_string().c_str());
            return 2;
        }
        if (c.needs_service && !options.service) {
            std::printf("[ SKIP ] %s: needs --service-connection-string\n", c.name);
            continue;
        }
        std::printf("[ RUN  ] %s: %s\n", c.name, c.what);
        std::fflush(stdout);
        const Status s = c.run(**env, options);
        std::printf("[ %s ] %s%s%s\n", s.ok() ? "PASS" : "FAIL", c.name, s.ok() ? "" : ": ",
                    s.ok() ? "" : s.message().c_str());
        (s.ok() ? passed : failed)++;
    }
    std::error_code ignored;
    std::filesystem::remove_all(scratch, ignored);
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    std::string connection_string;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(kHelp, stdout);
            return 0;
        }
        if (arg == "--list") {
            for (const Case& c : cases()) std::printf("%-26s %s\n", c.name, c.what);
            return 0;
        }
        if (i + 1 >= argc) return usage_error("missing value for " + arg);
        const std::string value = argv[++i];
        if (arg == "--connection-string") {
            connection_string = value;
        } else if (arg == "--service-connection-string") {
            auto service = conformance::parse_service_connection_string(value);
            if (!service.ok()) return usage_error(service.status().message());
            options.service = *service;
        } else if (arg == "--ca") {
            options.ca_path = value;
        } else if (arg == "--filter") {
            options.filter = value;
        } else if (arg == "--messages" || arg == "--timeout-seconds") {
            char* end = nullptr;
            const long long n = std::strtoll(value.c_str(), &end, 10);
            if (end == value.c_str() || *end != '\0' || n < 1 || n > 1000000) {
                return usage_error(arg + " takes a whole number from 1 to 1000000");
            }
            if (arg == "--messages") {
                options.messages = static_cast<uint32_t>(n);
            } else {
                options.timeout_s = n;
            }
        } else {
            return usage_error("unknown option " + arg);
        }
    }
    if (connection_string.empty()) return usage_error("--connection-string is required");
    auto target = conformance::parse_device_connection_string(connection_string);
    if (!target.ok()) return usage_error(target.status().message());
    options.target = *target;
    try {
        return run_cases(options);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hubconform: %s\n", e.what());
        return 1;
    }
}
