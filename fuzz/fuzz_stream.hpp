// What the connection fuzz targets share: a stream the fuzzer writes into, and the input
// format [u8 n][n bytes] chunks, each one read, where n = 0 lets 100 ms of virtual time pass.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/hub_world.hpp"

namespace fuzz {

// A stream the fuzzer writes into; what the hub writes back is dropped. `*alive` tracks the
// stream's lifetime (the hub destroys it when the connection ends).
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
        if (on_read_) {
            on_read_(hub::ByteView(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
        }
    }
    // The peer closes its side (orderly).
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

// Feeds the fuzz input to `input` chunk by chunk (each chunk passed through `transform`
// first), letting virtual time pass between reads, then closes the stream and lets a second
// pass. REQUIRES: *alive was set by `input`'s constructor.
template <typename Transform>
void feed_chunks(HubWorld& world, FuzzStream* input, const bool& alive, const uint8_t* data,
                 size_t size, Transform transform) {
    size_t pos = 0;
    while (pos < size && alive) {
        const size_t n = data[pos++];
        if (n == 0) {
            world.run_for(hub::Duration::millis(100));
            continue;
        }
        std::string chunk(reinterpret_cast<const char*>(data + pos), std::min(n, size - pos));
        pos += chunk.size();
        input->feed(transform(std::move(chunk)));
        world.run_for(hub::Duration::millis(1));
    }
    if (alive) {
        input->end();
    }
    world.run_for(hub::Duration::seconds(1));
}

}  // namespace fuzz
