// Env: the only door from hub logic to the world (clock, timers, randomness, disk, network).
//
// Everything under hub/ except hub/server, and everything in simnet/, conformance/ and
// scenarios/, reaches time, files and sockets only through an Env& passed to its constructor.
// Two implementations exist: hub/server's RealEnv (Asio, POSIX files, TLS) and simnet's
// SimNode (virtual time, simulated disk and network). Both are single-threaded: every callback
// runs on the thread that drives the Env, never concurrently, and never re-entrantly from
// inside the call that registered it (callbacks are always deferred to a later event).
//
// Ownership: objects returned as unique_ptr (Stream, Listener) belong to the caller; destroying
// one closes it and guarantees none of its callbacks runs afterwards. A timer callback must not
// outlive what it captures: cancel timers in destructors.
//
// Example:
//   env.schedule(env.now() + Duration::millis(5), [this] { on_commit_timer(); });
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hub/env/random.hpp"
#include "hub/env/status.hpp"
#include "hub/env/time.hpp"

namespace hub {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

// Named files on one node's disk. Writes (append, pwrite) are volatile until sync(): a crash
// may drop or tear unsynced bytes, never synced ones. truncate(), remove() and rename() are
// metadata operations, durable when they return. The usual way to replace a whole file
// durably: write "x.tmp", sync("x.tmp"), rename("x.tmp", "x").
//
// Errors: not_found for a missing file, resource_exhausted when the disk is full (nothing was
// written), invalid_argument for a bad name or offset, io_error for a failing device.
class Disk {
  public:
    virtual ~Disk() = default;
    // Adds bytes at the end, making the file if it is missing.
    virtual Status append(const std::string& name, ByteView bytes) = 0;
    // Writes bytes at `offset`, overwriting and possibly extending the file. A missing file is
    // made when offset is 0 (else not_found); an offset past the end is invalid_argument.
    virtual Status pwrite(const std::string& name, uint64_t offset, ByteView bytes) = 0;
    // The whole file as this process sees it (synced and unsynced bytes).
    virtual Result<Bytes> read(const std::string& name) = 0;
    // Up to `length` bytes from `offset`, fewer at the end of the file (none past it). The
    // default reads the whole file; disks override it with a positioned read.
    virtual Result<Bytes> read_range(const std::string& name, uint64_t offset, uint64_t length) {
        Result<Bytes> all = read(name);
        if (!all.ok() || offset >= all->size()) {
            return all.ok() ? Result<Bytes>(Bytes{}) : all;
        }
        const uint64_t end = std::min<uint64_t>(all->size(), offset + length);
        return Bytes(all->begin() + static_cast<ptrdiff_t>(offset),
                     all->begin() + static_cast<ptrdiff_t>(end));
    }
    // Makes the file durable up to its current size before returning. Blocking: for
    // control-plane writers (registry, provisioning) and recovery.
    virtual Status sync(const std::string& name) = 0;
    // Starts making the file durable up to its size at this call; bytes written after the call
    // are not covered. done(status) runs later, never inside the call: once the bytes are
    // durable (ok), or with not_found / io_error. Group commit uses this so that a slow device
    // delays acknowledgements without blocking the event loop, and more writes share a sync.
    // Returns an id for cancel_sync(); ids are never reused.
    using SyncDone = std::function<void(Status)>;
    virtual uint64_t sync_async(const std::string& name, SyncDone done) = 0;
    // done of that sync will not run (the sync itself may still happen). Cancelling an id whose
    // done already ran is a no-op. Owners of pending syncs cancel them in their destructors.
    virtual void cancel_sync(uint64_t id) = 0;
    // REQUIRES: size <= current size.
    virtual Status truncate(const std::string& name, uint64_t size) = 0;
    virtual Status remove(const std::string& name) = 0;
    // Atomically names `from`'s file `to`, replacing any file called `to`; durable on return.
    // The file's unsynced bytes stay unsynced. Renaming a file to its own name does nothing.
    virtual Status rename(const std::string& from, const std::string& to) = 0;
    // Names of existing files, sorted.
    virtual std::vector<std::string> list() = 0;
};

// A reliable, ordered byte stream (TCP or TLS-over-TCP in the real world).
class Stream {
  public:
    using ReadHandler = std::function<void(ByteView)>;
    // Called once when the stream ends: ok for an orderly close by the peer, an error for a
    // reset or failure. Not called after the owner destroys or closes the stream.
    using ClosedHandler = std::function<void(const Status&)>;

    virtual ~Stream() = default;
    virtual void set_handlers(ReadHandler on_read, ClosedHandler on_closed) = 0;
    // Queues bytes; they go out in order. Writing to a closed stream drops the bytes.
    virtual void write(ByteView bytes) = 0;
    // Orderly close after queued bytes are sent.
    virtual void close() = 0;
    // Who is on the other side, for logs and traces.
    virtual std::string peer() const = 0;
};

class Listener {
  public:
    virtual ~Listener() = default;
    // The bound address "host:port" (the port is real when 0 was asked for).
    virtual std::string address() const = 0;
};

class Network {
  public:
    using AcceptHandler = std::function<void(std::unique_ptr<Stream>)>;
    using ConnectHandler = std::function<void(Result<std::unique_ptr<Stream>>)>;

    virtual ~Network() = default;
    // Listens on "host:port". The handler gets each accepted stream.
    virtual Result<std::unique_ptr<Listener>> listen(const std::string& address,
                                                     AcceptHandler on_accept) = 0;
    // Connects to "host:port"; the handler runs once, later, with the stream or an error.
    virtual void connect(const std::string& address, ConnectHandler on_connected) = 0;
};

using TimerId = uint64_t;

class Env {
  public:
    virtual ~Env() = default;
    // Monotonic time.
    virtual Instant now() const = 0;
    // Wall-clock UTC, milliseconds since the Unix epoch (message timestamps, token expiry).
    virtual int64_t utc_now_ms() const = 0;
    // Runs fn at or after `at`. Returns an id for cancel(); ids are never reused.
    virtual TimerId schedule(Instant at, std::function<void()> fn) = 0;
    // Cancelling an id that already ran or was cancelled is a no-op.
    virtual void cancel(TimerId id) = 0;
    virtual Random& random() = 0;
    virtual Disk& disk() = 0;
    virtual Network& network() = 0;
    // BUGGIFY: may take a legal but rare path at `site`. The real world always says no.
    virtual bool buggify(std::string_view site) {
        (void)site;
        return false;
    }
    // Structured trace of what happened (folded into the simulator's hash; real: debug log).
    virtual void trace(std::string_view kind, std::string_view detail) {
        (void)kind;
        (void)detail;
    }
};

}  // namespace hub
