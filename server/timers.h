// Timers: the deadlines of a worker's connections, as one FIFO list per duration.
//
// A server arms few distinct durations (Timeout, KeepAliveTimeout, the lingering close), and a
// connection re-arms its timer on every bit of progress. With one list per duration, every
// entry is appended with deadline = now + duration, so each list is sorted by deadline: arming,
// re-arming and cancelling are O(1) (unlink, append), and expiry looks only at list heads —
// never at every connection after each epoll_wait.
//
// Each entry is a TimerNode embedded in its owner; a node unlinks itself when destroyed.
//
// Thread-safety: none; one Timers per worker thread.

#ifndef SERVER_TIMERS_H_
#define SERVER_TIMERS_H_

#include <cstdint>
#include <functional>
#include <map>

namespace brigade::server {

class Timers;

class TimerNode {
 public:
  explicit TimerNode(uint64_t id) : id_(id) {}
  TimerNode(const TimerNode&) = delete;
  TimerNode& operator=(const TimerNode&) = delete;
  ~TimerNode() { Unlink(); }

  uint64_t id() const { return id_; }

 private:
  friend class Timers;
  struct List {
    TimerNode* head = nullptr;
    TimerNode* tail = nullptr;
  };
  void Unlink();

  uint64_t id_;
  int64_t deadline_ms_ = 0;
  List* list_ = nullptr;
  TimerNode* prev_ = nullptr;
  TimerNode* next_ = nullptr;
};

class Timers {
 public:
  Timers() = default;
  Timers(const Timers&) = delete;
  Timers& operator=(const Timers&) = delete;

  // (Re)arms `node` to fire at now_ms + duration_ms. O(log d) for d distinct durations, O(1) in
  // practice. REQUIRES: every armed node is cancelled or destroyed before the Timers.
  void Arm(TimerNode& node, int64_t duration_ms, int64_t now_ms);
  void Cancel(TimerNode& node) { node.Unlink(); }

  // The earliest deadline, or -1 when nothing is armed.
  int64_t NextDeadline() const;
  // Disarms every node whose deadline is at or before `now_ms` and calls `fire(id)` for each, in
  // deadline order within a duration. `fire` may arm, cancel or destroy any node.
  void Expire(int64_t now_ms, const std::function<void(uint64_t)>& fire);

 private:
  std::map<int64_t, TimerNode::List> lists_;  // by duration
};

}  // namespace brigade::server

#endif  // SERVER_TIMERS_H_
