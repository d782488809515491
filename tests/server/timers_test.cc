#include "server/timers.h"

#include <memory>
#include <vector>

#include "gtest/gtest.h"

namespace brigade::server {
namespace {

std::vector<uint64_t> Fire(Timers& timers, int64_t now) {
  std::vector<uint64_t> fired;
  timers.Expire(now, [&](uint64_t id) { fired.push_back(id); });
  return fired;
}

TEST(TimersTest, NothingArmedHasNoDeadline) {
  Timers timers;
  EXPECT_EQ(timers.NextDeadline(), -1);
  EXPECT_TRUE(Fire(timers, 1000000).empty());
}

TEST(TimersTest, EntriesFireInDeadlineOrderAcrossDurations) {
  Timers timers;
  TimerNode a(1), b(2), c(3);
  timers.Arm(a, 500, 0);   // 500
  timers.Arm(b, 100, 50);  // 150
  timers.Arm(c, 500, 10);  // 510
  EXPECT_EQ(timers.NextDeadline(), 150);
  EXPECT_TRUE(Fire(timers, 149).empty());
  EXPECT_EQ(Fire(timers, 150), std::vector<uint64_t>{2});
  EXPECT_EQ(timers.NextDeadline(), 500);
  EXPECT_EQ(Fire(timers, 600), (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(timers.NextDeadline(), -1);
}

TEST(TimersTest, RearmingMovesAnEntryToItsNewDeadline) {
  Timers timers;
  TimerNode a(1), b(2);
  timers.Arm(a, 100, 0);
  timers.Arm(b, 100, 10);
  timers.Arm(a, 100, 50);  // progress: a now ends at 150, after b
  EXPECT_EQ(timers.NextDeadline(), 110);
  EXPECT_EQ(Fire(timers, 120), std::vector<uint64_t>{2});
  EXPECT_EQ(Fire(timers, 150), std::vector<uint64_t>{1});
}

TEST(TimersTest, CancelledAndDestroyedEntriesNeverFire) {
  Timers timers;
  TimerNode a(1);
  auto b = std::make_unique<TimerNode>(2);
  TimerNode c(3);
  timers.Arm(a, 10, 0);
  timers.Arm(*b, 10, 0);
  timers.Arm(c, 10, 0);
  timers.Cancel(a);
  b.reset();
  EXPECT_EQ(Fire(timers, 100), std::vector<uint64_t>{3});
}

TEST(TimersTest, AFiringMayRearmOrDestroyOthersAndTheRoundEnds) {
  Timers timers;
  TimerNode a(1);
  auto b = std::make_unique<TimerNode>(2);
  timers.Arm(a, 10, 0);
  timers.Arm(*b, 10, 0);
  std::vector<uint64_t> fired;
  timers.Expire(10, [&](uint64_t id) {
    fired.push_back(id);
    if (id == 1) {
      b.reset();               // destroys the next one in the list
      timers.Arm(a, 0, 10);    // re-armed at "now": lands 1 ms later, not in this round
    }
  });
  EXPECT_EQ(fired, std::vector<uint64_t>{1});
  EXPECT_EQ(timers.NextDeadline(), 11);
}

}  // namespace
}  // namespace brigade::server
