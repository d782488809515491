#include "handlers/blocking.h"

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "handlers/phases.h"
#include "tests/handlers/test_doubles.h"

namespace brigade::handlers {
namespace {

using test::Render;
using test::ThrottledSink;
using test::TrickleSource;

TEST(BlockingPoolTest, StartsNoThreadUntilAJobComesAndNeverMoreThanItsBound) {
  BlockingPool pool(2, 8);
  EXPECT_EQ(pool.threads_started(), 0);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> ran{0};
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(pool.Submit([&ran, released] {
      released.wait();
      ++ran;
    }));
  }
  EXPECT_EQ(pool.threads_started(), 2);
  release.set_value();
  for (int i = 0; i < 500 && ran < 5; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(ran, 5);
}

TEST(BlockingPoolTest, AFullQueueRefusesTheJob) {
  BlockingPool pool(1, 2);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  EXPECT_TRUE(pool.Submit([released] { released.wait(); }));
  // The thread may or may not have taken the first job yet: at most 2 more fit.
  int accepted = 0;
  for (int i = 0; i < 4; ++i) accepted += pool.Submit([] {});
  EXPECT_LE(accepted, 2);
  EXPECT_GE(accepted, 1);
  release.set_value();
}

class BlockingHandlerTest : public ::testing::Test {
 protected:
  BlockingHandlerTest() {
    sink_ = static_cast<ThrottledSink*>(
        connection_.output().Add(std::make_unique<ThrottledSink>(&wire_, 1 << 20)));
    source_ = static_cast<TrickleSource*>(
        connection_.input().Add(std::make_unique<TrickleSource>()));
    connection_.set_waker([this] { ++wakes_; });
  }
  // Polls the cycle (as the event loop would after each wake-up) until it responded.
  CycleState Drive(Request& r, CycleState state) {
    for (int i = 0; i < 5000 && state == CycleState::kSuspended; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      state = ResumeRequestCycle(r);
    }
    sink_->Drain();
    return state;
  }

  BlockingPool pool_{2, 8};
  Hooks hooks_;
  Connection connection_;
  Brigade wire_{connection_.allocator()};
  ThrottledSink* sink_;
  TrickleSource* source_;
  std::atomic<int> wakes_{0};
};

TEST_F(BlockingHandlerTest, AHandlerInBlockingStyleReadsTheBodyAndWritesOnAPoolThread) {
  std::thread::id worker = std::this_thread::get_id();
  std::atomic<bool> on_pool_thread{false};
  hooks_.request(Phase::kResponse).Register(Blocking(&pool_, [&](BlockingRequest& br) {
    on_pool_thread = std::this_thread::get_id() != worker;
    std::string body;
    while (true) {
      absl::StatusOr<std::string> piece = br.ReadBody(3);
      if (!piece.ok()) return Outcome::Status(500);
      if (piece->empty()) break;
      body += *piece;
    }
    br.response_headers.Set("Content-Type", "text/plain");
    br.status = 201;
    if (!br.Write(br.method + " " + br.uri + ": ").ok()) return Outcome::Status(500);
    return br.Write(body).ok() ? Outcome::Ok() : Outcome::Status(500);
  }));
  source_->Deliver("hello, ");
  source_->Deliver("pool");
  source_->End();
  Request r(&connection_);
  r.method = "POST";
  r.uri = "/legacy";
  // It may park or not, as the pool thread is quick or slow to post its first call.
  ASSERT_EQ(Drive(r, StartRequestCycle(hooks_, r)), CycleState::kResponded);
  EXPECT_TRUE(on_pool_thread);
  EXPECT_EQ(Render(wire_), "POST /legacy: hello, pool<EOS>");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.response_headers.Get("Content-Type").value_or(""), "text/plain");
  EXPECT_GT(wakes_, 0);
}

TEST_F(BlockingHandlerTest, TheServersPoolIsFoundThroughTheRequestAnd503WithoutOne) {
  std::atomic<int> ran{0};
  hooks_.request(Phase::kResponse).Register(Blocking([&ran](BlockingRequest& br) {
    ++ran;
    return br.Write("from the server's pool").ok() ? Outcome::Ok() : Outcome::Status(500);
  }));
  source_->End();
  Request alone(&connection_);
  EXPECT_EQ(Drive(alone, StartRequestCycle(hooks_, alone)), CycleState::kResponded);
  EXPECT_EQ(alone.status, 503) << "no server: no pool";
  EXPECT_EQ(ran, 0);
  wire_.Clear();
  ServerRecord server;
  server.blocking_pool = &pool_;
  connection_.set_server(&server);
  Request r(&connection_);
  ASSERT_EQ(Drive(r, StartRequestCycle(hooks_, r)), CycleState::kResponded);
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(Render(wire_), "from the server's pool<EOS>");
  connection_.set_server(nullptr);
}

TEST_F(BlockingHandlerTest, AHandlerBlockedOnADeadConnectionIsCancelled) {
  std::promise<absl::Status> seen;
  std::future<absl::Status> result = seen.get_future();
  hooks_.request(Phase::kResponse).Register(Blocking(&pool_, [&seen](BlockingRequest& br) {
    absl::StatusOr<std::string> piece = br.ReadBody(10);  // nothing ever arrives
    seen.set_value(piece.status());
    return Outcome::Ok();
  }));
  auto r = std::make_unique<Request>(&connection_);
  CycleState state = StartRequestCycle(hooks_, *r);
  ASSERT_EQ(state, CycleState::kSuspended);
  for (int i = 0; i < 100 && wakes_ == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ResumeRequestCycle(*r);  // takes the read and parks on the empty socket
  EndRequestCycle(hooks_, *r);  // the connection died
  r.reset();
  ASSERT_EQ(result.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  absl::Status status = result.get();
  EXPECT_TRUE(absl::IsCancelled(status)) << status;
}

TEST_F(BlockingHandlerTest, AFullPoolAnswers503) {
  BlockingPool tiny(1, 0);
  hooks_.request(Phase::kResponse).Register(
      Blocking(&tiny, [](BlockingRequest&) { return Outcome::Ok(); }));
  Request r(&connection_);
  EXPECT_EQ(StartRequestCycle(hooks_, r), CycleState::kResponded);
  EXPECT_EQ(r.cycle().decided, Outcome::Status(503));
}

}  // namespace
}  // namespace brigade::handlers
