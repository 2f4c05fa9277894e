#include "conformance/reconnector.hpp"

#include <algorithm>
#include <utility>

namespace conformance {

Reconnector::Reconnector(hub::Env& env, hub::Duration backoff_min, hub::Duration backoff_max)
    : env_(env),
      backoff_min_(backoff_min),
      backoff_max_(backoff_max),
      backoff_(backoff_min),
      self_(std::make_shared<Reconnector*>(this)) {}

Reconnector::~Reconnector() {
    *self_ = nullptr;
    env_.cancel(timer_);
}

void Reconnector::stop() {
    running_ = false;
    ++attempt_;  // a connect still in flight must not bring a stopped client back
    env_.cancel(timer_);
    timer_ = 0;
}

void Reconnector::dial(const std::string& address, Dialed dialed) {
    env_.cancel(timer_);  // a retry still pending would dial a second time
    timer_ = 0;
    const uint64_t attempt = ++attempt_;
    std::weak_ptr<Reconnector*> weak = self_;
    env_.network().connect(address, [weak, attempt, dialed = std::move(dialed)](
                                        hub::Result<std::unique_ptr<hub::Stream>> result) {
        std::shared_ptr<Reconnector*> self = weak.lock();
        if (!self || !*self || attempt != (*self)->attempt_) {
            return;  // gone, stopped, or superseded meanwhile
        }
        dialed(std::move(result));
    });
}

void Reconnector::retry_later(std::function<void()> retry) {
    if (!running_ || timer_ != 0) {
        return;
    }
    // Full jitter: a random wait up to the current backoff, which doubles up to its bound.
    const hub::Duration wait{env_.random().uniform_between(backoff_min_.ns / 2, backoff_.ns)};
    backoff_ = std::min(backoff_max_, backoff_ * 2);
    timer_ = env_.schedule(env_.now() + wait, [this, retry = std::move(retry)] {
        timer_ = 0;
        retry();
    });
}

}  // namespace conformance
