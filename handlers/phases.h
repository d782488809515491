// The phases of the server, connection and request cycles, their run types, the hooks a
// server registers handlers on, and the request cycle runner.
//
//   server:      open_logs, post_config (RUN_ALL), child_init (VOID)
//   connection:  pre_connection (RUN_ALL), process_connection (RUN_FIRST)
//   request:     post_read_request (RUN_ALL), translate (RUN_FIRST), header_parser,
//                access (RUN_ALL), authen, authz, type (RUN_FIRST), fixups (RUN_ALL),
//                response (RUN_FIRST), log (RUN_ALL), cleanup (RUN_ALL)
//
// The request cycle runs the request phases in that order. DONE, or an HTTP error status, from
// any phase skips straight to log and cleanup, which always run; the cycle produces exactly one
// response on every path (an error response when nothing was sent yet; when a response was
// already under way the error is passed as an ERROR bucket and the request marked aborted, so
// the connection closes instead of sending a second response).
//
// An event loop drives it in three steps: StartRequestCycle runs the phases until the response
// is decided or a coroutine response handler parks; ResumeRequestCycle polls the parked handler
// when its wait is ready; EndRequestCycle runs log and cleanup once the response's last byte
// has left (or the connection died). RunRequestCycle does all three for callers without a loop.
//
// Thread-safety: register handlers before serving; afterwards Hooks is read-only and shared by
// all worker threads.

#ifndef HANDLERS_PHASES_H_
#define HANDLERS_PHASES_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "handlers/config_values.h"
#include "handlers/hooks.h"

namespace brigade::handlers {

class BlockingPool;
class Connection;
class Request;

enum class Phase : int {
  kOpenLogs,
  kPostConfig,
  kChildInit,
  kPreConnection,
  kProcessConnection,
  kPostReadRequest,
  kTranslate,
  kHeaderParser,
  kAccess,
  kAuthen,
  kAuthz,
  kType,
  kFixups,
  kResponse,
  kLog,
  kCleanup,
};
inline constexpr int kPhaseCount = static_cast<int>(Phase::kCleanup) + 1;

absl::string_view PhaseName(Phase phase);  // "post_read_request", ...
RunType RunTypeOf(Phase phase);
bool IsRequestPhase(Phase phase);

// What server-scope handlers see.
// What one worker counts. Each worker has a block of its own, in a cache line of its own, so
// that workers share no line on every request; ServerRecord::Totals() sums the blocks. Only the
// worker writes its block (Add: a plain load and store, no locked instruction); any thread may
// read it. Relaxed: statistics only.
struct alignas(64) ServerCounters {
  static void Add(std::atomic<uint64_t>& counter, uint64_t n) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  static void Sub(std::atomic<uint64_t>& counter, uint64_t n) {
    counter.store(counter.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }

  std::atomic<uint64_t> connections_open{0};
  std::atomic<uint64_t> connections_total{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
  // Times an idle keep-alive connection let its record go (server/connection.h).
  std::atomic<uint64_t> idle_records_released{0};
};

// The sum of every worker's ServerCounters at one moment.
struct CounterTotals {
  uint64_t connections_open = 0;
  uint64_t connections_total = 0;
  uint64_t requests = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t idle_records_released = 0;
};

// The server as its handlers see it (Apache's server_rec). Connections point to it.
struct ServerRecord {
  std::string name = "brigaded";
  absl::flat_hash_map<std::string, std::string> notes;
  // One block per worker, made before the workers start and never resized while they run.
  std::vector<std::unique_ptr<ServerCounters>> counters;
  CounterTotals Totals() const;
  // The modules' server-scope configuration values (ConfigSlot), set before open_logs.
  const ConfigValues* config = nullptr;
  // The modules' per-server state (StateSlot), written by server-phase hooks.
  ConfigValues state;
  // What a failing server-phase hook says went wrong, for the start-up error.
  std::string failure;
  // The server's pool for blocking-style handlers (handlers/blocking.h); null: none.
  BlockingPool* blocking_pool = nullptr;
};

using ServerHook = Hook<ServerRecord>;
using ConnectionHook = Hook<Connection>;
using RequestHook = Hook<Request>;

// Every phase's hook, each with its run type from the table above.
class Hooks {
 public:
  Hooks();

  // REQUIRES: the phase has that scope (server / connection / request).
  ServerHook& server(Phase phase);
  ConnectionHook& connection(Phase phase);
  RequestHook& request(Phase phase);
  const RequestHook& request(Phase phase) const;
  const ConnectionHook& connection(Phase phase) const;
  const ServerHook& server(Phase phase) const;

  // Sorts every phase's hooks by their modules' constraints (Hook::Sort).
  // Errors: a cycle → FailedPrecondition naming the phase and the modules.
  [[nodiscard]] absl::Status Sort();
  // Leaves out, in every phase, the hooks `server` does not need (HookNeeded).
  // REQUIRES: server.config is set.
  void Prune(const ServerRecord& server);

 private:
  std::array<ServerHook, 3> server_;
  std::array<ConnectionHook, 2> connection_;
  std::array<RequestHook, 11> request_;
};

// Runs open_logs, then post_config, once at start-up. Errors: a hook failed → Internal naming
// the phase, the status and what the hook put in server.failure; post_config does not run
// after a failed open_logs.
[[nodiscard]] absl::Status RunServerConfig(const Hooks& hooks, ServerRecord& server);
// Runs child_init (VOID: results ignored), once per worker.
void RunChildInit(const Hooks& hooks, ServerRecord& server);

// Runs pre_connection, then process_connection unless pre_connection failed. The result is
// process_connection's (DECLINED when no protocol handler took the connection); SUSPENDED when
// a coroutine protocol handler parked: poll it with ResumeConnection.
Outcome RunConnection(const Hooks& hooks, Connection& connection);
// Polls the parked protocol handler. SUSPENDED while it stays parked (or parked again);
// otherwise what it returned, with its task destroyed.
// REQUIRES: connection.parked().task() != nullptr.
Outcome ResumeConnection(Connection& connection);

enum class CycleState {
  kSuspended,  // a coroutine response handler is parked (request.parked().suspension() says on what)
  kResponded,  // the response was decided and its end (EOS, or ERROR) passed down the chain
};
// Runs post_read_request through response.
CycleState StartRequestCycle(const Hooks& hooks, Request& request);
// Polls the parked response handler; when it returned, decides and ends the response.
// REQUIRES: StartRequestCycle returned kSuspended and nothing resumed the task since.
CycleState ResumeRequestCycle(Request& request);
// Decides the response with `status` without running (more of) a handler: destroys a parked
// one, then responds as an error from a phase would — an error response naming `detail` when
// nothing was sent yet, an abort otherwise. For errors the connection finds itself: a malformed
// head, a body that stopped arriving. REQUIRES: 400 <= status <= 599; not responded yet.
CycleState AbandonRequestCycle(Request& request, int status, absl::string_view detail = "");
// Runs log, then cleanup (with the handlers pushed at run time, FIFO), once; a later call does
// nothing. Destroys a task still parked (the connection died under it) first.
void EndRequestCycle(const Hooks& hooks, Request& request);
// All three steps, for callers without an event loop (tests, benchmarks): a parked handler is
// polled until it returns, so every wait must resolve by itself (in-memory input and sinks).
// Returns the outcome that decided the response (request.cycle().decided): OK (or DONE) when a
// handler produced it, or the HTTP status of the error response. A response phase where every
// handler declines is 404.
Outcome RunRequestCycle(const Hooks& hooks, Request& request);

}  // namespace brigade::handlers

#endif  // HANDLERS_PHASES_H_
