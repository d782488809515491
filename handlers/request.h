// The request and connection records handlers work on.
//
// Connection: peer and local addresses, per-connection notes, and the connection's input and
// output filter chains (CONNECTION and NETWORK filters: CORE_IN, CORE_OUT).
// Request: the HTTP exchange (filters::Exchange: method, URI, headers, status, notes), the
// request's own filter chains sitting above the connection's, its per-request handler stacks
// (push/set/get), a body reader, and the response bookkeeping that lets the request cycle
// guarantee exactly one response.
//
// Both records can own one suspended coroutine handler (task.h, ParkedTask): the request its
// response handler, the connection its protocol handler. Their awaitables (ReadBody, Read, Send,
// Readable, Writable) never block: an operation that would wait parks the coroutine on the
// record's parked().suspension(), and the event loop resumes it on readiness.
//
// Example (a plain response handler):
//   Outcome Hello(Request& r) {
//     r.response_headers.Set("Content-Type", "text/plain");
//     Brigade bb(r.allocator());
//     bb.Puts("hello\n");
//     bb.Append(Bucket::Eos(r.allocator()));
//     return r.Pass(bb).ok() ? Outcome::Ok() : Outcome::Status(500);
//   }
// Example (a coroutine response handler, registered with Coroutine()):
//   Task<Outcome> Count(Request& r) {
//     for (int i = 1; i <= 1000000; ++i) {
//       Brigade bb(r.allocator());
//       if (!bb.Printf("%d\n", i).ok() || !(co_await r.Send(bb)).ok()) {  // waits on kAgain
//         co_return Outcome::Status(500);
//       }
//     }
//     co_return Outcome::Ok();  // the cycle ends the response with EOS
//   }
//
// Thread-safety: none; both records belong to the connection's worker thread.

#ifndef HANDLERS_REQUEST_H_
#define HANDLERS_REQUEST_H_

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <cstddef>
#include <ctime>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "brigade/brigade.h"
#include "filters/chain.h"
#include "filters/exchange.h"
#include "handlers/config_values.h"
#include "handlers/hooks.h"
#include "handlers/phases.h"
#include "handlers/task.h"

namespace brigade::handlers {

// The coroutine handler a record owns while it is parked, with the suspension it waits on.
class ParkedTask {
 public:
  ParkedTask() = default;
  ParkedTask(const ParkedTask&) = delete;
  ParkedTask& operator=(const ParkedTask&) = delete;

  Suspension& suspension() { return suspension_; }
  // The parked coroutine; null when none is.
  Task<Outcome>* task() { return task_ ? &*task_ : nullptr; }
  // Takes a parked task; `keep` (the handler object) lives as long as the task.
  void Adopt(Task<Outcome> task, std::shared_ptr<const void> keep) {
    task_.emplace(std::move(task));
    owner_ = std::move(keep);
  }
  // Polls the parked operation (resuming the coroutine when it completed). Returns what the
  // coroutine returned once it has, destroying the task; nullopt while it is still parked.
  // REQUIRES: task() != nullptr.
  std::optional<Outcome> PollResult() {
    BRIGADE_REQUIRES(task() != nullptr);
    if (suspension_.parked()) suspension_.Poll();
    if (!task_->done()) return std::nullopt;
    Outcome o = internal::CallHandler("(a resumed coroutine)", [&] { return task_->result(); });
    Drop();
    return o;
  }
  // Destroys the task (and forgets its suspension).
  void Drop() {
    suspension_.Clear();
    task_.reset();
    owner_.reset();
  }

 private:
  Suspension suspension_;
  std::shared_ptr<const void> owner_;  // declared before the task: outlives it
  std::optional<Task<Outcome>> task_;
};

class Connection {
 public:
  explicit Connection(BucketAllocator* allocator = BucketAllocator::ForThisThread())
      : allocator_(allocator) {
    output_.set_connection_level(true);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  BucketAllocator* allocator() const { return allocator_; }
  filters::OutputChain& output() { return output_; }
  filters::InputChain& input() { return input_; }

  std::string peer;   // "127.0.0.1:53412"
  std::string local;  // "127.0.0.1:8080"
  // The client socket, for protocol handlers that bypass the filters (mod_perl's
  // $c->client_socket); -1 when there is none.
  int socket = -1;
  absl::flat_hash_map<std::string, std::string> notes;
  // Handlers pushed for this connection's connection phases.
  HandlerStack<Connection>& stack(Phase phase);
  // The server this connection belongs to; null outside a server (tests).
  const ServerRecord* server() const { return server_; }
  // REQUIRES: `server` outlives the connection.
  void set_server(const ServerRecord* server) { server_ = server; }

  // co_await c.Read(out, mode, max): one non-blocking read through the input chain, parking
  // while nothing is ready. Returns the chain's Status (OK with an EOS at end of input).
  auto Read(Brigade& out, filters::ReadMode mode, size_t max);
  // co_await c.Send(bb): passes `bb` down the output chain; while the chain answers kAgain,
  // parks until the socket drained and the chain took an empty pass. Returns the chain's Status.
  auto Send(Brigade& bb);
  // co_await c.Readable() / c.Writable(): parks once until the socket is readable / writable,
  // for protocol handlers that use the socket directly.
  auto Readable();
  auto Writable();

  // The protocol handler's coroutine while it is parked.
  ParkedTask& parked() { return parked_; }

  // Makes the event loop poll this connection's parked coroutine (a kWoken wait) soon.
  // Thread-safe to call; set by the server before the connection's first handler runs.
  void set_waker(std::function<void()> waker) { waker_ = std::move(waker); }
  const std::function<void()>& waker() const { return waker_; }

 private:
  BucketAllocator* allocator_;
  filters::Exchange exchange_;  // what connection-level filters see
  filters::OutputChain output_{&exchange_};
  filters::InputChain input_{&exchange_};
  std::array<HandlerStack<Connection>, 2> stacks_;
  std::function<void()> waker_;
  ParkedTask parked_;
  const ServerRecord* server_ = nullptr;
};

class Request : public filters::Exchange {
 public:
  // REQUIRES: `connection` outlives the request.
  explicit Request(Connection* connection);
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  Connection& connection() const { return *connection_; }
  BucketAllocator* allocator() const { return connection_->allocator(); }

  // Ends the record's request: afterwards it is as Request(&connection()) would be, except
  // that its strings and field maps keep their room and its chains their borrowed filters
  // (OutputChain::Restart), so that a server carries request after request on one record
  // without building it again. What the request held goes now: its parked handler, the
  // filters its chains own, its handler stacks' changes, the modules' state, the file.
  // REQUIRES: no filter or handler of the request is running.
  void Reset();
  // Moves a Reset record to another connection (a server's pooled record).
  // REQUIRES: Reset since its last request; `connection` outlives the request.
  void Rebind(Connection* connection);

  // The request's filter chains, above the connection's.
  filters::OutputChain& output() { return output_; }
  filters::InputChain& input() { return input_; }

  // This request's handler stack for a request phase: push, set, and (with Hooks::Names) get.
  HandlerStack<Request>& stack(Phase phase);
  void PushHandler(Phase phase, std::function<Outcome(Request&)> handler,
                   std::string name = "");

  // Reads up to `max` bytes of the request body through the input chain into `out`, without
  // blocking. Returns the bytes read; 0 once the body has ended (the EOS is consumed here).
  // Errors: Unavailable when nothing is ready yet; the input filters' Status (InvalidArgument
  // for a malformed chunked body, ResourceExhausted over a limit); HttpStatusFor() maps it.
  [[nodiscard]] absl::StatusOr<size_t> TryReadBody(Brigade& out, size_t max);
  // co_await r.ReadBody(out, max): TryReadBody, parking while nothing is ready (never
  // Unavailable). 0 with body_done() at the end of the body.
  auto ReadBody(Brigade& out, size_t max);
  bool body_done() const { return body_done_; }

  // Passes part of the response down the output chain. Marks the response started, and
  // finished once an EOS went through. Errors: the filters' Status. An Internal one (a filter
  // that threw or broke the chain's rules: a bug, not the client's doing) is also said on
  // stderr, once per request, as are Internal errors of TryReadBody.
  // kAgain: the network is full; what was passed is held (bounded), pass more later.
  [[nodiscard]] absl::StatusOr<filters::Flow> Pass(Brigade& bb);
  // co_await r.Send(bb): Pass, then parks while the chain answers kAgain (the event loop
  // resumes it once the socket drained and an empty pass went through). Returns the Status.
  auto Send(Brigade& bb);

  // The response handler's coroutine while it is parked.
  ParkedTask& parked() { return parked_; }
  bool response_started() const { return response_started_; }
  bool response_finished() const { return response_finished_; }

  // Sends a complete response for `status` (a small HTML body naming it, and `detail` when
  // given), keeping fields such as Allow and Location that a handler set for it.
  // Errors: a response already under way → FailedPrecondition.
  [[nodiscard]] absl::Status SendErrorResponse(int status, absl::string_view detail = "");
  // Ends a response that is under way: EOS after a successful one; after a failure, an ERROR
  // bucket and `aborted` (no EOS: a chunked body must not look complete).
  [[nodiscard]] absl::Status FinishResponse(bool failed, int status);

  std::string handler;    // SetHandler name chosen by the configuration ("static", "echo", ...)
  std::string args;       // the query string, after '?' (Apache's r->args), as sent
  std::string user;       // set by an authentication handler; the access log's %u
  std::string filename;   // set by translate
  Ref<File> file;         // the file translate opened for it, when it did
  // Translate's verdict when it found no file to serve (403, 404, 503, 500); the response
  // handler answers it, after the access checks, so a denied client learns nothing of which
  // files exist. 0: none.
  int file_status = 0;
  bool aborted = false;   // the response could not be completed; close the connection
  bool keep_alive = true;

  // For the log phase: the request line as sent (uri is the target's decoded, normalised
  // path), the body bytes that left the socket, and the request's start time.
  std::string the_request;
  uint64_t bytes_sent = 0;
  time_t request_time = 0;

  // The matched Location's document root, for translate: its path (a view of the server's
  // compiled configuration, which outlives every request) and its O_PATH descriptor (-1: none).
  absl::string_view document_root;
  int document_root_fd = -1;
  // The modules' configuration values of the request's Location (merged with the server's).
  const ConfigValues& config() const { return config_ != nullptr ? *config_ : kNoConfig; }
  // REQUIRES: `values` outlives the request (a compiled configuration).
  void set_config(const ConfigValues* values) { config_ = values; }
  // The modules' per-request state (StateSlot), gone with the request.
  ConfigValues& state() { return state_; }
  const ConfigValues& state() const { return state_; }

  // Spooling of bodies a handler needs whole (RequestBodyBufferSize, RequestBodyTempDir).
  uint64_t body_buffer_size = 64 * 1024;
  std::string body_temp_dir;  // empty: the system's temporary directory

  // The request cycle's state (phases.cc).
  struct Cycle {
    Outcome decided = Outcome::Ok();
    bool responded = false;  // the response's end was passed down the chain
    bool ended = false;      // log and cleanup ran
  };
  Cycle& cycle() { return cycle_; }

 private:
  static inline const ConfigValues kNoConfig{};
  void ReportFault(const absl::Status& s);

  Connection* connection_;
  const ConfigValues* config_ = nullptr;
  ConfigValues state_;
  filters::OutputChain output_;
  filters::InputChain input_;
  std::array<HandlerStack<Request>, 11> stacks_;
  bool response_started_ = false;
  bool response_finished_ = false;
  bool body_done_ = false;
  bool fault_reported_ = false;
  ParkedTask parked_;
  Cycle cycle_;
};

namespace internal {

// Passes a brigade, then retries empty passes until the chain stops answering kAgain.
template <typename PassFn>
struct SendOp {
  SendOp(Suspension* s, Wait w, PassFn p, Brigade* b)
      : suspension(s), wait(w), pass(std::move(p)), bb(b) {}
  Suspension* suspension;
  Wait wait;
  PassFn pass;
  Brigade* bb;
  bool passed = false;
  absl::Status status;
  bool TryComplete() {
    Brigade empty(bb->allocator());
    absl::StatusOr<filters::Flow> flow = pass(passed ? empty : *bb);
    passed = true;
    if (!flow.ok()) {
      status = flow.status();
      return true;
    }
    return *flow == filters::Flow::kDone;
  }
  [[nodiscard]] absl::Status result() { return status; }
};

// One non-blocking attempt per readiness of the socket.
template <typename TryFn>
struct ReadOp {
  ReadOp(Suspension* s, Wait w, TryFn a) : suspension(s), wait(w), attempt(std::move(a)) {}
  Suspension* suspension;
  Wait wait;
  TryFn attempt;
  using Result = decltype(attempt());
  std::optional<Result> got;
  static const absl::Status& StatusOf(const absl::Status& s) { return s; }
  template <typename T>
  static const absl::Status& StatusOf(const absl::StatusOr<T>& s) { return s.status(); }
  bool TryComplete() {
    Result r = attempt();
    if (absl::IsUnavailable(StatusOf(r))) return false;
    got.emplace(std::move(r));
    return true;
  }
  Result result() { return std::move(*got); }
};
// Completes on the second attempt: the first parks, the event loop's wake-up completes.
struct ReadinessOp {
  Suspension* suspension;
  Wait wait;
  bool woken = false;
  bool TryComplete() { return std::exchange(woken, true); }
  void result() {}
};

}  // namespace internal

inline auto Request::ReadBody(Brigade& out, size_t max) {
  auto attempt = [this, &out, max] { return TryReadBody(out, max); };
  return Retrying(internal::ReadOp<decltype(attempt)>(&parked_.suspension(), Wait::kReadable, attempt));
}

inline auto Request::Send(Brigade& bb) {
  auto pass = [this](Brigade& b) { return Pass(b); };
  return Retrying(internal::SendOp<decltype(pass)>(&parked_.suspension(), Wait::kWritable, pass, &bb));
}

inline auto Connection::Read(Brigade& out, filters::ReadMode mode, size_t max) {
  auto attempt = [this, &out, mode, max] {
    return input_.Read(out, mode, BlockMode::kNonBlock, max);
  };
  return Retrying(internal::ReadOp<decltype(attempt)>(&parked_.suspension(), Wait::kReadable, attempt));
}

inline auto Connection::Send(Brigade& bb) {
  auto pass = [this](Brigade& b) { return output_.Pass(b); };
  return Retrying(internal::SendOp<decltype(pass)>(&parked_.suspension(), Wait::kWritable, pass, &bb));
}

inline auto Connection::Readable() {
  return Retrying(internal::ReadinessOp{&parked_.suspension(), Wait::kReadable});
}
inline auto Connection::Writable() {
  return Retrying(internal::ReadinessOp{&parked_.suspension(), Wait::kWritable});
}

// Makes a hook handler of a coroutine handler: the coroutine runs at once until it returns or
// first parks; a parked one is adopted by the record and the hook reports Outcome::Suspended(),
// which ends its phase (RUN_FIRST and RUN_ALL both stop there). The event loop resumes it.
// REQUIRES: registered on the response phase (requests) or process_connection (connections).
template <typename Arg>
std::function<Outcome(Arg&)> Coroutine(std::function<Task<Outcome>(Arg&)> handler) {
  // Shared, and kept by the record while the task lives: hook runs copy their entries, and the
  // coroutine may refer to the handler object (a lambda's captures).
  auto shared = std::make_shared<const std::function<Task<Outcome>(Arg&)>>(std::move(handler));
  return [shared](Arg& arg) {
    Task<Outcome> task = (*shared)(arg);
    task.Start();
    if (task.done()) return task.result();
    arg.parked().Adopt(std::move(task), shared);
    return Outcome::Suspended();
  };
}

// "Not Found" for 404, "" for a status without a standard reason phrase.
absl::string_view ReasonPhrase(int status);

// "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 section 5.6.7), written into `out`; returns a view
// of it (no allocation: every response carries one).
absl::string_view HttpDate(time_t t, char (&out)[29]);

// The HTTP status for a failed Status from a filter or handler: InvalidArgument and DataLoss →
// 400, ResourceExhausted → 413, Unimplemented → 501, DeadlineExceeded → 408, NotFound → 404,
// PermissionDenied → 403, anything else → 500.
int HttpStatusFor(const absl::Status& status);

}  // namespace brigade::handlers

#endif  // HANDLERS_REQUEST_H_
