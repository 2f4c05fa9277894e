// Fuzz target: untrusted bytes into one hub AMQP connection.
//
// Input format, so the fuzzer controls how bytes are split across reads and when time passes:
// a sequence of [u8 n][n bytes] chunks, each delivered as one read; n = 0 means "let 100 ms of
// virtual time pass" (group commits, Proton ticks). The hub may refuse anything; it must never
// trip an assertion, crash, or leak.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_stream.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    bool alive = false;  // declared first: the world (which owns the stream) goes before it
    fuzz::HubWorld world;
    auto stream = std::make_unique<fuzz::FuzzStream>(&alive);
    fuzz::FuzzStream* input = stream.get();
    world.server->serve(std::move(stream));
    fuzz::feed_chunks(world, input, alive, data, size, [](std::string chunk) { return chunk; });
    return 0;
}
