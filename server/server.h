// Server: brigaded's listeners, worker threads and connection handling.
//
// Each worker thread runs its own epoll loop with its own SO_REUSEPORT listening socket per
// Listen, so the kernel spreads connections across workers and a connection stays on one
// thread. Sockets are non-blocking. A worker reads request heads without blocking (a slow
// client holds no thread while its head trickles in); once a head is complete it runs the
// request phases inline, and the handler's body reads and the network writes wait on the
// socket with the connection's Timeout — the writer blocks instead of buffering, so a slow
// reader stops its producer and memory per response stays bounded. Echo-protocol
// connections are long conversations, so each gets its own thread.
//
// Stop(): listeners close, idle connections close, responses in flight finish (bounded by
// Timeout), then Run() returns. ReopenLogs() reopens the access log (SIGHUP).
//
// Thread-safety: Run on one thread; Stop and ReopenLogs from any thread.

#ifndef SERVER_SERVER_H_
#define SERVER_SERVER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "filters/registry.h"
#include "handlers/phases.h"
#include "server/config.h"

namespace brigade::server {

struct ServerStats {
  std::atomic<uint64_t> connections_open{0};
  std::atomic<uint64_t> connections_total{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
};

class Worker;

class Server {
 public:
  // Binds every Listen (port 0 picks a free port, then shared by every worker) and opens the
  // access log. Errors: a port in use, a log that cannot be opened.
  static absl::StatusOr<std::unique_ptr<Server>> Create(ServerConfig config);
  ~Server();

  // The bound listeners, as "127.0.0.1:8080 http".
  std::vector<std::string> Addresses() const;

  // Serves until Stop(); returns once every worker finished.
  absl::Status Run();
  void Stop();
  void ReopenLogs();

  const ServerConfig& config() const { return config_; }
  const filters::FilterRegistry& registry() const { return registry_; }
  const handlers::Hooks& hooks() const { return hooks_; }
  ServerStats& stats() { return stats_; }
  bool stopping() const { return stopping_.load(); }
  // The listeners as bound (port 0 replaced by the port the kernel chose).
  const std::vector<ListenSpec>& bound() const { return bound_; }
  void Log(const std::string& line);
  // Echo-protocol threads register their sockets, so that Stop ends them and Run waits.
  void EchoStarted(int fd);
  void EchoEnded(int fd);

 private:
  explicit Server(ServerConfig config);
  absl::Status Bind();
  absl::Status OpenLog();
  // Opens every document root once (O_PATH), for OpenBeneath.
  absl::Status OpenRoots();
  void RegisterHandlers();

  ServerConfig config_;
  filters::FilterRegistry registry_;
  handlers::Hooks hooks_;
  ServerStats stats_;
  std::vector<ListenSpec> bound_;                // actual ports
  std::map<std::string, int> root_fds_;          // document root → directory fd (read-only after Create)
  std::vector<std::vector<int>> listen_fds_;     // [worker][listen]
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<bool> stopping_{false};
  absl::Mutex echo_mu_;
  std::set<int> echo_fds_ ABSL_GUARDED_BY(echo_mu_);
  absl::Mutex log_mu_;
  FILE* log_ ABSL_GUARDED_BY(log_mu_) = nullptr;
};

}  // namespace brigade::server

#endif  // SERVER_SERVER_H_
