// EventLoop: one worker thread's epoll set, its timers and its wake-up eventfd.
//
// Descriptors are registered under a 64-bit id chosen by the caller (never a pointer, so that an
// event for something closed earlier in the same round finds nothing instead of freed memory).
// Interest is level-triggered; the owner asks only for what it waits on (EPOLLIN while it wants
// to read, EPOLLOUT while something waits for room), so readiness it does not want never spins
// the loop. Timers (timers.h) fire after the round's I/O events.
//
// Thread-safety: Wake() from any thread; everything else on the loop's own thread.

#ifndef SERVER_EVENT_LOOP_H_
#define SERVER_EVENT_LOOP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/statusor.h"
#include "server/timers.h"

namespace brigade::server {

class EventLoop {
 public:
  // The id the wake-up eventfd's events carry.
  static constexpr uint64_t kWakeId = 0;

  // Errors: epoll or eventfd could not be created.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<EventLoop>> Create();
  ~EventLoop();

  // Registers `fd` for `events`, or changes its interest. Remove before closing `fd`.
  void Add(int fd, uint32_t events, uint64_t id);
  void Modify(int fd, uint32_t events, uint64_t id);
  void Remove(int fd);

  Timers& timers() { return timers_; }
  // Monotonic milliseconds, as of the start of the current round.
  int64_t now_ms() const { return now_ms_; }

  // Waits for readiness, at most until the next timer or `max_wait_ms`, then calls
  // `on_event(id, events)` for each ready descriptor (the wake-up eventfd is drained here and
  // reported as kWakeId), `on_event(id, 0)` for each id posted or deferred since, and
  // `on_timer(id)` for each expired timer.
  void RunOnce(int max_wait_ms, const std::function<void(uint64_t, uint32_t)>& on_event,
               const std::function<void(uint64_t)>& on_timer);

  // Makes a RunOnce in progress return soon. Thread-safe.
  void Wake();
  // Reports `id` as ready (events 0) in the next round: another thread has something for it.
  // Thread-safe.
  void Post(uint64_t id);
  // Reports `id` as ready (events 0) at the end of the next round, after the descriptors
  // ready by then: a connection with work in hand gives the others their turn first. That
  // round does not wait. Loop thread only.
  void Defer(uint64_t id) { deferred_.push_back(id); }

 private:
  EventLoop(int epoll, int wake) : epoll_(epoll), wake_(wake) {}
  void UpdateNow();

  int epoll_;
  int wake_;
  // std::mutex: ThreadSanitizer sees it (Debian's Abseil lacks the annotations for absl::Mutex).
  std::mutex posted_mu_;
  std::vector<uint64_t> posted_;  // guarded by posted_mu_
  std::vector<uint64_t> deferred_;
  Timers timers_;
  int64_t now_ms_ = 0;
};

}  // namespace brigade::server

#endif  // SERVER_EVENT_LOOP_H_
