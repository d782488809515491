// Worker: one thread with its own epoll loop and its own SO_REUSEPORT listening sockets.
//
// A worker accepts connections, reads request heads without blocking, runs each request's
// phases inline, and moves responses that wait on a slow client along on EPOLLOUT (see
// server.h for the execution model). Echo-protocol connections get a thread each.
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
  // the worker owns them.
  static absl::StatusOr<std::unique_ptr<Worker>> Create(Server* server,
                                                        std::vector<int> listen_fds);
  virtual ~Worker() = default;

  virtual void Start() = 0;
  virtual void Join() = 0;
  // Interrupts epoll_wait so that the loop notices Server::stopping().
  virtual void Wake() = 0;
};

}  // namespace brigade::server

#endif  // SERVER_WORKER_H_
