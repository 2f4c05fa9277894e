// HeapQueue: the reference EventQueue: one binary min-heap on (time, sequence).
//
// Simple on purpose, so WheelQueue can be checked against it: push is O(log n), pop is
// O(log n), cancel is O(1) (the callback is destroyed at once; its heap entry stays until it
// reaches the top or a sweep removes it, see should_sweep). Every heap entry is 24 bytes next to
// the callback's slab slot.
//
// Ownership, ids and determinism: see event_queue.hpp. Single-threaded.
//
// Example:
//   HeapQueue queue;
//   queue.push(5, [] { ... });
//   Event event;
//   queue.pop_next(INT64_MAX, &event);  // true, event.time_ns == 5
#pragma once

#include <vector>

#include "simnet/event_queue.hpp"

namespace simnet {

class HeapQueue final : public EventQueue {
  public:
    HeapQueue() = default;
    HeapQueue(const HeapQueue&) = delete;
    HeapQueue& operator=(const HeapQueue&) = delete;

    EventId push(int64_t time_ns, std::function<void()> fn) override;
    EventId push(int64_t time_ns, SmallCallback fn) override;
    bool cancel(EventId id) override;
    bool pop_next(int64_t deadline_ns, Event* out) override;
    size_t size() const override { return slab_.live(); }

    // Heap entries, cancelled ones included (for tests of the sweep).
    size_t entries() const { return heap_.size(); }

  private:
    void insert(int64_t time_ns, uint64_t sequence, SlotRef ref);
    void sweep();

    EventSlab slab_;
    uint64_t sequence_ = 0;
    std::vector<QueuedEvent> heap_;  // min-heap (ComesLater); may hold cancelled entries
};

}  // namespace simnet
