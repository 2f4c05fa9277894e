// WheelQueue: an EventQueue for millions of pending timers: a hierarchical timing wheel.
//
// Concept. Time is cut into ticks of 2^10 ns = 1.024 us (key = time_ns >> 10). The wheel has
// `levels` levels (default 5) of 256 buckets; a level-L bucket spans 256^L ticks, so the wheel
// covers an aligned window of 256^5 ticks = 2^50 ns (about 13.0 days). A cursor (a tick) marks
// how far the wheel has been drained. An event with key k is filed
//   - in the ready heap when k <= cursor (due in the tick being drained, or earlier);
//   - else at level L = (highest bit where k and the cursor differ) / 8, in bucket "digit L of
//     k" (so buckets of one level are in time order and never wrap);
//   - in the overflow heap when L >= levels (outside the cursor's window: far future).
// Every ready event comes before every wheel event, a lower level's events before a higher
// level's, and wheel events before overflow events. pop_next takes the ready heap's top; when
// ready is empty it finds the first occupied bucket of the lowest occupied level, moves the
// cursor to that bucket's first tick and re-files the bucket's events (they fall to lower
// levels or into ready); when the wheel is empty it moves the cursor to the earliest overflow
// event and re-files the overflow events of that event's window. An event moves down at most
// `levels` times. The ready heap orders by (time, sequence): events that share a tick, or a
// time, come out in exact order. The cursor never moves past the deadline of a pop_next, and
// pushing before the cursor is still correct (such events go to the ready heap).
//
// Cost: push O(1); cancel O(1); pop O(levels) amortized plus O(log r) for r events in the tick.
// Memory per pending event: a 16-byte record (time, slot) in a bucket, plus the callback's slab
// slot (48 bytes for std::function, 40 for SmallCallback). Records live in 1 KiB chunks taken
// from a pool. Cancel frees the slab slot at once; the record stays until its bucket is drained
// or a sweep drops it (see should_sweep), so garbage stays below twice the pending events.
//
// Ownership, ids and determinism: see event_queue.hpp. Single-threaded.
//
// Example:
//   WheelQueue queue;                     // or WheelQueue(2): a 67 ms window, for tests
//   queue.push(Duration::seconds(3).ns, [] { ... });
//   Event event;
//   while (queue.pop_next(deadline_ns, &event)) { event.callback(); }
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "simnet/event_queue.hpp"

namespace simnet {

class WheelQueue final : public EventQueue {
  public:
    static constexpr int kTickShift = 10;  // a tick is 2^10 ns = 1.024 us
    static constexpr int kDigitBits = 8;   // 256 buckets per level
    static constexpr uint32_t kBuckets = 1u << kDigitBits;
    static constexpr int kLevelsMax = 6;      // window 2^58 ns, about 9.1 years
    static constexpr int kLevelsDefault = 5;  // window 2^50 ns, about 13.0 days
    // 64 records of 16 bytes: 1 KiB chunks. At most one partly filled chunk per bucket.
    static constexpr uint32_t kChunkRecords = 64;

    // REQUIRES: 1 <= levels <= kLevelsMax. Fewer levels make a shorter window (levels = 1:
    // 262 us; 2: 67 ms; 3: 17.2 s), which tests use to drive the overflow heap.
    explicit WheelQueue(int levels = kLevelsDefault);
    WheelQueue(const WheelQueue&) = delete;
    WheelQueue& operator=(const WheelQueue&) = delete;

    EventId push(int64_t time_ns, std::function<void()> fn) override;
    EventId push(int64_t time_ns, SmallCallback fn) override;
    bool cancel(EventId id) override;
    bool pop_next(int64_t deadline_ns, Event* out) override;
    size_t size() const override { return slab_.live(); }

    // Records in buckets, ready and overflow, cancelled ones included.
    size_t entries() const { return wheel_records_ + ready_.size() + overflow_.size(); }
    size_t overflow_entries() const { return overflow_.size(); }
    // Asserts every structural invariant; O(entries), for tests.
    void check_invariants() const;

  private:
    struct Record {
        int64_t time_ns;
        SlotRef ref;
    };
    static_assert(sizeof(Record) == 16);
    struct Chunk {
        std::array<Record, kChunkRecords> records;
    };
    static constexpr uint32_t kNoChunk = UINT32_MAX;
    static constexpr uint32_t kPageChunks = 16;  // 16 KiB pages of chunks; pages never move
    static constexpr uint32_t kWords = kBuckets / 64;
    struct Bucket {
        uint32_t head = kNoChunk;
        uint32_t tail = kNoChunk;
        uint32_t tail_count = 0;  // records in the tail chunk; the others are full
    };
    enum class Advance { moved, blocked, empty };

    void place(const Record& record);
    void to_heap(std::vector<QueuedEvent>& heap, const Record& record);
    void append(int level, uint32_t index, const Record& record);
    Bucket take_bucket(int level, uint32_t index);
    int find_occupied(int level, uint32_t from) const;
    Advance advance_wheel(int64_t deadline_ns);
    bool advance_overflow(int64_t deadline_ns);
    void cascade(int level, uint32_t index);
    void sweep();
    void sweep_bucket(int level, uint32_t index);
    void check_bucket(int level, uint32_t index, size_t* records) const;
    uint64_t window_of(uint64_t key) const { return key >> (kDigitBits * levels_); }
    uint32_t allocate_chunk();
    void free_chunk(uint32_t c);
    Chunk& chunk(uint32_t c) { return chunk_pages_[c / kPageChunks][c % kPageChunks]; }
    const Chunk& chunk(uint32_t c) const { return chunk_pages_[c / kPageChunks][c % kPageChunks]; }

    const int levels_;
    EventSlab slab_;
    uint64_t sequence_ = 0;
    uint64_t cursor_ = 0;  // the tick being drained; every wheel record's key is greater
    std::array<std::array<Bucket, kBuckets>, kLevelsMax> buckets_{};
    std::array<std::array<uint64_t, kWords>, kLevelsMax> occupied_{};  // bit set: bucket used
    size_t wheel_records_ = 0;
    std::vector<QueuedEvent> ready_;     // min-heap (ComesLater): keys <= cursor
    std::vector<QueuedEvent> overflow_;  // min-heap (ComesLater): windows after the cursor's
    std::vector<std::unique_ptr<Chunk[]>> chunk_pages_;
    std::vector<uint32_t> chunk_next_;  // next chunk of a bucket, or of the free list
    uint32_t free_chunks_ = kNoChunk;
};

}  // namespace simnet
