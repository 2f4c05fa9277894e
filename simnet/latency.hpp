// LatencyModel: a distribution of delays drawn from hub::Random, for packets and stream chunks.
//
// Shapes: fixed(d); uniform(min, max); exponential(mean, cap) (memoryless network queueing, as
// TigerBeetle's packet simulator and turmoil draw one-way delays), each optionally shifted by
// a constant base: base_plus_jitter(base, jitter) draws base + jitter.draw().
//
// Determinism: a draw depends only on the Random's state, on every platform. Exponential draws
// use no floating point at all: -ln(u) comes from an integer inverse CDF (a 257-entry Q32
// table of ln(1 + k/256), computed at compile time with integer arithmetic, plus linear
// interpolation), so no libm and no compiler contraction of float expressions can change a
// run. fixed() consumes no random draws; uniform() and exponential() consume exactly one.
//
// A LatencyModel is a small value type; copy it freely.
//
// Example:
//   LatencyModel wan = LatencyModel::base_plus_jitter(Duration::millis(20),
//                          LatencyModel::exponential(Duration::millis(5), Duration::millis(200)));
//   Duration d = wan.draw(random);  // 20 ms + Exp(5 ms) capped at 200 ms
#pragma once

#include <cstdint>
#include <string>

#include "hub/env/random.hpp"
#include "hub/env/time.hpp"

namespace simnet {

class LatencyModel {
  public:
    // Always `delay`. REQUIRES: delay >= 0.
    static LatencyModel fixed(hub::Duration delay);
    // Uniform in [min, max] (integer ns). REQUIRES: 0 <= min <= max.
    static LatencyModel uniform(hub::Duration min, hub::Duration max);
    // Exponential with the given mean, never above `cap`. REQUIRES: mean >= 0, cap >= 0.
    static LatencyModel exponential(hub::Duration mean, hub::Duration cap);
    // `base` plus a draw of `jitter`. REQUIRES: base >= 0.
    static LatencyModel base_plus_jitter(hub::Duration base, LatencyModel jitter);

    hub::Duration draw(hub::Random& random) const;
    // Bounds of every draw.
    hub::Duration min() const;
    hub::Duration max() const;
    // For logs and reports, e.g. "20ms+exp(mean=5ms,cap=200ms)".
    std::string describe() const;

  private:
    enum class Shape { fixed, uniform, exponential };
    LatencyModel(Shape shape, hub::Duration base, hub::Duration a, hub::Duration b);

    Shape shape_;
    hub::Duration base_;
    hub::Duration a_;  // fixed: the delay; uniform: min; exponential: mean
    hub::Duration b_;  // uniform: max; exponential: cap
};

// -ln(r / 2^64) as unsigned Q32.32 fixed point (r == 0 is read as r == 1), accurate to about
// 2e-6 relative; the inverse CDF of Exp(1) for a uniform 64-bit draw r.
uint64_t neg_ln_q32(uint64_t r);

// One Exp(mean_ns) draw, rounded to whole ns and capped at cap_ns. One random draw.
// REQUIRES: mean_ns >= 0, cap_ns >= 0.
int64_t draw_exponential_ns(hub::Random& random, int64_t mean_ns, int64_t cap_ns);

}  // namespace simnet
