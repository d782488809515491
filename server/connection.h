// ConnectionBase: what every client connection on a worker shares, whatever its protocol — the
// socket, the connection record with CORE_IN and CORE_OUT, the epoll interest, the inactivity
// timer, and the lingering close. A protocol module derives from it (HTTP/1.1 does, in
// builtin/http/) and registers a factory for its connections (ModuleContext::AddProtocol).
//
// A connection is a task the worker resumes on readiness: OnReady with the events it asked for
// (Want), OnTimer when its timer fired. It never blocks. Timeout is an inactivity timeout: the
// timer is re-armed whenever the connection makes progress, and a connection waiting to write
// counts the kernel's send queue shrinking (SIOCOUTQ) as progress too — a large send buffer
// draining slowly can stay "full" longer than Timeout while the client reads steadily.
//
// An idle connection can let its record go (ReleaseIdleRecord): between two keep-alive
// requests it then holds only the socket, its timer and its addresses — a few hundred bytes, as
// nginx frees an idle connection's buffers — and the next request takes a record from the
// worker's RecordPool or builds one.
//
// Thread-safety: none; a connection lives on one worker thread.

#ifndef SERVER_CONNECTION_H_
#define SERVER_CONNECTION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "filters/core_input.h"
#include "handlers/request.h"
#include "server/event_loop.h"
#include "server/http_filters.h"
#include "server/request_slot.h"
#include "server/server.h"
#include "server/timers.h"

namespace brigade::server {

// A worker's connection records: how many its connections hold, and the ones idle connections
// let go, kept for its next connection that needs one (taking one back is a few stores, where
// building one is eight allocations: the record, its notes, the two filters, and each chain's
// list node and index).
//
// Idle connections let their records go only while the worker holds more than kKeptRecords:
// below that the records cost little memory, and building them again would cost each
// keep-alive request about 1,200 instructions (callgrind, 1 KiB static, -c16). Bounded.
//
// It keeps request slots too, up to kMaxPooled free ones of any kinds: a request takes one
// and gives it back when it ends, so the worker holds about as many as it has requests in
// flight, never one per connection.
class RecordPool {
 public:
  static constexpr size_t kKeptRecords = 256;
  static constexpr size_t kMaxPooled = 64;

  RecordPool() = default;
  RecordPool(const RecordPool&) = delete;
  RecordPool& operator=(const RecordPool&) = delete;

  void Clear() {
    entries_.clear();
    slots_.clear();
  }

 private:
  friend class ConnectionBase;
  struct Entry {
    std::unique_ptr<handlers::Connection> record;
    filters::CoreInputFilter* core_in;  // the record's, bound to no source
    CoreOutputFilter* core_out;         // the record's, holding nothing
  };
  std::vector<Entry> entries_;
  size_t in_use_ = 0;  // records the worker's connections hold
  // Free request slots, each with its kind (the address its protocol names it by).
  std::vector<std::pair<const void*, std::unique_ptr<RequestSlot>>> slots_;
};

// What a worker gives its connections.
struct WorkerContext {
  Server* server;
  EventLoop* loop;
  handlers::ServerCounters* counters;  // the worker's own
  RecordPool* records = nullptr;       // null: records are built each time
};

// An accepted connection, as a protocol's factory is given it (module/registries.h).
struct ConnectionArgs {
  WorkerContext context;
  uint64_t id;         // the worker's event-loop id for it; never reused
  int fd;              // non-blocking, connected; the connection owns it from here
  std::string peer;    // "ADDR:PORT"
  std::string local;   // "ADDR:PORT"
  std::string protocol;  // Listen's third word
};

class ConnectionBase {
 public:
  // Takes `args.fd`; the connection closes it.
  explicit ConnectionBase(const ConnectionArgs& args);
  ConnectionBase(const ConnectionBase&) = delete;
  ConnectionBase& operator=(const ConnectionBase&) = delete;
  virtual ~ConnectionBase();

  uint64_t id() const { return timer_.id(); }
  bool closed() const { return fd_ < 0; }

  // Called by the worker before each OnReady: what CORE_OUT may write in this round of the
  // loop starts again (CoreOutputFilter::kRoundBytes).
  void BeginRound() {
    if (core_out_ != nullptr) core_out_->NewRound();
  }

  // Runs the connection phases' first steps and waits for the client.
  virtual void Start() = 0;
  // The socket is ready for (some of) what Want asked; EPOLLERR/EPOLLHUP may come too.
  virtual void OnReady(uint32_t events) = 0;
  virtual void OnTimer() = 0;
  // The server stops accepting (SIGTERM): close now when idle; work in flight runs on.
  virtual void OnStop() = 0;
  // The graceful-stop limit passed: cut what is in flight and close.
  virtual void Cut() = 0;

 protected:
  Server& server() const { return *context_.server; }
  EventLoop& loop() const { return *context_.loop; }
  const ServerConfig& config() const { return context_.server->config(); }
  // What this connection counts in: its worker's counters.
  handlers::ServerCounters& stats() const { return *context_.counters; }
  // The connection record and its CORE_OUT, built again first if they were let go.
  handlers::Connection& record();
  CoreOutputFilter& core_out();
  // The record's CORE_IN. REQUIRES: record() was called since it was last let go.
  filters::CoreInputFilter* core_in() const { return core_in_; }
  // True when CORE_OUT holds bytes it has not written yet.
  bool OutputPending() const;
  // Between requests, with nothing buffered either way: lets the record go, with CORE_IN and
  // CORE_OUT, when it holds nothing but what it was built with and the worker holds more than
  // RecordPool::kKeptRecords. A record that a hook, handler or filter changed (a note added, a
  // handler pushed or set, a connection filter, a parked coroutine) is kept, so connection
  // state lives as long as the connection; the addresses are kept either way. The
  // pre_connection phase does not run again for a record built again. True when it let go.
  bool ReleaseIdleRecord();

  // A free request slot of `kind` (an address that names the protocol's slot type) from the
  // worker's pool; null when it has none.
  std::unique_ptr<RequestSlot> TakeRequestSlot(const void* kind);
  // Keeps `slot` for the worker's next request of its kind, or frees it when the pool is full.
  // REQUIRES: the slot holds nothing of the request it served.
  void GiveRequestSlot(const void* kind, std::unique_ptr<RequestSlot> slot);

  // Sets the epoll interest; a no-op when unchanged.
  void Want(uint32_t events);
  // (Re)arms the inactivity timer to fire `ms` from now. `for_output`: the connection waits to
  // write, so the send queue is sampled for SendQueueShrank.
  void ArmTimer(int64_t ms, bool for_output);
  // True when the kernel's send queue shrank since the timer was armed: the client is reading.
  bool SendQueueShrank();
  // True when CORE_IN holds bytes the client sent that no read has taken yet (a pipelined
  // request): readiness of the socket will not announce them.
  bool InputBuffered() const;
  // Writes what CORE_OUT holds, without blocking, and adds what left to the server's counters.
  [[nodiscard]] absl::Status FlushOutput();
  // Adds CORE_OUT's newly written bytes to the server's counters.
  void CountOutput();

  // Closes the socket now; idempotent. The worker destroys closed connections after the round.
  void Close();
  // Shuts the write side and drains what the client still sends for a short while, then
  // closes: closing at once while the client is still sending would make the kernel reset the
  // connection and discard the response it has not read yet (Apache's lingering close).
  void Linger();
  bool lingering() const { return lingering_; }
  // While lingering: reads and drops what arrived; closes at EOF or an error.
  void DrainLinger();

  static constexpr int64_t kLingerMs = 2000;

 private:
  void BuildRecord();

  WorkerContext context_;
  int fd_;
  std::string protocol_;
  // The addresses while the record is let go (a pre_connection hook may have rewritten them).
  std::string peer_;
  std::string local_;
  std::unique_ptr<handlers::Connection> record_;  // null while let go
  Ref<Source> source_;
  CoreOutputFilter* core_out_ = nullptr;
  filters::CoreInputFilter* core_in_ = nullptr;
  TimerNode timer_;
  uint32_t interest_ = 0;
  bool registered_ = false;  // in the loop's epoll set (with interest_, possibly none)
  bool lingering_ = false;
  int send_queue_ = -1;       // SIOCOUTQ when the timer was armed for output; -1 unknown
  uint64_t counted_out_ = 0;  // CORE_OUT bytes already in the server's counters
};

}  // namespace brigade::server

#endif  // SERVER_CONNECTION_H_
