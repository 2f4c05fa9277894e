#include "simnet/simulator.hpp"

#include "simnet/heap_queue.hpp"
#include "simnet/wheel_queue.hpp"

namespace simnet {


namespace {

std::unique_ptr<EventQueue> make_queue(SchedulerKind kind) {
    if (kind == SchedulerKind::heap) {
        return std::make_unique<HeapQueue>();
    }
    return std::make_unique<WheelQueue>();
}

}  // namespace

Simulator::Simulator(uint64_t seed, SchedulerKind scheduler)
    : seed_(seed), scheduler_(scheduler), root_(seed), queue_(make_queue(scheduler)),
      trace_(seed) {}

Simulator::~Simulator() = default;

TimerId Simulator::schedule(Instant at, std::function<void()> fn) {
    HUB_ASSERT(at >= now_);
    return queue_->push(at.ns, std::move(fn));
}

TimerId Simulator::schedule(Instant at, SmallCallback fn) {
    HUB_ASSERT(at >= now_);
    return queue_->push(at.ns, fn);
}

void Simulator::cancel(TimerId id) { (void)queue_->cancel(id); }

void Simulator::run(Event& event) {
    HUB_ASSERT(event.time_ns >= now_.ns);
    now_ = Instant{event.time_ns};
    ++events_run_;
    event.callback();
}

bool Simulator::step() {
    Event event;
    if (!queue_->pop_next(INT64_MAX, &event)) {
        HUB_ASSERT(queue_->size() == 0);
        return false;
    }
    run(event);
    return true;
}

bool Simulator::run_until(const std::function<bool()>& done, Instant deadline) {
    while (!done()) {
        Event event;
        if (!queue_->pop_next(deadline.ns, &event)) {
            if (now_ < deadline) {
                now_ = deadline;
            }
            return done();
        }
        HUB_ASSERT(event.time_ns <= deadline.ns);
        run(event);
    }
    return true;
}

}  // namespace simnet
