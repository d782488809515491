#include "server/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "brigade/storage.h"

namespace brigade::server {

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create(std::chrono::nanoseconds round_budget) {
  int epoll = epoll_create1(EPOLL_CLOEXEC);
  if (epoll < 0) return internal::ErrnoStatus(errno, "epoll_create1");
  int wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake < 0) {
    int err = errno;
    close(epoll);
    return internal::ErrnoStatus(err, "eventfd");
  }
  std::unique_ptr<EventLoop> loop(new EventLoop(epoll, wake, round_budget));
  loop->Add(wake, EPOLLIN, kWakeId);
  loop->UpdateNow();
  return loop;
}

EventLoop::~EventLoop() {
  close(wake_);
  close(epoll_);
}

void EventLoop::Add(int fd, uint32_t events, uint64_t id) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
}

void EventLoop::Modify(int fd, uint32_t events, uint64_t id) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  epoll_ctl(epoll_, EPOLL_CTL_MOD, fd, &ev);
}

void EventLoop::Remove(int fd) { epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr); }

void EventLoop::UpdateNow() {
  now_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now().time_since_epoch())
                .count();
}

void EventLoop::RunOnce(int max_wait_ms, const std::function<void(uint64_t, uint32_t)>& on_event,
                        const std::function<void(uint64_t)>& on_timer) {
  int wait = queue_.empty() && deferred_.empty() ? max_wait_ms : 0;
  int64_t next = timers_.NextDeadline();
  if (next >= 0) {
    int64_t until = next - now_ms_;
    if (until < wait) wait = static_cast<int>(until < 0 ? 0 : until);
  }
  epoll_event ready[kMaxEvents];
  int n = epoll_wait(epoll_, ready, kMaxEvents, wait);
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  UpdateNow();
  for (uint64_t id : deferred_) Queue(id, 0);
  deferred_.clear();
  // What the previous round did not have first, in epoll's order; then the rest in the order
  // the previous round dispatched them.
  epoll_event* events = ready;
  epoll_event ordered[kMaxEvents];
  if (n > 1 && !last_round_.empty()) {
    int16_t at_position[kMaxEvents];
    std::fill_n(at_position, last_round_.size(), int16_t{-1});
    int count = 0;
    for (int i = 0; i < n; ++i) {
      uint64_t id = ready[i].data.u64;
      auto it = std::lower_bound(last_round_.begin(), last_round_.end(), id,
                                 [](const Turn& t, uint64_t v) { return t.id < v; });
      // An id two descriptors share is placed once by position, and otherwise as new.
      if (it != last_round_.end() && it->id == id && at_position[it->position] < 0) {
        at_position[it->position] = static_cast<int16_t>(i);
      } else {
        ordered[count++] = ready[i];
      }
    }
    for (size_t p = 0; p < last_round_.size(); ++p) {
      if (at_position[p] >= 0) ordered[count++] = ready[at_position[p]];
    }
    events = ordered;
  }
  last_round_.clear();
  for (int i = 0; i < n; ++i) {
    last_round_.push_back({events[i].data.u64, static_cast<uint32_t>(i)});
  }
  if (n > 1) {
    std::sort(last_round_.begin(), last_round_.end(),
              [](const Turn& a, const Turn& b) { return a.id < b.id; });
  }
  bool woken = false;
  for (int i = 0; i < n; ++i) {
    uint64_t id = events[i].data.u64;
    if (id == kWakeId) {
      uint64_t v;
      (void)!read(wake_, &v, sizeof(v));  // a wake-up carries no data worth checking
      woken = true;
    }
    if (events[i].events == EPOLLOUT) {
      Queue(id, EPOLLOUT);
      continue;
    }
    on_event(id, events[i].events);
  }
  if (woken) {
    std::vector<uint64_t> posted;
    {
      std::lock_guard<std::mutex> lock(posted_mu_);
      posted.swap(posted_);
    }
    for (uint64_t id : posted) on_event(id, 0);
  }
  RunQueue(start, on_event);
  timers_.Expire(now_ms_, on_timer);
}

void EventLoop::Queue(uint64_t id, uint32_t events) {
  auto [it, fresh] = queued_.try_emplace(id, events);
  if (fresh) {
    queue_.push_back(id);
  } else {
    it->second |= events;
  }
}

void EventLoop::RunQueue(std::chrono::steady_clock::time_point start,
                         const std::function<void(uint64_t, uint32_t)>& on_event) {
  while (!queue_.empty()) {
    uint64_t id = queue_.front();
    queue_.pop_front();
    auto it = queued_.find(id);
    uint32_t events = it->second;
    queued_.erase(it);
    on_event(id, events);
    if (std::chrono::steady_clock::now() - start >= budget_) break;
  }
}

void EventLoop::Post(uint64_t id) {
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    posted_.push_back(id);
  }
  Wake();
}

void EventLoop::Wake() {
  uint64_t one = 1;
  (void)!write(wake_, &one, sizeof(one));  // the counter only saturates; EAGAIN means awake
}

}  // namespace brigade::server
