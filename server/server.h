// Server: brigaded's listeners, worker threads, compiled configuration, handlers and log.
//
// Each worker thread runs its own event loop with its own SO_REUSEPORT listening socket per
// Listen, so the kernel spreads connections across workers and a connection stays on one
// thread. Nothing on a worker blocks (DESIGN.md section 7): request heads, bodies and responses
// wait on epoll interests and timers; handlers are resumable (coroutines park on the
// connection's readiness); CORE_OUT keeps what a full socket cannot take (bounded) and answers
// kAgain, so a slow reader stops its producer instead of growing a buffer or holding a thread.
// Echo-protocol connections are coroutines on the same loops.
//
// Stop(): listeners close, idle connections close, responses in flight run on while they make
// progress (for at most GracefulShutdownTimeout), then Run() returns. ReopenLogs() reopens the
// access log (SIGHUP).
//
// Thread-safety: Run on one thread; Stop and ReopenLogs from any thread.

#ifndef SERVER_SERVER_H_
#define SERVER_SERVER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "brigade/requires.h"
#include "filters/registry.h"
#include "handlers/blocking.h"
#include "handlers/phases.h"
#include "server/config.h"
#include "server/location.h"

namespace brigade::server {

class Worker;

class Server {
 public:
  // Compiles the configuration's Locations, binds every Listen (port 0 picks a free port, then
  // shared by every worker), then runs the open_logs and post_config hooks once (an error
  // there stops start-up: an Internal error naming the phase and what the hook said). Sets SIGPIPE to be ignored, process-wide:
  // sendfile(2) to a client that went away would otherwise kill the process (nginx and Apache
  // do the same at start-up). Errors: a filter spec refused, a
  // document root that cannot be opened, a port in use, a log that cannot be opened.
  // REQUIRES: `registries` (what `config` was parsed against) outlives the server.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Server>> Create(
      ServerConfig config, const modules::Registries& registries);
  ~Server();

  // The bound listeners, as "127.0.0.1:8080 http".
  std::vector<std::string> Addresses() const;

  // Runs the child_init hooks once per worker, then serves until Stop(); returns once every
  // worker finished.
  [[nodiscard]] absl::Status Run();
  void Stop();
  // SIGHUP: runs the open_logs hooks again (the access log reopens its file).
  void ReopenLogs();

  const ServerConfig& config() const { return config_; }
  // The modules' hooks (Registries::hooks), sorted.
  const handlers::Hooks& hooks() const { return hooks_; }
  const Locations& locations() const { return locations_; }
  // The bounded pool for handlers registered with handlers::Blocking (BlockingPoolThreads
  // threads, started only when such a handler first runs).
  handlers::BlockingPool& blocking_pool() { return blocking_pool_; }
  // Worker `index`'s counters. REQUIRES: index < config().workers.
  handlers::ServerCounters& counters(size_t index) {
    BRIGADE_REQUIRES(index < record_.counters.size());
    return *record_.counters[index];
  }
  // What connections see of the server (Connection::server()).
  const handlers::ServerRecord& record() const { return record_; }
  // The pre_connection handlers configured (server scope).
  const std::vector<handlers::HandlerEntry<handlers::Connection>>& pre_connection() const {
    return pre_connection_;
  }
  // What makes the connections of bound()[index]: the protocol a module registered under the
  // Listen's name, or the connection of the process_connection handler of that name.
  // REQUIRES: index < bound().size().
  const modules::ProtocolFactory& protocol(size_t index) const {
    BRIGADE_REQUIRES(index < protocols_.size());
    return protocols_[index];
  }
  bool stopping() const { return stopping_.load(); }
  // The listeners as bound (port 0 replaced by the port the kernel chose).
  const std::vector<ListenSpec>& bound() const { return bound_; }

 private:
  Server(ServerConfig config, const modules::Registries& registries);
  [[nodiscard]] absl::Status Bind();
  // Opens every document root once (O_PATH), for OpenBeneath.
  [[nodiscard]] absl::Status OpenRoots();
  // The connection handlers and protocols the configuration names. Errors: a name no longer
  // registered.
  [[nodiscard]] absl::Status CompileConnectionHandlers();

  ServerConfig config_;
  const modules::Registries& registries_;
  handlers::Hooks hooks_;
  handlers::ServerRecord record_;
  std::vector<handlers::HandlerEntry<handlers::Connection>> pre_connection_;
  // Per Listen: the process_connection handler its name selects (empty for a protocol), and
  // its connections' factory.
  std::vector<std::vector<handlers::HandlerEntry<handlers::Connection>>> connection_handlers_;
  std::vector<modules::ProtocolFactory> protocols_;
  std::vector<ListenSpec> bound_;                // actual ports
  std::map<std::string, int> root_fds_;          // document root → directory fd (read-only after Create)
  Locations locations_;                          // compiled once, read-only after Create
  std::vector<std::vector<int>> listen_fds_;     // [worker][listen]
  // Before the workers: joined after them, once every request that used it is gone.
  handlers::BlockingPool blocking_pool_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<bool> stopping_{false};
};

}  // namespace brigade::server

#endif  // SERVER_SERVER_H_
