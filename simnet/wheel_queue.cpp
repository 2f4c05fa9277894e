#include "simnet/wheel_queue.hpp"

#include <algorithm>
#include <bit>

namespace simnet {

namespace {

constexpr uint64_t key_of(int64_t time_ns) {
    return static_cast<uint64_t>(time_ns) >> WheelQueue::kTickShift;
}

constexpr int64_t time_of(uint64_t key) {
    return static_cast<int64_t>(key << WheelQueue::kTickShift);
}

constexpr uint32_t digit(uint64_t key, int level) {
    return static_cast<uint32_t>(key >> (WheelQueue::kDigitBits * level)) &
           (WheelQueue::kBuckets - 1);
}

// The level of a key that differs from the cursor in `diff` (the XOR of the two; not zero).
constexpr int level_of(uint64_t diff) {
    return (63 - std::countl_zero(diff)) / WheelQueue::kDigitBits;
}

// Ticks one bucket of `level` spans.
constexpr uint64_t span_of(int level) { return uint64_t{1} << (WheelQueue::kDigitBits * level); }

static_assert(level_of(1) == 0 && level_of(255) == 0 && level_of(256) == 1);
// Keys of times up to INT64_MAX fit below the top level of the largest wheel and its window.
static_assert(64 - WheelQueue::kTickShift > WheelQueue::kDigitBits * WheelQueue::kLevelsMax);

}  // namespace

WheelQueue::WheelQueue(int levels) : levels_(levels) {
    HUB_ASSERT(levels >= 1 && levels <= kLevelsMax);
}

EventId WheelQueue::push(int64_t time_ns, std::function<void()> fn) {
    HUB_ASSERT(time_ns >= 0);
    const SlotRef ref = slab_.add(++sequence_, std::move(fn));
    place(Record{time_ns, ref});
    return EventSlab::id_of(ref);
}

EventId WheelQueue::push(int64_t time_ns, SmallCallback fn) {
    HUB_ASSERT(time_ns >= 0);
    const SlotRef ref = slab_.add(++sequence_, fn);
    place(Record{time_ns, ref});
    return EventSlab::id_of(ref);
}

bool WheelQueue::cancel(EventId id) {
    const std::optional<SlotRef> ref = slab_.find(id);
    if (!ref) {
        return false;
    }
    slab_.remove(*ref);  // the record is garbage from now on
    if (should_sweep(entries(), slab_.live())) {
        sweep();
    }
    return true;
}

// Files a record by its key relative to the cursor (see the header).
void WheelQueue::place(const Record& record) {
    const uint64_t key = key_of(record.time_ns);
    if (key <= cursor_) {
        to_heap(ready_, record);
        return;
    }
    const int level = level_of(key ^ cursor_);
    if (level >= levels_) {
        to_heap(overflow_, record);
        return;
    }
    append(level, digit(key, level), record);
    if (level == 0) {
        // Due within one level-0 rotation (262 us): fetch the slot while other work runs, so
        // the drain into ready (which reads it) does not wait for memory.
        __builtin_prefetch(slab_.address(record.ref.slot));
    }
}

void WheelQueue::to_heap(std::vector<QueuedEvent>& heap, const Record& record) {
    if (!slab_.holds(record.ref)) {
        return;  // cancelled while it waited in a bucket: drop the garbage here
    }
    heap.push_back(QueuedEvent{record.time_ns, slab_.sequence(record.ref), record.ref});
    std::push_heap(heap.begin(), heap.end(), ComesLater{});
}

bool WheelQueue::pop_next(int64_t deadline_ns, Event* out) {
    HUB_ASSERT(out != nullptr);
    for (;;) {
        if (!ready_.empty()) {
            const QueuedEvent top = ready_.front();
            const bool live = slab_.holds(top.ref);
            if (live && top.time_ns > deadline_ns) {
                return false;  // everything else is later still
            }
            std::pop_heap(ready_.begin(), ready_.end(), ComesLater{});
            ready_.pop_back();
            if (live) {
                HUB_ASSERT(key_of(top.time_ns) <= cursor_);
                out->time_ns = top.time_ns;
                out->id = EventSlab::id_of(top.ref);
                out->callback = slab_.take(top.ref);
                return true;
            }
            continue;
        }
        const Advance advance = advance_wheel(deadline_ns);
        if (advance == Advance::blocked) {
            return false;
        }
        if (advance == Advance::empty && !advance_overflow(deadline_ns)) {
            HUB_ASSERT(entries() >= slab_.live());
            return false;
        }
    }
}

// Moves the cursor to the first occupied bucket of the lowest occupied level and re-files its
// records, unless that bucket starts after the deadline (then nothing changes).
WheelQueue::Advance WheelQueue::advance_wheel(int64_t deadline_ns) {
    HUB_ASSERT(ready_.empty());
    for (int level = 0; level < levels_; ++level) {
        const int index = find_occupied(level, digit(cursor_, level));
        if (index < 0) {
            continue;
        }
        const int above = kDigitBits * (level + 1);
        const uint64_t start = (cursor_ >> above << above) |
                               (static_cast<uint64_t>(index) << (kDigitBits * level));
        HUB_ASSERT(start > cursor_);
        if (time_of(start) > deadline_ns) {
            return Advance::blocked;
        }
        cursor_ = start;
        cascade(level, static_cast<uint32_t>(index));
        return Advance::moved;
    }
    HUB_ASSERT(wheel_records_ == 0);
    return Advance::empty;
}

// With the wheel and ready empty: moves the cursor to the earliest overflow event (if it is due
// by the deadline) and re-files every overflow event in the new cursor's window.
bool WheelQueue::advance_overflow(int64_t deadline_ns) {
    while (!overflow_.empty() && !slab_.holds(overflow_.front().ref)) {
        std::pop_heap(overflow_.begin(), overflow_.end(), ComesLater{});
        overflow_.pop_back();
    }
    if (overflow_.empty() || overflow_.front().time_ns > deadline_ns) {
        return false;
    }
    HUB_ASSERT(wheel_records_ == 0 && ready_.empty());
    const uint64_t key = key_of(overflow_.front().time_ns);
    HUB_ASSERT(window_of(key) > window_of(cursor_));
    cursor_ = key;
    while (!overflow_.empty() && window_of(key_of(overflow_.front().time_ns)) == window_of(key)) {
        const QueuedEvent event = overflow_.front();
        std::pop_heap(overflow_.begin(), overflow_.end(), ComesLater{});
        overflow_.pop_back();
        if (slab_.holds(event.ref)) {
            place(Record{event.time_ns, event.ref});
        }
    }
    HUB_ASSERT(!ready_.empty());  // the earliest event itself has key == cursor
    return true;
}

// Re-files the records of a bucket the cursor just moved to; they all land lower.
void WheelQueue::cascade(int level, uint32_t index) {
    const Bucket bucket = take_bucket(level, index);
    const uint64_t span = span_of(level);
    for (uint32_t c = bucket.head; c != kNoChunk;) {
        const uint32_t count = c == bucket.tail ? bucket.tail_count : kChunkRecords;
        const Chunk& records = chunk(c);  // chunk pages never move, even when place() grows them
        for (uint32_t i = 0; i < count; ++i) {
            const Record record = records.records[i];
            const uint64_t key = key_of(record.time_ns);
            HUB_ASSERT(key >= cursor_ && key - cursor_ < span);
            --wheel_records_;
            place(record);
        }
        const uint32_t next = chunk_next_[c];
        free_chunk(c);
        c = next;
    }
}

void WheelQueue::append(int level, uint32_t index, const Record& record) {
    Bucket& bucket = buckets_[level][index];
    if (bucket.tail == kNoChunk || bucket.tail_count == kChunkRecords) {
        const uint32_t c = allocate_chunk();
        if (bucket.tail == kNoChunk) {
            bucket.head = c;
            occupied_[level][index / 64] |= uint64_t{1} << (index % 64);
        } else {
            chunk_next_[bucket.tail] = c;
        }
        bucket.tail = c;
        bucket.tail_count = 0;
    }
    chunk(bucket.tail).records[bucket.tail_count++] = record;
    ++wheel_records_;
}

// Empties a bucket and returns its chunk list (the caller frees the chunks).
WheelQueue::Bucket WheelQueue::take_bucket(int level, uint32_t index) {
    const Bucket bucket = buckets_[level][index];
    HUB_ASSERT(bucket.head != kNoChunk && bucket.tail_count > 0);
    buckets_[level][index] = Bucket{};
    occupied_[level][index / 64] &= ~(uint64_t{1} << (index % 64));
    return bucket;
}

// The first occupied bucket of `level` at or after `from`, or -1.
int WheelQueue::find_occupied(int level, uint32_t from) const {
    const std::array<uint64_t, kWords>& words = occupied_[level];
    uint32_t word = from / 64;
    uint64_t bits = words[word] & (~uint64_t{0} << (from % 64));
    for (;;) {
        if (bits != 0) {
            return static_cast<int>(word * 64 + static_cast<uint32_t>(std::countr_zero(bits)));
        }
        if (++word == kWords) {
            return -1;
        }
        bits = words[word];
    }
}

uint32_t WheelQueue::allocate_chunk() {
    if (free_chunks_ == kNoChunk) {
        const uint32_t first = static_cast<uint32_t>(chunk_pages_.size()) * kPageChunks;
        HUB_ASSERT(first < kNoChunk - kPageChunks);
        chunk_pages_.push_back(std::make_unique<Chunk[]>(kPageChunks));
        chunk_next_.resize(first + kPageChunks);
        for (uint32_t i = kPageChunks; i > 0; --i) {
            free_chunk(first + i - 1);
        }
    }
    const uint32_t c = free_chunks_;
    free_chunks_ = chunk_next_[c];
    chunk_next_[c] = kNoChunk;
    return c;
}

void WheelQueue::free_chunk(uint32_t c) {
    HUB_ASSERT(c < chunk_next_.size());
    chunk_next_[c] = free_chunks_;
    free_chunks_ = c;
}

// Drops the records of cancelled events everywhere. Deterministic: buckets in index order.
void WheelQueue::sweep() {
    for (int level = 0; level < levels_; ++level) {
        for (uint32_t index = 0; index < kBuckets; ++index) {
            if (buckets_[level][index].head != kNoChunk) {
                sweep_bucket(level, index);
            }
        }
    }
    for (std::vector<QueuedEvent>* heap : {&ready_, &overflow_}) {
        std::erase_if(*heap, [this](const QueuedEvent& e) { return !slab_.holds(e.ref); });
        std::make_heap(heap->begin(), heap->end(), ComesLater{});
    }
    HUB_ASSERT(entries() == slab_.live());
}

void WheelQueue::sweep_bucket(int level, uint32_t index) {
    const Bucket bucket = take_bucket(level, index);
    for (uint32_t c = bucket.head; c != kNoChunk;) {
        const uint32_t count = c == bucket.tail ? bucket.tail_count : kChunkRecords;
        for (uint32_t i = 0; i < count; ++i) {
            const Record record = chunk(c).records[i];
            --wheel_records_;
            if (slab_.holds(record.ref)) {
                append(level, index, record);  // never into chunk c: it is not free yet
            }
        }
        const uint32_t next = chunk_next_[c];
        free_chunk(c);
        c = next;
    }
}

void WheelQueue::check_invariants() const {
    size_t records = 0;
    for (int level = 0; level < kLevelsMax; ++level) {
        for (uint32_t index = 0; index < kBuckets; ++index) {
            const bool used = (occupied_[level][index / 64] >> (index % 64)) & 1;
            HUB_ASSERT(used == (buckets_[level][index].head != kNoChunk));
            HUB_ASSERT(!used || level < levels_);
            if (used) {
                check_bucket(level, index, &records);
            }
        }
    }
    HUB_ASSERT(records == wheel_records_);
    for (const QueuedEvent& e : ready_) {
        HUB_ASSERT(key_of(e.time_ns) <= cursor_);
    }
    for (const QueuedEvent& e : overflow_) {
        HUB_ASSERT(window_of(key_of(e.time_ns)) > window_of(cursor_));
    }
    HUB_ASSERT(std::is_heap(ready_.begin(), ready_.end(), ComesLater{}));
    HUB_ASSERT(std::is_heap(overflow_.begin(), overflow_.end(), ComesLater{}));
    HUB_ASSERT(entries() >= slab_.live());
}

// Every record of a bucket is after the cursor, at the level and digit its key asks for.
void WheelQueue::check_bucket(int level, uint32_t index, size_t* records) const {
    const Bucket& bucket = buckets_[level][index];
    for (uint32_t c = bucket.head; c != kNoChunk; c = chunk_next_[c]) {
        const uint32_t count = c == bucket.tail ? bucket.tail_count : kChunkRecords;
        HUB_ASSERT(count > 0 && count <= kChunkRecords);
        for (uint32_t i = 0; i < count; ++i) {
            const uint64_t key = key_of(chunk(c).records[i].time_ns);
            HUB_ASSERT(key > cursor_);
            HUB_ASSERT(level_of(key ^ cursor_) == level && digit(key, level) == index);
        }
        *records += count;
    }
}

}  // namespace simnet
