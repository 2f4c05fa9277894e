#include "simnet/heap_queue.hpp"

#include <algorithm>

namespace simnet {

EventId HeapQueue::push(int64_t time_ns, std::function<void()> fn) {
    HUB_ASSERT(time_ns >= 0);
    const uint64_t sequence = ++sequence_;
    const SlotRef ref = slab_.add(sequence, std::move(fn));
    insert(time_ns, sequence, ref);
    return EventSlab::id_of(ref);
}

EventId HeapQueue::push(int64_t time_ns, SmallCallback fn) {
    HUB_ASSERT(time_ns >= 0);
    const uint64_t sequence = ++sequence_;
    const SlotRef ref = slab_.add(sequence, fn);
    insert(time_ns, sequence, ref);
    return EventSlab::id_of(ref);
}

void HeapQueue::insert(int64_t time_ns, uint64_t sequence, SlotRef ref) {
    heap_.push_back(QueuedEvent{time_ns, sequence, ref});
    std::push_heap(heap_.begin(), heap_.end(), ComesLater{});
    HUB_ASSERT(heap_.size() >= slab_.live());
}

bool HeapQueue::cancel(EventId id) {
    const std::optional<SlotRef> ref = slab_.find(id);
    if (!ref) {
        return false;
    }
    slab_.remove(*ref);
    if (should_sweep(heap_.size(), slab_.live())) {
        sweep();
    }
    return true;
}

bool HeapQueue::pop_next(int64_t deadline_ns, Event* out) {
    HUB_ASSERT(out != nullptr);
    while (!heap_.empty()) {
        const QueuedEvent top = heap_.front();
        const bool live = slab_.holds(top.ref);
        if (live && top.time_ns > deadline_ns) {
            return false;
        }
        std::pop_heap(heap_.begin(), heap_.end(), ComesLater{});
        heap_.pop_back();
        if (live) {
            HUB_ASSERT(slab_.sequence(top.ref) == top.sequence);
            out->time_ns = top.time_ns;
            out->id = EventSlab::id_of(top.ref);
            out->callback = slab_.take(top.ref);
            return true;
        }
    }
    HUB_ASSERT(slab_.live() == 0);
    return false;
}

void HeapQueue::sweep() {
    std::erase_if(heap_, [this](const QueuedEvent& e) { return !slab_.holds(e.ref); });
    std::make_heap(heap_.begin(), heap_.end(), ComesLater{});
    HUB_ASSERT(heap_.size() == slab_.live());
}

}  // namespace simnet
