// Blocking-style handlers, for code that insists on it: the handler runs on a thread of a small,
// bounded, joined pool (Apache's worker model) while the request stays on its event loop.
//
// The handler sees a BlockingRequest: copies of the request's head, and ReadBody and Write
// calls that block the pool thread — never the worker. Each call is handed to the worker as a
// message: the request's coroutine (made by Blocking()) does the I/O through the request's
// chains with the usual awaitables, then answers. Bytes cross threads as std::string copies:
// brigades belong to one thread. The worker learns of a message through the record's waker
// (Connection::set_waker), which the server points at its event loop.
//
// Only requests whose handler was registered with Blocking() ever touch the pool; its threads
// start with the first such request. A full pool answers 503. When the connection dies, the
// handler's next call (or the one it is blocked in) fails with Cancelled.
//
// Example:
//   BlockingPool pool(4, 64);
//   hooks.request(Phase::kResponse).Register(Blocking(&pool, [](BlockingRequest& r) {
//     std::string body;
//     for (absl::StatusOr<std::string> piece; (piece = r.ReadBody(65536)).ok() && !piece->empty();)
//       body += *piece;
//     r.response_headers.Set("Content-Type", "text/plain");
//     return r.Write(LegacyTransform(body)).ok() ? Outcome::Ok() : Outcome::Status(500);
//   }));
//
// Thread-safety: BlockingPool's methods may be called from any thread; a BlockingRequest is used
// only by the pool thread running its handler.

#ifndef HANDLERS_BLOCKING_H_
#define HANDLERS_BLOCKING_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "filters/exchange.h"
#include "handlers/hooks.h"
#include "handlers/request.h"

namespace brigade::handlers {

class BlockingPool {
 public:
  // At most `threads` handlers run at once and at most `queue_limit` wait for a thread.
  BlockingPool(int threads, size_t queue_limit);
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;
  // Runs what is queued, then joins the threads.
  ~BlockingPool();

  // Queues `job`; starts the threads on first use. False when the queue is full.
  bool Submit(std::function<void()> job);
  int threads_started() const;

 private:
  void Run();
  const int max_threads_;
  const size_t queue_limit_;
  // std::mutex rather than absl::Mutex, here and in the channel: ThreadSanitizer sees through
  // pthread's, while Debian's Abseil is built without the annotations it would need.
  mutable std::mutex mu_;
  std::condition_variable work_;                // queue_ gained a job, or stopping_
  std::deque<std::function<void()>> queue_;     // guarded by mu_
  bool stopping_ = false;                       // guarded by mu_
  std::vector<std::thread> threads_;            // guarded by mu_
};

namespace internal {
class BlockingChannel;
}  // namespace internal

class BlockingRequest {
 public:
  // Made by the coroutine Blocking() registers, on the worker, for the pool thread.
  explicit BlockingRequest(std::shared_ptr<internal::BlockingChannel> channel)
      : channel_(std::move(channel)) {}

  // Copies of the request's head, taken when the handler started.
  std::string method;
  std::string uri;
  std::string protocol;
  filters::HeaderMap request_headers;
  // The response's head; sent with the first Write (or at the end).
  int status = 200;
  filters::HeaderMap response_headers;

  // Blocks until up to `max` bytes of the request body arrived; empty at the body's end.
  // Errors: the body's (InvalidArgument, ResourceExhausted, ...); Cancelled once the connection
  // died.
  [[nodiscard]] absl::StatusOr<std::string> ReadBody(size_t max);
  // Blocks until `data` was passed down the response's chain (and the chain took it).
  // Errors: the chain's; Cancelled once the connection died.
  [[nodiscard]] absl::Status Write(std::string data);

 private:
  std::shared_ptr<internal::BlockingChannel> channel_;
};

// A response handler that runs `handler` on `pool`.
// REQUIRES: `pool` outlives every request it serves; the record's waker is set.
std::function<Outcome(Request&)> Blocking(BlockingPool* pool,
                                          std::function<Outcome(BlockingRequest&)> handler);
// The same on the pool of the request's server (ServerRecord::blocking_pool, the server's
// BlockingPoolThreads), for modules, which register before any server exists. A request with no
// server, or a server without a pool, gets 503.
std::function<Outcome(Request&)> Blocking(std::function<Outcome(BlockingRequest&)> handler);

}  // namespace brigade::handlers

#endif  // HANDLERS_BLOCKING_H_
