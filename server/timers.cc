#include "server/timers.h"

namespace brigade::server {

void TimerNode::Unlink() {
  if (list_ == nullptr) return;
  if (prev_ != nullptr) {
    prev_->next_ = next_;
  } else {
    list_->head = next_;
  }
  if (next_ != nullptr) {
    next_->prev_ = prev_;
  } else {
    list_->tail = prev_;
  }
  list_ = nullptr;
  prev_ = next_ = nullptr;
}

void Timers::Arm(TimerNode& node, int64_t duration_ms, int64_t now_ms) {
  node.Unlink();
  // At least 1 ms, so that a node re-armed while its list expires lands past `now_ms`.
  if (duration_ms < 1) duration_ms = 1;
  TimerNode::List& list = lists_[duration_ms];
  node.deadline_ms_ = now_ms + duration_ms;
  node.list_ = &list;
  node.prev_ = list.tail;
  node.next_ = nullptr;
  if (list.tail != nullptr) {
    list.tail->next_ = &node;
  } else {
    list.head = &node;
  }
  list.tail = &node;
}

int64_t Timers::NextDeadline() const {
  int64_t next = -1;
  for (const auto& [duration, list] : lists_) {
    if (list.head != nullptr && (next < 0 || list.head->deadline_ms_ < next)) {
      next = list.head->deadline_ms_;
    }
  }
  return next;
}

void Timers::Expire(int64_t now_ms, const std::function<void(uint64_t)>& fire) {
  for (auto& [duration, list] : lists_) {
    // Each firing may re-arm its node onto this list's tail with a later deadline, so the loop
    // ends; it may destroy any node, so the head is read afresh every time.
    while (list.head != nullptr && list.head->deadline_ms_ <= now_ms) {
      TimerNode* node = list.head;
      node->Unlink();
      fire(node->id());
    }
  }
}

}  // namespace brigade::server
