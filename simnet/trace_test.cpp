#include "simnet/trace.hpp"

#include <gtest/gtest.h>

namespace simnet {
namespace {

TEST(Trace, SinksSeeIndexedEventsWithTheChainHash) {
    Trace trace(1);
    TraceRecorder recorder;
    trace.add_sink(recorder.sink());
    trace.record(5, "hub", "boot", "epoch=0");
    trace.record(9, "dev", "send", "id=1");
    ASSERT_EQ(recorder.events().size(), 2u);
    EXPECT_EQ(recorder.events()[1].index, 1u);
    EXPECT_EQ(recorder.events()[1].hash, trace.hash());
    EXPECT_NE(recorder.events()[0].hash, recorder.events()[1].hash);
}

TEST(Trace, FirstDivergenceNamesTheFirstDifferentEvent) {
    const auto run = [](const std::string& third_detail, int events) {
        Trace trace(7);
        TraceRecorder recorder;
        trace.add_sink(recorder.sink());
        for (int i = 0; i < events; ++i) {
            trace.record(i, "n", "k", i == 2 ? third_detail : "same");
        }
        return recorder.events();
    };
    EXPECT_EQ(first_divergence(run("x", 5), run("x", 5)), std::nullopt);
    EXPECT_EQ(first_divergence(run("x", 5), run("y", 5)), 2u);
    EXPECT_EQ(first_divergence(run("x", 5), run("x", 4)), 4u);  // one run is longer
}

TEST(Trace, JsonlEscapesAndCarriesEveryField) {
    const TraceEvent e{3, 42, "hub", "k\"ind", "a\nb", 0xabcULL};
    EXPECT_EQ(to_jsonl(e), "{\"i\":3,\"t_ns\":42,\"node\":\"hub\",\"kind\":\"k\\\"ind\","
                           "\"detail\":\"a\\nb\",\"hash\":\"0000000000000abc\"}");
}

}  // namespace
}  // namespace simnet
