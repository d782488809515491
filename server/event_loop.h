// EventLoop: one worker thread's epoll set, its timers and its wake-up eventfd.
//
// Descriptors are registered under a 64-bit id chosen by the caller (never a pointer, so that an
// event for something closed earlier in the same round finds nothing instead of freed memory).
// Interest is level-triggered; the owner asks only for what it waits on (EPOLLIN while it wants
// to read, EPOLLOUT while something waits for room), so readiness it does not want never spins
// the loop. Timers (timers.h) fire after the round's I/O events.
//
// Write readiness alone is where a busy worker's time goes: a gzip stream compresses its next
// block each time its socket drains. A round dispatches it in the order it came, and only until
// the round budget has passed (always at least one); the rest waits, in order, for the next
// rounds, which do not wait. Every other event (a new connection, a request, a hang-up, a
// post) is dispatched in the round it came in. So a request waits for at most one budget of
// other connections' output, not for all of it: 200 gzip streams ready at once kept a GET
// beside them waiting 877 ms when each round dispatched every event it found.
//
// Within a round, descriptors the previous round did not dispatch go first, then the others
// in the order that round dispatched them: round robin. Level-triggered epoll returns the ones
// still ready in the order of its previous return and puts one that became ready since at the
// back. Under steady load the connection served last in a round has not had its next request
// when the round ends, so it misses the next round; in epoll's order it would then come back
// last, waiting two rounds where the others wait one (with 16 clients of 100 KiB gzip pages on
// one worker, two of them did so every time: a p99 twice the median).
//
// Thread-safety: Wake() from any thread; everything else on the loop's own thread.

#ifndef SERVER_EVENT_LOOP_H_
#define SERVER_EVENT_LOOP_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "server/timers.h"

namespace brigade::server {

class EventLoop {
 public:
  // The id the wake-up eventfd's events carry.
  static constexpr uint64_t kWakeId = 0;

  // How long a round dispatches write readiness. A few of the largest slices CORE_OUT writes
  // (64 KiB of gzip output at level 6, ~2 ms): short enough for a request beside them, long
  // enough that the rounds' epoll_wait calls cost nothing next to the work.
  static constexpr std::chrono::nanoseconds kRoundBudget = std::chrono::milliseconds(2);
  // The most events one epoll_wait returns: room for every writer a crowd keeps ready, so that
  // the one event among them that is a request is found in this round's call, not a few calls
  // later.
  static constexpr int kMaxEvents = 256;

  // Errors: epoll or eventfd could not be created.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<EventLoop>> Create(
      std::chrono::nanoseconds round_budget = kRoundBudget);
  ~EventLoop();

  // Registers `fd` for `events`, or changes its interest. Remove before closing `fd`.
  void Add(int fd, uint32_t events, uint64_t id);
  void Modify(int fd, uint32_t events, uint64_t id);
  void Remove(int fd);

  Timers& timers() { return timers_; }
  // Monotonic milliseconds, as of the start of the current round.
  int64_t now_ms() const { return now_ms_; }

  // Waits for readiness, at most until the next timer or `max_wait_ms` (not at all while
  // writers or deferred ids are queued), then calls `on_event(id, events)` for each ready
  // descriptor (the wake-up eventfd is drained here and reported as kWakeId) and
  // `on_event(id, 0)` for each id posted since; then, while the budget lasts, `on_event` for
  // the queued ones (EPOLLOUT alone, or 0 when deferred); then `on_timer(id)` for each expired
  // timer. An id is queued at most once, however often it comes up meanwhile (its events
  // merged), so a dispatch may find a descriptor no longer ready: the owner tries and waits
  // again.
  void RunOnce(int max_wait_ms, const std::function<void(uint64_t, uint32_t)>& on_event,
               const std::function<void(uint64_t)>& on_timer);

  // Makes a RunOnce in progress return soon. Thread-safe.
  void Wake();
  // Reports `id` as ready (events 0) in the next round: another thread has something for it.
  // Thread-safe.
  void Post(uint64_t id);
  // Reports `id` as ready (events 0) from the next round on: queued behind the writers
  // already waiting and dispatched after that round's other events, so a connection with work
  // in hand gives the others their turn first. That round does not wait. Loop thread only.
  void Defer(uint64_t id) { deferred_.push_back(id); }

  // How many ids wait in the queue.
  size_t QueuedForTest() const { return queue_.size(); }

 private:
  EventLoop(int epoll, int wake, std::chrono::nanoseconds budget)
      : epoll_(epoll), wake_(wake), budget_(budget) {}
  void UpdateNow();
  void Queue(uint64_t id, uint32_t events);
  // Dispatches queued ids from the front until the budget since `start` is spent.
  void RunQueue(std::chrono::steady_clock::time_point start,
                const std::function<void(uint64_t, uint32_t)>& on_event);

  int epoll_;
  int wake_;
  // std::mutex: ThreadSanitizer sees it (Debian's Abseil lacks the annotations for absl::Mutex).
  std::mutex posted_mu_;
  std::vector<uint64_t> posted_;  // guarded by posted_mu_
  const std::chrono::nanoseconds budget_;
  std::deque<uint64_t> queue_;                      // writers and deferred ids, oldest first
  absl::flat_hash_map<uint64_t, uint32_t> queued_;  // each id in queue_: its events, merged
  std::vector<uint64_t> deferred_;                  // Defer'd this round: queued at the next
  struct Turn {
    uint64_t id;
    uint32_t position;
  };
  std::vector<Turn> last_round_;  // what the previous round dispatched and when, sorted by id
  Timers timers_;
  int64_t now_ms_ = 0;
};

}  // namespace brigade::server

#endif  // SERVER_EVENT_LOOP_H_
