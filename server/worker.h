// Worker: one thread with its own event loop and its own SO_REUSEPORT listening sockets.
//
// A worker accepts connections and runs each as a task on its loop, made by the factory of its
// Listen's protocol (Server::protocol); nothing on its thread blocks. When accept
// fails for lack of descriptors (EMFILE, ENFILE), the listeners are paused for a moment and the
// condition is said on stderr, instead of spinning on a level-triggered listener that stays
// readable. On Stop, listening ends, idle connections close, and work in flight runs on while it
// makes progress, for at most GracefulShutdownTimeout; what is left then is cut.
//
// Thread-safety: Start, Join and Wake may be called from the server's thread; everything else
// runs on the worker's own thread.

#ifndef SERVER_WORKER_H_
#define SERVER_WORKER_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "server/server.h"

namespace brigade::server {

class Worker {
 public:
  // `listen_fds`: this worker's listening sockets, one per Listen, in the config's order;
  // the worker owns them. `counters`: what this worker's connections count.
  // REQUIRES: `counters` outlives the worker.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Worker>> Create(
      Server* server, std::vector<int> listen_fds, handlers::ServerCounters* counters);
  virtual ~Worker() = default;

  virtual void Start() = 0;
  virtual void Join() = 0;
  // Interrupts the loop's wait so that it notices Server::stopping().
  virtual void Wake() = 0;
};

}  // namespace brigade::server

#endif  // SERVER_WORKER_H_
