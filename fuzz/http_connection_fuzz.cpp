// Fuzz target: untrusted bytes into one hub HTTP connection (Beast's parser, our routes).
//
// Input format as amqp_connection: [u8 n][n bytes] chunks, each one read; n = 0 lets 100 ms of
// virtual time pass (group commits). A valid device and policy token for the fixed world are
// substituted for the placeholders DEVTOKEN and SVCTOKEN, so the fuzzer reaches the routes
// behind authentication. The hub may refuse anything; it must never crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/hub_world.hpp"
#include "hub/auth/sas.hpp"
#include "hub/http/http_server.hpp"

namespace {

class FuzzStream : public hub::Stream {
  public:
    explicit FuzzStream(bool* alive) : alive_(alive) { *alive_ = true; }
    ~FuzzStream() override { *alive_ = false; }
    void set_handlers(ReadHandler on_read, ClosedHandler on_closed) override {
        on_read_ = std::move(on_read);
        on_closed_ = std::move(on_closed);
    }
    void write(hub::ByteView) override {}
    void close() override { on_read_ = nullptr; }
    std::string peer() const override { return "fuzzer"; }
    void feed(const std::string& bytes) {
        if (on_read_) on_read_(hub::ByteView(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
    }

  private:
    bool* alive_;
    ReadHandler on_read_;
    ClosedHandler on_closed_;
};

void replace_all(std::string& s, const std::string& from, const std::string& to) {
    for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
        s.replace(pos, from.size(), to);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    bool alive = false;  // declared first: the world (which owns the stream) goes before it
    fuzz::HubWorld world;
    hub::http::HttpServer server(world.node, *world.hub);
    const int64_t expiry = world.node.utc_now_ms() / 1000 + 3600;
    const std::string device_token = hub::auth::make_sas_token(
        hub::auth::url_encode_strict(std::string(fuzz::kHubHostName) + "/devices/" + fuzz::kDeviceId),
        fuzz::kDeviceKey, expiry);
    const std::string service_token = hub::auth::make_sas_token(
        fuzz::kHubHostName, world.hub->registry().policy("iothubowner")->primary_key, expiry,
        "iothubowner");
    auto stream = std::make_unique<FuzzStream>(&alive);
    FuzzStream* input = stream.get();
    server.serve(std::move(stream));
    size_t pos = 0;
    while (pos < size && alive) {
        const size_t n = data[pos++];
        if (n == 0) {
            world.run_for(hub::Duration::millis(100));
            continue;
        }
        std::string chunk(reinterpret_cast<const char*>(data + pos), std::min(n, size - pos));
        pos += chunk.size();
        replace_all(chunk, "DEVTOKEN", device_token);
        replace_all(chunk, "SVCTOKEN", service_token);
        input->feed(chunk);
        world.run_for(hub::Duration::millis(1));
    }
    world.run_for(hub::Duration::seconds(1));
    return 0;
}
