// Tests for RealEnv: timers, the POSIX disk and TLS streams over loopback.
//
// Every test bounds its event loop with run_for() and stops it as soon as its condition holds,
// so a broken build fails in seconds instead of hanging.
#include "hub/server/real_env.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "hub/server/test_temp_dir.hpp"
#include "hub/server/tls_cert.hpp"

namespace hub::server {
namespace {

constexpr Duration loop_limit = Duration::seconds(20);

Bytes bytes_of(const std::string& s) { return Bytes(s.begin(), s.end()); }
ByteView view_of(const Bytes& b) { return ByteView(b.data(), b.size()); }

// A pattern that exposes reordering, loss and duplication: byte i depends on i and a salt.
Bytes pattern_bytes(size_t n, uint8_t salt) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) {
        b[i] = static_cast<uint8_t>((i * 131 + (i >> 8) * 7 + salt) & 0xff);
    }
    return b;
}

std::unique_ptr<RealEnv> open_env(const TestTempDir& dir, TlsTimeouts timeouts = {}) {
    Result<CertFiles> cert = ensure_self_signed_cert(dir.sub("tls"));
    HUB_ASSERT(cert.ok());
    RealEnvConfig config;
    config.tls_timeouts = timeouts;
    config.data_dir = dir.sub("data");
    config.tls = TlsConfig{cert->cert_pem_path, cert->key_pem_path, cert->cert_pem_path};
    Result<std::unique_ptr<RealEnv>> env = RealEnv::open(config);
    HUB_ASSERT(env.ok());
    return std::move(*env);
}

// Runs until `done` holds (checked after every callback batch of up to 10 ms) or the limit.
template <typename Pred>
bool run_until(RealEnv& env, Pred done, Duration limit = loop_limit) {
    const Instant deadline = env.now() + limit;
    while (!done() && env.now() < deadline) {
        EXPECT_TRUE(env.run_for(Duration::millis(10)).ok());
    }
    return done();
}

// --------------------------------------------------------------------------------------------
// Clock and timers

TEST(RealEnvTimers, FireInDeadlineOrderAndCancelWorks) {
    TestTempDir dir;
    auto env = open_env(dir);
    std::vector<std::string> fired;
    const Instant t0 = env->now();
    TimerId a = env->schedule(t0 + Duration::millis(60), [&] { fired.push_back("a"); });
    TimerId b = env->schedule(t0 + Duration::millis(20), [&] { fired.push_back("b"); });
    TimerId c = env->schedule(t0 + Duration::millis(40), [&] { fired.push_back("c"); });
    TimerId d = env->schedule(t0, [&] { fired.push_back("d"); });
    EXPECT_LT(a, b);
    EXPECT_LT(b, c);
    EXPECT_LT(c, d);
    env->cancel(c);
    env->cancel(c);       // twice: a no-op
    env->cancel(999999);  // never scheduled: a no-op
    ASSERT_TRUE(run_until(*env, [&] { return fired.size() == 3; }));
    EXPECT_TRUE(env->run_for(Duration::millis(80)).ok());  // c must stay silent
    EXPECT_EQ(fired, (std::vector<std::string>{"d", "b", "a"}));
    EXPECT_GE(env->now() - t0, Duration::millis(60));
    EXPECT_EQ(env->pending_timer_count(), 0u);
}

TEST(RealEnvTimers, CallbackNeverRunsInsideSchedule) {
    TestTempDir dir;
    auto env = open_env(dir);
    bool ran = false;
    env->schedule(env->now() + Duration::seconds(-1), [&] { ran = true; });  // already due
    EXPECT_FALSE(ran);
    ASSERT_TRUE(run_until(*env, [&] { return ran; }));
}

TEST(RealEnvTimers, CallbacksMayScheduleAndCancel) {
    TestTempDir dir;
    auto env = open_env(dir);
    std::vector<int> fired;
    TimerId victim = env->schedule(env->now() + Duration::millis(50), [&] { fired.push_back(9); });
    TimerId self_id = 0;
    self_id = env->schedule(env->now() + Duration::millis(5), [&] {
        fired.push_back(1);
        env->cancel(self_id);  // itself, already running: a no-op
        env->cancel(victim);
        env->schedule(env->now(), [&] { fired.push_back(2); });
    });
    ASSERT_TRUE(run_until(*env, [&] { return fired.size() == 2; }));
    EXPECT_TRUE(env->run_for(Duration::millis(80)).ok());
    EXPECT_EQ(fired, (std::vector<int>{1, 2}));
}

TEST(RealEnvTrace, JsonLinesAreEscapedAndSurviveInvalidUtf8) {
    EXPECT_EQ(trace_json_line(1795763696123, "amqp.accept", "amqp#1 from 127.0.0.1:5"),
              R"({"detail":"amqp#1 from 127.0.0.1:5","event":"amqp.accept",)"
              R"("time":"2026-11-27T07:14:56.123Z"})");
    const std::string line = trace_json_line(0, "cbs.refused", "dev\"\n\xff");
    EXPECT_EQ(line, "{\"detail\":\"dev\\\"\\n\xEF\xBF\xBD\",\"event\":\"cbs.refused\","
                    "\"time\":\"1970-01-01T00:00:00.000Z\"}");  // U+FFFD for the bad byte
}

TEST(RealEnvTimers, ClocksLookSane) {
    TestTempDir dir;
    auto env = open_env(dir);
    Instant a = env->now();
    Instant b = env->now();
    EXPECT_LE(a, b);
    EXPECT_GT(env->utc_now_ms(), int64_t{1'600'000'000'000});  // after September 2020
    uint64_t x = env->random().next_u64();
    EXPECT_NE(x, env->random().next_u64());
}

TEST(RealEnvTimers, StopEndsRun) {
    TestTempDir dir;
    auto env = open_env(dir);
    env->schedule(env->now() + Duration::millis(10), [&] { env->stop(); });
    EXPECT_TRUE(env->run().ok());  // returns only because of stop()
}

TEST(RealEnvTimers, ThrowingCallbackBecomesStatus) {
    TestTempDir dir;
    auto env = open_env(dir);
    env->schedule(env->now(), [] { throw std::runtime_error("boom"); });
    Status s = env->run_for(Duration::seconds(5));
    EXPECT_EQ(s.code(), Code::internal);
    EXPECT_NE(s.message().find("boom"), std::string::npos);
}

// --------------------------------------------------------------------------------------------
// Disk

TEST(RealEnvDisk, AppendSyncReadTruncateListRemove) {
    TestTempDir dir;
    auto env = open_env(dir);
    Disk& disk = env->disk();
    EXPECT_TRUE(disk.list().empty());
    ASSERT_TRUE(disk.append("b.log", view_of(bytes_of("hello "))).ok());
    ASSERT_TRUE(disk.append("b.log", view_of(bytes_of("world"))).ok());
    ASSERT_TRUE(disk.sync("b.log").ok());
    ASSERT_TRUE(disk.append("a.log", view_of(bytes_of("x"))).ok());
    ASSERT_TRUE(disk.append("d2c/0.log", view_of(bytes_of("p0"))).ok());
    EXPECT_EQ(disk.list(), (std::vector<std::string>{"a.log", "b.log", "d2c/0.log"}));

    Result<Bytes> b = disk.read("b.log");
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(*b, bytes_of("hello world"));

    ASSERT_TRUE(disk.truncate("b.log", 5).ok());
    EXPECT_EQ(*disk.read("b.log"), bytes_of("hello"));
    ASSERT_TRUE(disk.append("b.log", view_of(bytes_of("!"))).ok());  // appends at the new end
    EXPECT_EQ(*disk.read("b.log"), bytes_of("hello!"));
    EXPECT_EQ(disk.truncate("b.log", 100).code(), Code::invalid_argument);
    ASSERT_TRUE(disk.truncate("b.log", 0).ok());
    EXPECT_TRUE(disk.read("b.log")->empty());

    ASSERT_TRUE(disk.remove("a.log").ok());
    EXPECT_EQ(disk.list(), (std::vector<std::string>{"b.log", "d2c/0.log"}));
    EXPECT_EQ(disk.read("a.log").status().code(), Code::not_found);
    EXPECT_EQ(disk.remove("a.log").code(), Code::not_found);
    EXPECT_EQ(disk.sync("a.log").code(), Code::not_found);
    EXPECT_EQ(disk.truncate("a.log", 0).code(), Code::not_found);
}

TEST(RealEnvDisk, DataSurvivesReopen) {
    TestTempDir dir;
    {
        auto env = open_env(dir);
        ASSERT_TRUE(env->disk().append("log", view_of(bytes_of("durable"))).ok());
        ASSERT_TRUE(env->disk().sync("log").ok());
    }
    auto env = open_env(dir);
    EXPECT_EQ(*env->disk().read("log"), bytes_of("durable"));
}

TEST(RealEnvDisk, PwriteOverwritesExtendsAndRejectsGaps) {
    TestTempDir dir;
    auto env = open_env(dir);
    Disk& disk = env->disk();
    ASSERT_TRUE(disk.pwrite("p/f", 0, view_of(bytes_of("hello"))).ok());  // makes file and dir
    ASSERT_TRUE(disk.pwrite("p/f", 1, view_of(bytes_of("EL"))).ok());
    ASSERT_TRUE(disk.pwrite("p/f", 4, view_of(bytes_of("O world"))).ok());  // across the end
    EXPECT_EQ(*disk.read("p/f"), bytes_of("hELlO world"));
    EXPECT_EQ(disk.pwrite("p/f", 12, view_of(bytes_of("x"))).code(), Code::invalid_argument);
    EXPECT_EQ(disk.pwrite("missing", 3, view_of(bytes_of("x"))).code(), Code::not_found);
    EXPECT_EQ(disk.pwrite("../f", 0, view_of(bytes_of("x"))).code(), Code::invalid_argument);
    // append() goes to the end even after pwrite() and truncate() moved things around.
    ASSERT_TRUE(disk.truncate("p/f", 5).ok());
    ASSERT_TRUE(disk.append("p/f", view_of(bytes_of("!"))).ok());
    ASSERT_TRUE(disk.pwrite("p/f", 0, view_of(bytes_of("J"))).ok());
    ASSERT_TRUE(disk.append("p/f", view_of(bytes_of("?"))).ok());
    ASSERT_TRUE(disk.sync("p/f").ok());
    EXPECT_EQ(*disk.read("p/f"), bytes_of("JELlO!?"));
    EXPECT_EQ(disk.list(), (std::vector<std::string>{"p/f"}));
}

TEST(RealEnvDisk, RenameReplacesAtomicallyAndSurvivesReopen) {
    TestTempDir dir;
    {
        auto env = open_env(dir);
        Disk& disk = env->disk();
        ASSERT_TRUE(disk.append("snap", view_of(bytes_of("old"))).ok());
        ASSERT_TRUE(disk.sync("snap").ok());
        ASSERT_TRUE(disk.append("snap.tmp", view_of(bytes_of("new"))).ok());
        ASSERT_TRUE(disk.sync("snap.tmp").ok());
        EXPECT_EQ(*disk.read("snap"), bytes_of("old"));  // "snap" is open in the cache
        ASSERT_TRUE(disk.rename("snap.tmp", "snap").ok());
        EXPECT_EQ(*disk.read("snap"), bytes_of("new"));  // not the stale descriptor
        EXPECT_EQ(disk.list(), (std::vector<std::string>{"snap"}));
        ASSERT_TRUE(disk.rename("snap", "sub/dir/snap").ok());  // into a new directory
        ASSERT_TRUE(disk.append("sub/dir/snap", view_of(bytes_of("+"))).ok());
        ASSERT_TRUE(disk.sync("sub/dir/snap").ok());
        EXPECT_TRUE(disk.rename("sub/dir/snap", "sub/dir/snap").ok());
        EXPECT_EQ(disk.rename("gone", "snap").code(), Code::not_found);
        EXPECT_EQ(disk.rename("sub/dir/snap", "/abs").code(), Code::invalid_argument);
    }
    auto env = open_env(dir);
    EXPECT_EQ(env->disk().list(), (std::vector<std::string>{"sub/dir/snap"}));
    EXPECT_EQ(*env->disk().read("sub/dir/snap"), bytes_of("new+"));
}

TEST(RealEnvDisk, ManyFilesBeyondTheDescriptorCache) {
    TestTempDir dir;
    auto env = open_env(dir);
    constexpr int files = 150;  // more than PosixDisk keeps open
    for (int round = 0; round < 2; ++round) {
        for (int i = 0; i < files; ++i) {
            ASSERT_TRUE(env->disk().append("f" + std::to_string(1000 + i), view_of(bytes_of("x")))
                            .ok());
        }
    }
    for (int i = 0; i < files; ++i) {
        EXPECT_EQ(*env->disk().read("f" + std::to_string(1000 + i)), bytes_of("xx"));
    }
    EXPECT_EQ(env->disk().list().size(), size_t{files});
}

TEST(RealEnvDisk, RejectsBadNames) {
    TestTempDir dir;
    auto env = open_env(dir);
    for (const std::string name : {"", "/abs", "../escape", "a/../b", "a//b", "./a", "dir/"}) {
        EXPECT_EQ(env->disk().append(name, view_of(bytes_of("x"))).code(),
                  Code::invalid_argument)
            << "name '" << name << "'";
    }
    EXPECT_TRUE(env->disk().list().empty());
}

TEST(RealEnvDisk, UnusableDataDirIsAClearError) {
    TestTempDir dir;
    auto env = open_env(dir);  // makes dir/data
    ASSERT_TRUE(env->disk().append("plain-file", view_of(bytes_of("x"))).ok());
    RealEnvConfig config;
    config.data_dir = dir.sub("data/plain-file/sub");
    Result<std::unique_ptr<RealEnv>> bad = RealEnv::open(config);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("not a directory"), std::string::npos)
        << bad.status().to_string();
}

// --------------------------------------------------------------------------------------------
// TLS network

// One end of a stream as a test sees it: everything read, and how it ended.
struct Endpoint {
    std::unique_ptr<Stream> stream;
    Bytes received;
    int closed_calls = 0;
    Status closed_status;
    int reads_after_close = 0;
    bool owner_closed = false;
    bool drop_on_read = false;

    void attach(std::unique_ptr<Stream> s) {
        stream = std::move(s);
        stream->set_handlers(
            [this](ByteView bytes) {
                reads_after_close += owner_closed ? 1 : 0;
                received.insert(received.end(), bytes.begin(), bytes.end());
                if (drop_on_read) {
                    stream.reset();  // destroys the stream from inside its own callback
                }
            },
            [this](const Status& status) {
                ++closed_calls;
                closed_status = status;
            });
    }
    void close() {
        owner_closed = true;
        stream->close();
    }
};

// A listener on 127.0.0.1:0 and one client connected to it through `connect_host`.
struct Loopback {
    explicit Loopback(RealEnv& env, const std::string& connect_host = "localhost") {
        auto l = env.network().listen("127.0.0.1:0", [this](std::unique_ptr<Stream> s) {
            server.attach(std::move(s));
        });
        HUB_ASSERT(l.ok());
        listener = std::move(*l);
        const std::string port = listener->address().substr(listener->address().rfind(':') + 1);
        env.network().connect(connect_host + ":" + port,
                              [this](Result<std::unique_ptr<Stream>> s) {
                                  connect_status = s.ok() ? Status::ok_status() : s.status();
                                  connected = true;
                                  if (s.ok()) {
                                      client.attach(std::move(*s));
                                  }
                              });
        ok = run_until(env, [this] { return connected && server.stream != nullptr; }) &&
             connect_status.ok();
    }

    std::unique_ptr<Listener> listener;
    Endpoint server;
    Endpoint client;
    bool connected = false;
    Status connect_status;
    bool ok = false;
};

// Writes `total` pattern bytes in chunks of varying size, then one big write of `total` more.
Bytes write_in_chunks(Stream& stream, size_t total, uint8_t salt) {
    Bytes all = pattern_bytes(2 * total, salt);
    size_t done = 0;
    for (size_t chunk = 1; done < total; chunk = chunk * 7 % 7919 + 1) {
        size_t n = std::min(chunk, total - done);
        stream.write(ByteView(all.data() + done, n));
        done += n;
    }
    stream.write(ByteView(all.data() + total, total));
    return all;
}

TEST(RealEnvTls, ListenReportsTheRealPort) {
    TestTempDir dir;
    auto env = open_env(dir);
    auto l = env->network().listen("127.0.0.1:0", [](std::unique_ptr<Stream>) {});
    ASSERT_TRUE(l.ok()) << l.status().to_string();
    const std::string address = (*l)->address();
    EXPECT_EQ(address.rfind("127.0.0.1:", 0), 0u) << address;
    EXPECT_NE(address, "127.0.0.1:0");
}

TEST(RealEnvTls, BytesFlowBothWaysInOrderIncludingOneMebibyteWrites) {
    TestTempDir dir;
    auto env = open_env(dir);
    Loopback lb(*env);
    ASSERT_TRUE(lb.ok) << lb.connect_status.to_string();
    EXPECT_EQ(lb.client.stream->peer().rfind("localhost:", 0), 0u);
    EXPECT_EQ(lb.server.stream->peer().rfind("127.0.0.1:", 0), 0u);

    constexpr size_t mib = 1024 * 1024;
    Bytes up = write_in_chunks(*lb.client.stream, mib, 1);
    Bytes down = write_in_chunks(*lb.server.stream, mib, 2);
    ASSERT_TRUE(run_until(*env, [&] {
        return lb.server.received.size() >= up.size() && lb.client.received.size() >= down.size();
    }));
    EXPECT_TRUE(lb.server.received == up);
    EXPECT_TRUE(lb.client.received == down);
    EXPECT_EQ(lb.server.closed_calls + lb.client.closed_calls, 0);
}

TEST(RealEnvTls, APeerThatStopsReadingIsDisconnectedAsASlowClient) {
    TestTempDir dir;
    TlsTimeouts timeouts;
    timeouts.write_stall = Duration::millis(300);
    auto env = open_env(dir, timeouts);
    Endpoint server;
    auto l = env->network().listen("127.0.0.1:0", [&](std::unique_ptr<Stream> s) {
        server.attach(std::move(s));
    });
    ASSERT_TRUE(l.ok());
    std::unique_ptr<Stream> idle_client;  // connected, but never reads: no handlers set
    env->network().connect("localhost:" + (*l)->address().substr((*l)->address().rfind(':') + 1),
                           [&](Result<std::unique_ptr<Stream>> s) {
                               if (s.ok()) idle_client = std::move(*s);
                           });
    ASSERT_TRUE(run_until(*env, [&] { return idle_client && server.stream; }));
    // More than loopback's socket buffers on both sides can hold.
    const Bytes chunk(1024 * 1024, 7);
    for (int i = 0; i < 48; ++i) server.stream->write(chunk);
    ASSERT_TRUE(run_until(*env, [&] { return server.closed_calls > 0; }));
    EXPECT_EQ(server.closed_status.code(), Code::resource_exhausted)
        << server.closed_status.to_string();
    EXPECT_NE(server.closed_status.message().find("slow client"), std::string::npos);
}

TEST(RealEnvTls, PeerCloseGivesOkAndQueuedBytesArriveFirst) {
    TestTempDir dir;
    auto env = open_env(dir);
    Loopback lb(*env, "127.0.0.1");  // the IP SAN this time
    ASSERT_TRUE(lb.ok) << lb.connect_status.to_string();
    Bytes last = pattern_bytes(300 * 1024, 3);
    lb.client.stream->write(view_of(last));
    lb.client.close();  // orderly: after the queued bytes
    lb.client.stream->write(view_of(bytes_of("dropped")));  // closed: dropped
    ASSERT_TRUE(run_until(*env, [&] { return lb.server.closed_calls > 0; }));
    EXPECT_TRUE(lb.server.closed_status.ok()) << lb.server.closed_status.to_string();
    EXPECT_EQ(lb.server.closed_calls, 1);
    EXPECT_TRUE(lb.server.received == last);
    EXPECT_EQ(lb.client.closed_calls, 0);  // no callback after the owner's close()
}

TEST(RealEnvTls, NoCallbackAfterOwnerCloseOrDestroy) {
    TestTempDir dir;
    auto env = open_env(dir);
    Loopback lb(*env);
    ASSERT_TRUE(lb.ok) << lb.connect_status.to_string();
    lb.client.close();
    lb.server.stream->write(view_of(bytes_of("after close")));
    EXPECT_TRUE(env->run_for(Duration::millis(200)).ok());
    EXPECT_EQ(lb.client.reads_after_close, 0);
    EXPECT_EQ(lb.client.closed_calls, 0);
    lb.server.stream.reset();  // dropping an ended stream is fine too
    EXPECT_TRUE(env->run_for(Duration::millis(50)).ok());
}

TEST(RealEnvTls, StreamMayBeDroppedInsideItsOwnReadCallback) {
    TestTempDir dir;
    auto env = open_env(dir);
    Loopback lb(*env);
    ASSERT_TRUE(lb.ok) << lb.connect_status.to_string();
    lb.server.drop_on_read = true;
    lb.client.stream->write(view_of(bytes_of("first")));
    ASSERT_TRUE(run_until(*env, [&] { return lb.server.stream == nullptr; }));
    lb.client.stream->write(view_of(bytes_of("second")));  // nobody may hear this
    ASSERT_TRUE(run_until(*env, [&] { return lb.client.closed_calls > 0; }));
    EXPECT_TRUE(lb.client.closed_status.ok()) << lb.client.closed_status.to_string();
    EXPECT_EQ(lb.server.received, bytes_of("first"));
    EXPECT_EQ(lb.server.closed_calls, 0);
}

TEST(RealEnvTls, PortInUseIsAClearError) {
    TestTempDir dir;
    auto env = open_env(dir);
    auto first = env->network().listen("127.0.0.1:0", [](std::unique_ptr<Stream>) {});
    ASSERT_TRUE(first.ok());
    const std::string address = (*first)->address();
    auto second = env->network().listen(address, [](std::unique_ptr<Stream>) {});
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().message(), "address " + address + " is already in use");
}

TEST(RealEnvTls, BadAddressesAreRejected) {
    TestTempDir dir;
    auto env = open_env(dir);
    for (const std::string address : {"", "5671", ":5671", "127.0.0.1:", "127.0.0.1:99999",
                                      "127.0.0.1:http", "::1:5671"}) {
        auto l = env->network().listen(address, [](std::unique_ptr<Stream>) {});
        EXPECT_EQ(l.ok() ? Code::ok : l.status().code(), Code::invalid_argument) << address;
    }
}

TEST(RealEnvTls, ConnectFailuresAreReportedLater) {
    TestTempDir dir;
    auto env = open_env(dir);
    std::string free_address;
    {
        auto l = env->network().listen("127.0.0.1:0", [](std::unique_ptr<Stream>) {});
        ASSERT_TRUE(l.ok());
        free_address = (*l)->address();  // closed again at the end of this block
    }
    std::optional<Status> refused;
    std::optional<Status> malformed;
    env->network().connect(free_address, [&](Result<std::unique_ptr<Stream>> s) {
        refused = s.ok() ? Status::ok_status() : s.status();
    });
    env->network().connect("not an address", [&](Result<std::unique_ptr<Stream>> s) {
        malformed = s.ok() ? Status::ok_status() : s.status();
    });
    EXPECT_FALSE(refused || malformed);  // never inside connect()
    ASSERT_TRUE(run_until(*env, [&] { return refused && malformed; }));
    EXPECT_EQ(refused->code(), Code::unavailable) << refused->to_string();
    EXPECT_NE(refused->message().find("refused"), std::string::npos) << refused->to_string();
    EXPECT_EQ(malformed->code(), Code::invalid_argument) << malformed->to_string();
}

TEST(RealEnvTls, UntrustedServerCertificateIsRefused) {
    TestTempDir dir;
    auto env = open_env(dir);
    Result<CertFiles> other = ensure_self_signed_cert(dir.sub("other-ca"));
    ASSERT_TRUE(other.ok());
    TlsNetwork stranger(env->io_context(), TlsConfig{"", "", other->cert_pem_path});
    int accepted = 0;
    auto l = env->network().listen("127.0.0.1:0", [&](std::unique_ptr<Stream>) { ++accepted; });
    ASSERT_TRUE(l.ok());
    const std::string port = (*l)->address().substr((*l)->address().rfind(':') + 1);
    std::optional<Status> result;
    stranger.connect("localhost:" + port, [&](Result<std::unique_ptr<Stream>> s) {
        result = s.ok() ? Status::ok_status() : s.status();
    });
    ASSERT_TRUE(run_until(*env, [&] { return result.has_value(); }));
    EXPECT_FALSE(result->ok());
    EXPECT_NE(result->message().find("certificate verify failed"), std::string::npos)
        << result->to_string();
    EXPECT_TRUE(env->run_for(Duration::millis(100)).ok());
    EXPECT_EQ(accepted, 0);  // the server never hands over a stream whose handshake failed
}

}  // namespace
}  // namespace hub::server
