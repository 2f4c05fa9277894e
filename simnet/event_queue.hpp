// EventQueue: the simulator's scheduler: timed callbacks, popped in (time, sequence) order.
//
// Concept: push(time_ns, callback) files a callback under a virtual time and returns an id;
// pop_next(deadline_ns) removes the pending event that comes first in (time, sequence) order,
// where the sequence counts pushes, so events due at one time come out in scheduling order;
// cancel(id) drops a pending event. Two implementations give identical results for identical
// calls (same pops, same ids): HeapQueue, a binary heap and the simple reference, and
// WheelQueue, a hierarchical timing wheel with O(1) push and cancel for millions of timers.
//
// Ids: both queues keep callbacks in an EventSlab. An id names a slab slot and the slot's
// generation, so cancel finds its event in O(1); a slot's generation changes whenever its event
// is popped or cancelled, and a slot whose generation would wrap is retired, so an id is never
// handed out twice. Cancelling an id that was popped, cancelled or never issued is a no-op.
//
// Ownership: the queue owns pending callbacks; pop_next moves the callback out to the caller,
// who runs it after the pop (so a callback may push and cancel freely, its own id included).
// Determinism: single-threaded; no clock, randomness or hashing; the result of every call
// depends only on the calls before it.
//
// Example:
//   WheelQueue queue;
//   const EventId id = queue.push(1'000, [] { ... });
//   Event event;
//   while (queue.pop_next(INT64_MAX, &event)) { event.callback(); }
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "hub/env/assert.hpp"

namespace simnet {

using EventId = uint64_t;  // the same as hub::TimerId

// Which EventQueue a Simulator uses. Both give identical runs; the wheel is faster with many
// pending timers, the heap is the simple reference.
enum class SchedulerKind { heap, wheel };

constexpr std::string_view to_string(SchedulerKind kind) {
    return kind == SchedulerKind::heap ? "heap" : "wheel";
}

// Parses "heap" or "wheel". Returns nothing for any other text.
constexpr std::optional<SchedulerKind> parse_scheduler_kind(std::string_view text) {
    if (text == "heap") {
        return SchedulerKind::heap;
    }
    if (text == "wheel") {
        return SchedulerKind::wheel;
    }
    return std::nullopt;
}

// A callback that never allocates: a function pointer and two words of context. Pending, it
// costs 8 bytes less than a std::function in the slab (see EventSlab).
struct SmallCallback {
    void (*fn)(void* context, uint64_t arg) = nullptr;
    void* context = nullptr;
    uint64_t arg = 0;
};

// A popped event's callback, either kind. Empty after default construction.
class EventCallback {
  public:
    EventCallback() = default;
    explicit EventCallback(std::function<void()> fn) : function_(std::move(fn)) {}
    explicit EventCallback(SmallCallback small) : small_(small) { HUB_ASSERT(small.fn != nullptr); }

    explicit operator bool() const { return small_.fn != nullptr || function_ != nullptr; }
    void operator()() {
        HUB_ASSERT(static_cast<bool>(*this));
        if (small_.fn != nullptr) {
            small_.fn(small_.context, small_.arg);
        } else {
            function_();
        }
    }

  private:
    std::function<void()> function_;
    SmallCallback small_;
};

// An event removed by pop_next.
struct Event {
    int64_t time_ns = 0;
    EventId id = 0;
    EventCallback callback;
};

// Where a pending callback lives: a slab slot (bit 31 picks the pool) and the generation the
// slot had when the event was pushed. Queues keep SlotRefs, never pointers.
struct SlotRef {
    uint32_t slot = 0;
    uint32_t generation = 0;
    friend bool operator==(SlotRef, SlotRef) = default;
};

// A fixed-capacity-per-page pool of callback slots with a LIFO free list. A slot's generation
// is odd while it holds an event and even while it is free.
template <typename Callable>
class SlotPool {
  public:
    struct Node {
        Callable callable{};
        uint64_t sequence = 0;    // the event's sequence while live; the next free slot if free
        uint32_t generation = 0;  // odd while live, even while free
    };
    // 1024 slots per page: pages never move, so growing touches no existing slot, and the
    // unused tail of the last page costs at most one page (48 KiB of std::function slots).
    static constexpr uint32_t kPageSlots = 1024;
    static constexpr uint32_t kSlotsMax = 1u << 31;  // bit 31 of a slot word selects the pool
    static constexpr uint32_t kNone = UINT32_MAX;

    SlotPool() = default;
    SlotPool(const SlotPool&) = delete;
    SlotPool& operator=(const SlotPool&) = delete;

    // Returns the slot index; its generation is odd (live) afterwards.
    uint32_t allocate(uint64_t sequence, Callable callable) {
        if (free_head_ == kNone) {
            grow();
        }
        const uint32_t index = free_head_;
        Node& n = node(index);
        HUB_ASSERT(n.generation % 2 == 0);
        free_head_ = static_cast<uint32_t>(n.sequence);
        n.callable = std::move(callable);
        n.sequence = sequence;
        ++n.generation;
        HUB_ASSERT(n.generation % 2 == 1);
        return index;
    }

    // Destroys the callable and frees the slot. A slot whose generation wraps is retired (never
    // handed out again), which is what keeps ids unique forever.
    void release(uint32_t index) {
        Node& n = node(index);
        HUB_ASSERT(n.generation % 2 == 1);
        n.callable = Callable{};
        ++n.generation;
        if (n.generation == 0) {
            return;  // retired: one slot leaked per 2^31 reuses
        }
        n.sequence = free_head_;
        free_head_ = index;
    }

    bool contains(uint32_t index) const { return index < size_; }
    Node& node(uint32_t index) { return pages_[index / kPageSlots][index % kPageSlots]; }
    const Node& node(uint32_t index) const {
        return pages_[index / kPageSlots][index % kPageSlots];
    }
    uint32_t size() const { return size_; }

  private:
    void grow() {
        HUB_ASSERT(size_ <= kSlotsMax - kPageSlots);
        pages_.push_back(std::make_unique<Node[]>(kPageSlots));
        // Thread the new page onto the free list so the lowest index comes out first.
        for (uint32_t i = kPageSlots; i > 0; --i) {
            const uint32_t index = size_ + i - 1;
            node(index).sequence = free_head_;
            free_head_ = index;
        }
        size_ += kPageSlots;
    }

    std::vector<std::unique_ptr<Node[]>> pages_;
    uint32_t size_ = 0;
    uint32_t free_head_ = kNone;
};

// Pending callbacks of one queue, found in O(1) from an id or a SlotRef. Two pools: one for
// std::function (48-byte slots) and one for SmallCallback (40-byte slots).
class EventSlab {
  public:
    static constexpr uint32_t kSmallPoolBit = 1u << 31;

    EventSlab() = default;
    EventSlab(const EventSlab&) = delete;
    EventSlab& operator=(const EventSlab&) = delete;

    SlotRef add(uint64_t sequence, std::function<void()> fn) {
        HUB_ASSERT(fn != nullptr);
        const uint32_t index = functions_.allocate(sequence, std::move(fn));
        ++live_;
        return SlotRef{index, functions_.node(index).generation};
    }
    SlotRef add(uint64_t sequence, SmallCallback fn) {
        HUB_ASSERT(fn.fn != nullptr);
        const uint32_t index = smalls_.allocate(sequence, fn);
        ++live_;
        return SlotRef{index | kSmallPoolBit, smalls_.node(index).generation};
    }

    static EventId id_of(SlotRef ref) {
        HUB_ASSERT(ref.generation % 2 == 1);
        return (static_cast<uint64_t>(ref.generation) << 32) | ref.slot;
    }

    // The pending event `id` names, or nothing for ids popped, cancelled or never issued.
    std::optional<SlotRef> find(EventId id) const {
        const SlotRef ref{static_cast<uint32_t>(id), static_cast<uint32_t>(id >> 32)};
        if (ref.generation % 2 == 0 || !holds(ref)) {
            return std::nullopt;
        }
        return ref;
    }

    // True while the slot still holds the event the ref was made for.
    bool holds(SlotRef ref) const {
        const uint32_t index = ref.slot & ~kSmallPoolBit;
        if ((ref.slot & kSmallPoolBit) != 0) {
            return smalls_.contains(index) && smalls_.node(index).generation == ref.generation;
        }
        return functions_.contains(index) && functions_.node(index).generation == ref.generation;
    }

    // REQUIRES: holds(ref).
    uint64_t sequence(SlotRef ref) const {
        HUB_ASSERT(holds(ref));
        const uint32_t index = ref.slot & ~kSmallPoolBit;
        return (ref.slot & kSmallPoolBit) != 0 ? smalls_.node(index).sequence
                                               : functions_.node(index).sequence;
    }

    // Moves the callback out and frees the slot. REQUIRES: holds(ref).
    EventCallback take(SlotRef ref) {
        HUB_ASSERT(holds(ref));
        const uint32_t index = ref.slot & ~kSmallPoolBit;
        --live_;
        if ((ref.slot & kSmallPoolBit) != 0) {
            EventCallback callback(smalls_.node(index).callable);
            smalls_.release(index);
            return callback;
        }
        EventCallback callback(std::move(functions_.node(index).callable));
        functions_.release(index);
        return callback;
    }

    // Destroys the callback and frees the slot. REQUIRES: holds(ref).
    void remove(SlotRef ref) {
        HUB_ASSERT(holds(ref));
        const uint32_t index = ref.slot & ~kSmallPoolBit;
        --live_;
        if ((ref.slot & kSmallPoolBit) != 0) {
            smalls_.release(index);
        } else {
            functions_.release(index);
        }
    }

    // Where a slot lives, for __builtin_prefetch at the call site. (Not a prefetch() method:
    // gcc 12 finds a function whose only effect is a prefetch "const" and deletes its calls.)
    const void* address(uint32_t slot) const {
        const uint32_t index = slot & ~kSmallPoolBit;
        if ((slot & kSmallPoolBit) != 0) {
            return &smalls_.node(index);
        }
        return &functions_.node(index);
    }

    size_t live() const { return live_; }

  private:
    SlotPool<std::function<void()>> functions_;
    SlotPool<SmallCallback> smalls_;
    size_t live_ = 0;
};

static_assert(sizeof(SlotPool<std::function<void()>>::Node) == 48);
static_assert(sizeof(SlotPool<SmallCallback>::Node) == 40);

// A heap entry: (time, sequence) orders it, the ref finds (and validates) the callback.
struct QueuedEvent {
    int64_t time_ns = 0;
    uint64_t sequence = 0;
    SlotRef ref;
};

// The comparator that makes std::push_heap/pop_heap a min-heap on (time, sequence).
struct ComesLater {
    bool operator()(const QueuedEvent& a, const QueuedEvent& b) const {
        return a.time_ns != b.time_ns ? a.time_ns > b.time_ns : a.sequence > b.sequence;
    }
};

// Cancelled entries stay in a queue's containers (lazy cancellation) until they are popped or
// swept. A sweep runs once they outnumber the pending events plus this floor, so memory stays
// within twice the pending events and a sweep's O(entries) cost is paid for by the cancels that
// made the garbage. The floor keeps small queues from sweeping on every cancel.
constexpr size_t kCancelledEntriesFloor = 4096;

constexpr bool should_sweep(size_t entries, size_t pending) {
    return entries > 2 * pending + kCancelledEntriesFloor;
}

class EventQueue {
  public:
    virtual ~EventQueue() = default;

    // Files `fn` under `time_ns`. REQUIRES: time_ns >= 0. Returns an id, never reused.
    virtual EventId push(int64_t time_ns, std::function<void()> fn) = 0;
    // The same for a callback that never allocates.
    virtual EventId push(int64_t time_ns, SmallCallback fn) = 0;
    // Drops a pending event and destroys its callback. Returns false (and does nothing) for ids
    // popped, cancelled or never issued.
    virtual bool cancel(EventId id) = 0;
    // When the first pending event in (time, sequence) order is due at or before deadline_ns,
    // removes it into *out and returns true; otherwise returns false and removes nothing.
    virtual bool pop_next(int64_t deadline_ns, Event* out) = 0;
    // Pending events: pushed, not yet popped or cancelled.
    virtual size_t size() const = 0;
};

}  // namespace simnet
