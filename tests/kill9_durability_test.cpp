// kill -9 durability of the real iothubd: our device client sends D2C messages over TLS while
// the test SIGKILLs the server at random moments and starts it again on the same data
// directory, several times. Afterwards, every message the hub acknowledged must be in its log
// (read by opening the data directory in-process). Acknowledgements come only after fsync, so
// nothing acknowledged may be lost, whatever moment the kill hits.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "conformance/amqp_device_client.hpp"
#include "hub/core/hub.hpp"
#include "hub/server/real_env.hpp"
#include "hub/server/test_temp_dir.hpp"

namespace {

using hub::Duration;

constexpr const char* kKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
constexpr int kKills = 8;

uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    HUB_ASSERT(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    HUB_ASSERT(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    ::close(fd);
    return ntohs(addr.sin_port);
}

// The iothubd child process.
class Server {
  public:
    Server(std::string data_dir, uint16_t port) : data_dir_(std::move(data_dir)), port_(port) {}
    ~Server() { kill(SIGKILL); }
    void start() {
        pid_ = ::fork();
        HUB_ASSERT(pid_ >= 0);
        if (pid_ == 0) {
            const int null_fd = ::open("/dev/null", O_WRONLY);
            ::dup2(null_fd, 1);
            ::dup2(null_fd, 2);
            const std::string port = std::to_string(port_);
            ::execl(IOTHUBD_PATH, "iothubd", "--data-dir", data_dir_.c_str(), "--amqp-port",
                    port.c_str(), "--https-port", "0", "--device", (std::string("dev1:") + kKey).c_str(),
                    "--exit-after-seconds", "120", static_cast<char*>(nullptr));
            ::_exit(127);
        }
    }
    void kill(int signal) {
        if (pid_ > 0) {
            ::kill(pid_, signal);
            ::waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
    }

  private:
    std::string data_dir_;
    uint16_t port_;
    pid_t pid_ = -1;
};

TEST(Kill9Durability, NothingAcknowledgedIsLostAcrossSigkills) {
    hub::server::TestTempDir dir;
    const std::string data_dir = dir.sub("iothubd");
    const uint16_t port = free_port();
    Server server(data_dir, port);
    server.start();
    for (int i = 0; i < 100 && !std::filesystem::exists(data_dir + "/tls/cert.pem"); ++i) {
        ::usleep(50 * 1000);  // the server makes its certificate on first start
    }
    hub::server::RealEnvConfig env_config;
    env_config.data_dir = dir.sub("client");
    env_config.tls.ca_pem_path = data_dir + "/tls/cert.pem";
    env_config.trace_to_stderr = std::getenv("HUB_TRACE") != nullptr;
    auto env = std::move(*hub::server::RealEnv::open(env_config));

    conformance::DeviceClientConfig config;
    config.hub_address = "localhost:" + std::to_string(port);
    config.device_id = "dev1";
    config.key = kKey;
    config.backoff_max = Duration::millis(100);
    conformance::AmqpDeviceClient client(*env, config);
    std::set<std::string> acknowledged;
    client.on_acknowledged = [&](const std::string& id) { acknowledged.insert(id); };
    for (int i = 0; i < 200000; ++i) {
        client.send("m" + std::to_string(i), hub::Bytes(64, 'x'));
    }
    client.start();

    int kills = 0;
    std::vector<size_t> acked_at_kill;
    std::function<void()> arm = [&] {
        env->schedule(env->now() + Duration::millis(env->random().uniform_between(200, 600)), [&] {
            server.kill(SIGKILL);
            acked_at_kill.push_back(acknowledged.size());
            server.start();
            if (++kills < kKills) arm(); else env->stop();
        });
    };
    arm();
    ASSERT_TRUE(env->run_for(Duration::seconds(60)).ok());
    ASSERT_EQ(kills, kKills);
    // Let the client reconnect once more so acknowledgements also follow the last restart.
    const size_t before_last = acknowledged.size();
    env->schedule(env->now() + Duration::seconds(2), [&] { env->stop(); });
    ASSERT_TRUE(env->run_for(Duration::seconds(10)).ok());
    client.stop();
    server.kill(SIGKILL);
    EXPECT_GT(acknowledged.size(), before_last) << "no acknowledgement after the last restart";
    EXPECT_GT(acked_at_kill.back(), acked_at_kill.front()) << "acknowledgements did not span kills";

    hub::server::RealEnvConfig reopen;
    reopen.data_dir = data_dir + "/hub";
    auto verify_env = std::move(*hub::server::RealEnv::open(reopen));
    hub::HubConfig hub_config;
    auto hub = hub::Hub::open(*verify_env, hub_config);
    ASSERT_TRUE(hub.ok()) << hub.status().to_string();
    std::set<std::string> logged;
    for (uint32_t p = 0; p < (*hub)->d2c().partition_count(); ++p) {
        for (const hub::StoredEvent& e : (*hub)->d2c().events(p)) logged.insert(e.message.message_id);
    }
    size_t missing = 0;
    for (const std::string& id : acknowledged) missing += logged.contains(id) ? 0 : 1;
    EXPECT_EQ(missing, 0u) << "of " << acknowledged.size() << " acknowledged messages";
    std::printf("kill -9 x%d: %zu messages acknowledged, %zu in the log, %zu missing\n", kills,
                acknowledged.size(), logged.size(), missing);
}

}  // namespace
