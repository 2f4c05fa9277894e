// Fuzz target: untrusted bytes into one hub AMQP connection.
//
// Input format, so the fuzzer controls how bytes are split across reads and when time passes:
// a sequence of [u8 n][n bytes] chunks, each delivered as one read; n = 0 means "let 100 ms of
// virtual time pass" (group commits, Proton ticks). The hub may refuse anything; it must never
// trip an assertion, crash, or leak.
#include <cstddef>
#include <cstdint>

#include "fuzz/hub_world.hpp"

namespace {

// A stream the fuzzer writes into; what the hub writes back is dropped.
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

    void feed(hub::ByteView bytes) {
        if (on_read_) on_read_(bytes);
    }
    void end() {
        if (on_closed_) {
            ClosedHandler handler = std::move(on_closed_);
            on_closed_ = nullptr;
            on_read_ = nullptr;
            handler(hub::Status());
        }
    }

  private:
    bool* alive_;
    ReadHandler on_read_;
    ClosedHandler on_closed_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    bool alive = false;  // declared first: the world (which owns the stream) goes before it
    fuzz::HubWorld world;
    auto stream = std::make_unique<FuzzStream>(&alive);
    FuzzStream* input = stream.get();
    world.server->serve(std::move(stream));
    size_t pos = 0;
    while (pos < size && alive) {
        const size_t n = data[pos++];
        if (n == 0) {
            world.run_for(hub::Duration::millis(100));
            continue;
        }
        const size_t take = std::min(n, size - pos);
        input->feed(hub::ByteView(data + pos, take));
        pos += take;
        world.run_for(hub::Duration::millis(1));
    }
    if (alive) {
        input->end();
    }
    world.run_for(hub::Duration::seconds(1));
    return 0;
}
