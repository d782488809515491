#include "server/event_loop.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <vector>

#include "gtest/gtest.h"

namespace brigade::server {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

// Connected socket pairs: [0] is registered with the loop, [1] is the peer that makes it
// readable. Both are writable from the start and stay so.
class Sockets {
 public:
  explicit Sockets(size_t count) {
    for (size_t i = 0; i < count; ++i) {
      int sv[2];
      EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
      pairs_.push_back({sv[0], sv[1]});
    }
  }
  ~Sockets() {
    for (auto [a, b] : pairs_) {
      close(a);
      close(b);
    }
  }
  int mine(size_t i) const { return pairs_[i].first; }
  int peer(size_t i) const { return pairs_[i].second; }

 private:
  std::vector<std::pair<int, int>> pairs_;
};

struct Dispatch {
  uint64_t id;
  uint32_t events;
};

class EventLoopTest : public ::testing::Test {
 protected:
  void Make(nanoseconds budget) {
    absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create(budget);
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = std::move(*loop);
  }
  // One round that does not wait; what it dispatched, in order.
  std::vector<Dispatch> Round(const std::function<void(uint64_t)>& also = nullptr) {
    std::vector<Dispatch> out;
    loop_->RunOnce(
        0,
        [&](uint64_t id, uint32_t events) {
          out.push_back({id, events});
          if (also) also(id);
        },
        [](uint64_t) {});
    return out;
  }
  std::unique_ptr<EventLoop> loop_;
};

TEST_F(EventLoopTest, AReadableSocketIsDispatchedBeforeTheWritersQueuedAheadOfIt) {
  Make(nanoseconds(0));  // one queued writer per round
  Sockets s(4);
  for (uint64_t i = 0; i < 3; ++i) loop_->Add(s.mine(i), EPOLLOUT, 10 + i);
  loop_->Add(s.mine(3), EPOLLIN, 99);
  std::vector<Dispatch> first = Round();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].events, uint32_t{EPOLLOUT});
  EXPECT_EQ(loop_->QueuedForTest(), 2u);

  ASSERT_EQ(write(s.peer(3), "x", 1), 1);
  std::vector<Dispatch> second = Round();
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0].id, 99u);
  EXPECT_EQ(second[0].events, uint32_t{EPOLLIN});
  EXPECT_NE(second[1].id, 99u);
  EXPECT_EQ(second[1].events, uint32_t{EPOLLOUT});
}

TEST_F(EventLoopTest, ADescriptorThePreviousRoundDidNotDispatchGoesFirst) {
  // Level-triggered epoll returns the sockets still readable in the previous round's order
  // and a newly readable one after them; the loop turns that round.
  Make(EventLoop::kRoundBudget);
  Sockets s(4);
  for (uint64_t i = 0; i < 4; ++i) loop_->Add(s.mine(i), EPOLLIN, 10 + i);
  for (size_t i = 0; i < 3; ++i) ASSERT_EQ(write(s.peer(i), "x", 1), 1);
  std::vector<Dispatch> first = Round();  // nothing is read: the three stay readable
  ASSERT_EQ(first.size(), 3u);

  ASSERT_EQ(write(s.peer(3), "x", 1), 1);
  std::vector<Dispatch> second = Round();
  ASSERT_EQ(second.size(), 4u);
  EXPECT_EQ(second[0].id, 13u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(second[i + 1].id, first[i].id) << i;

  // The next round has nothing new: the order of the one before.
  std::vector<Dispatch> third = Round();
  ASSERT_EQ(third.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(third[i].id, second[i].id) << i;
}

TEST_F(EventLoopTest, WritersTakeTurnsInOrderEvenWhenMoreAreReadyThanOneCallReturns) {
  // More writers than one epoll_wait returns, one dispatched per round: a queue, not the
  // order of each call's batch, decides whose turn it is, so none is passed over.
  Make(nanoseconds(0));
  const size_t n = EventLoop::kMaxEvents + 44;
  Sockets s(n);
  for (size_t i = 0; i < n; ++i) loop_->Add(s.mine(i), EPOLLOUT, 1000 + i);
  std::map<uint64_t, int> turns;
  for (size_t round = 0; round < 2 * n; ++round) {
    std::vector<Dispatch> d = Round();
    ASSERT_EQ(d.size(), 1u) << "round " << round;
    ++turns[d[0].id];
  }
  ASSERT_EQ(turns.size(), n);
  for (auto [id, count] : turns) {
    EXPECT_GE(count, 1) << id;
    EXPECT_LE(count, 3) << id;
  }
}

TEST_F(EventLoopTest, ARoundDispatchesWritersOnlyUntilItsBudgetIsSpent) {
  Make(milliseconds(30));
  Sockets s(10);
  for (uint64_t i = 0; i < 10; ++i) loop_->Add(s.mine(i), EPOLLOUT, 10 + i);
  // Each writer takes 12 ms, as a gzip stream compressing its next blocks does.
  auto busy = [](uint64_t) {
    auto until = std::chrono::steady_clock::now() + milliseconds(12);
    while (std::chrono::steady_clock::now() < until) {
    }
  };
  std::vector<Dispatch> d = Round(busy);
  EXPECT_GE(d.size(), 1u);
  EXPECT_LE(d.size(), 3u);
  EXPECT_EQ(loop_->QueuedForTest(), 10u - d.size());
}

TEST_F(EventLoopTest, ADeferredIdComesUpInTheNextRoundWithTheEventsItGainedMeanwhile) {
  Make(milliseconds(100));
  Sockets s(1);
  loop_->Defer(7);
  std::vector<Dispatch> first = Round([&](uint64_t id) {
    if (id == 7) loop_->Defer(7);  // deferring itself again waits for the round after
  });
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].id, 7u);
  EXPECT_EQ(first[0].events, 0u);

  // Deferred, then reported writable before its turn: one dispatch, with both.
  loop_->Add(s.mine(0), EPOLLOUT, 7);
  std::vector<Dispatch> second = Round();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].id, 7u);
  EXPECT_EQ(second[0].events, uint32_t{EPOLLOUT});
}

TEST_F(EventLoopTest, APostedIdIsDispatchedInTheRoundThatWakes) {
  Make(milliseconds(100));
  loop_->Post(5);
  std::vector<Dispatch> d = Round();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].id, EventLoop::kWakeId);
  EXPECT_EQ(d[1].id, 5u);
  EXPECT_EQ(d[1].events, 0u);
}

}  // namespace
}  // namespace brigade::server
