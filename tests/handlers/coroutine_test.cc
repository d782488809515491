// Resumable handlers: coroutine response and protocol handlers that park on the record's
// suspension and are resumed by whoever owns the loop (here the test).

#include <stdexcept>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "handlers/phases.h"
#include "handlers/request.h"
#include "handlers/task.h"
#include "tests/handlers/test_doubles.h"

namespace brigade::handlers {
namespace {

using test::Render;
using test::ThrottledSink;
using test::TrickleSource;
using Runs = std::vector<std::string>;

class CoroutineTest : public ::testing::Test {
 protected:
  CoroutineTest() {
    sink_ = static_cast<ThrottledSink*>(
        connection_.output().Add(std::make_unique<ThrottledSink>(&wire_, 2048)));
    source_ = static_cast<TrickleSource*>(
        connection_.input().Add(std::make_unique<TrickleSource>()));
    hooks_.request(Phase::kLog).Register([this](Request&) {
      ran_.push_back("log");
      return Outcome::Ok();
    });
  }
  void RespondWith(std::function<Task<Outcome>(Request&)> handler) {
    hooks_.request(Phase::kResponse).Register(Coroutine<Request>(std::move(handler)));
  }

  Hooks hooks_;
  Connection connection_;
  Brigade wire_{connection_.allocator()};
  ThrottledSink* sink_;
  TrickleSource* source_;
  Runs ran_;
};

Task<Outcome> SendPieces(Request& r, int pieces, size_t size) {
  r.response_headers.Set("Content-Type", "text/plain");
  for (int i = 0; i < pieces; ++i) {
    Brigade bb(r.allocator());
    if (!bb.WriteCopy(std::string(size, static_cast<char>('a' + i))).ok()) {
      co_return Outcome::Status(500);
    }
    if (absl::Status s = co_await r.Send(bb); !s.ok()) co_return Outcome::Status(500);
  }
  co_return Outcome::Ok();
}

std::string Expected(int pieces, size_t size) {
  std::string out;
  for (int i = 0; i < pieces; ++i) out += std::string(size, static_cast<char>('a' + i));
  return out;
}

TEST_F(CoroutineTest, HandlerThatNeverWaitsRunsToTheEndAtOnce) {
  RespondWith([](Request& r) { return SendPieces(r, 1, 100); });
  Request r(&connection_);
  EXPECT_EQ(StartRequestCycle(hooks_, r), CycleState::kResponded);
  EXPECT_EQ(r.parked().task(), nullptr);
  sink_->Drain();
  EXPECT_EQ(Render(wire_), Expected(1, 100) + "<EOS>");
  EXPECT_TRUE(ran_.empty()) << "log runs only when the loop ends the cycle";
  EndRequestCycle(hooks_, r);
  EXPECT_EQ(ran_, Runs{"log"});
}

TEST_F(CoroutineTest, SendParksWhileTheChainAnswersAgainAndResumesAfterItDrains) {
  RespondWith([](Request& r) { return SendPieces(r, 8, 1024); });
  Request r(&connection_);
  ASSERT_EQ(StartRequestCycle(hooks_, r), CycleState::kSuspended);
  EXPECT_EQ(r.parked().suspension().wait(), Wait::kWritable);
  int resumptions = 0;
  CycleState state = CycleState::kSuspended;
  while (state == CycleState::kSuspended && resumptions < 100) {
    // Without draining, a poll is a spurious wake-up: the handler stays parked.
    EXPECT_EQ(ResumeRequestCycle(r), CycleState::kSuspended);
    sink_->Drain();
    state = ResumeRequestCycle(r);
    ++resumptions;
  }
  ASSERT_EQ(state, CycleState::kResponded);
  EXPECT_GE(resumptions, 2);
  sink_->Drain();
  EXPECT_EQ(Render(wire_), Expected(8, 1024) + "<EOS>");
  EXPECT_LE(sink_->most_held(), 2048u + 1024u) << "the producer held back on kAgain";
  EndRequestCycle(hooks_, r);
  EXPECT_EQ(ran_, Runs{"log"});
}

Task<Outcome> ReadAllThenEcho(Request& r) {
  Brigade body(r.allocator());
  while (!r.body_done()) {
    absl::StatusOr<size_t> n = co_await r.ReadBody(body, 4);
    if (!n.ok()) co_return Outcome::Status(HttpStatusFor(n.status()));
  }
  body.Setaside();
  body.Append(Bucket::Eos(r.allocator()));
  absl::Status s = co_await r.Send(body);
  co_return s.ok() ? Outcome::Ok() : Outcome::Status(500);
}

TEST_F(CoroutineTest, ReadBodyParksUntilInputArrives) {
  RespondWith(ReadAllThenEcho);
  Request r(&connection_);
  ASSERT_EQ(StartRequestCycle(hooks_, r), CycleState::kSuspended);
  EXPECT_EQ(r.parked().suspension().wait(), Wait::kReadable);
  EXPECT_EQ(ResumeRequestCycle(r), CycleState::kSuspended);  // nothing arrived yet
  source_->Deliver("hello, ");
  EXPECT_EQ(ResumeRequestCycle(r), CycleState::kSuspended);  // read it all; waits for more
  source_->Deliver("world");
  source_->End();
  EXPECT_EQ(ResumeRequestCycle(r), CycleState::kResponded);
  sink_->Drain();
  EXPECT_EQ(Render(wire_), "hello, world<EOS>");
  EXPECT_GE(source_->unavailable(), 3);
}

TEST_F(CoroutineTest, CleanupHandlersPushedAtRunTimeRunFifoAfterTheCycleEnds) {
  RespondWith([this](Request& r) -> Task<Outcome> {
    auto push = [this, &r](std::string name) {
      r.PushHandler(Phase::kCleanup, [this, name](Request&) {
        ran_.push_back(name);
        return Outcome::Ok();
      });
    };
    push("A");
    push("B");
    Outcome o = co_await SendPieces(r, 4, 1024);  // parks in between
    push("C");
    push("A");
    co_return o;
  });
  Request r(&connection_);
  ASSERT_EQ(StartRequestCycle(hooks_, r), CycleState::kSuspended);
  CycleState state = CycleState::kSuspended;
  for (int i = 0; i < 100 && state == CycleState::kSuspended; ++i) {
    sink_->Drain();
    state = ResumeRequestCycle(r);
  }
  ASSERT_EQ(state, CycleState::kResponded);
  EXPECT_TRUE(ran_.empty());
  EndRequestCycle(hooks_, r);
  EndRequestCycle(hooks_, r);  // once only
  EXPECT_EQ(ran_, (Runs{"log", "A", "B", "C", "A"}));
}

TEST_F(CoroutineTest, HandlerDecliningAfterItParkedIsNotFound) {
  RespondWith([](Request& r) -> Task<Outcome> {
    Brigade body(r.allocator());
    absl::StatusOr<size_t> n = co_await r.ReadBody(body, 10);
    (void)n;  // what it read does not matter: it declines either way
    co_return Outcome::Declined();
  });
  Request r(&connection_);
  ASSERT_EQ(StartRequestCycle(hooks_, r), CycleState::kSuspended);
  source_->End();
  EXPECT_EQ(ResumeRequestCycle(r), CycleState::kResponded);
  EXPECT_EQ(r.cycle().decided, Outcome::Status(404));
  EXPECT_EQ(r.status, 404);
}

Task<int> ThrowsAfterParking(Request& r) {
  Brigade body(r.allocator());
  if (!(co_await r.ReadBody(body, 10)).ok()) co_return -1;
  throw std::length_error("too long");
}

// An exception travels through co_await as through a call: the awaiting coroutine can catch
// it; one that escapes the handler is a 500, after the handler was resumed too.
TEST_F(CoroutineTest, AnExceptionPassesThroughCoAwaitAndAnEscapingOneIsA500) {
  RespondWith([this](Request& r) -> Task<Outcome> {
    try {
      co_await ThrowsAfterParking(r);
    } catch (const std::length_error& e) {
      ran_.push_back(std::string("caught ") + e.what());
    }
    co_await ThrowsAfterParking(r);
    co_return Outcome::Ok();
  });
  Request r(&connection_);
  ASSERT_EQ(StartRequestCycle(hooks_, r), CycleState::kSuspended);
  source_->Deliver("abc");
  ASSERT_EQ(ResumeRequestCycle(r), CycleState::kSuspended);
  EXPECT_EQ(ran_, (Runs{"caught too long"}));
  source_->Deliver("def");
  EXPECT_EQ(ResumeRequestCycle(r), CycleState::kResponded);
  EXPECT_EQ(r.cycle().decided, Outcome::Status(500));
  EXPECT_EQ(r.status, 500);
}

struct Flag {
  bool* set;
  ~Flag() { *set = true; }
};

TEST_F(CoroutineTest, EndingTheCycleUnderAParkedHandlerDestroysItAndMarksTheRequestAborted) {
  bool destroyed = false;
  RespondWith([&destroyed](Request& r) -> Task<Outcome> {
    Flag flag{&destroyed};
    Brigade body(r.allocator());
    absl::StatusOr<size_t> n = co_await r.ReadBody(body, 10);
    co_return n.ok() ? Outcome::Ok() : Outcome::Status(500);
  });
  Request r(&connection_);
  ASSERT_EQ(StartRequestCycle(hooks_, r), CycleState::kSuspended);
  EXPECT_FALSE(destroyed);
  EndRequestCycle(hooks_, r);  // the connection died
  EXPECT_TRUE(destroyed);
  EXPECT_TRUE(r.aborted);
  EXPECT_FALSE(r.parked().suspension().parked());
  EXPECT_EQ(ran_, Runs{"log"});
}

Task<int> Twice(Request& r, int x) {
  Brigade body(r.allocator());
  absl::StatusOr<size_t> n = co_await r.ReadBody(body, 100);
  co_return n.ok() ? static_cast<int>(*n) * x : -1;
}

TEST_F(CoroutineTest, NestedTasksResumeTheirCallerWithTheirValue) {
  int got = 0;
  RespondWith([&got](Request& r) -> Task<Outcome> {
    got = co_await Twice(r, 2);
    got += co_await Twice(r, 10);
    co_return Outcome::Ok();
  });
  Request r(&connection_);
  ASSERT_EQ(StartRequestCycle(hooks_, r), CycleState::kSuspended);
  source_->Deliver("abc");
  EXPECT_EQ(ResumeRequestCycle(r), CycleState::kSuspended);  // the second read waits
  source_->Deliver("de");
  EXPECT_EQ(ResumeRequestCycle(r), CycleState::kResponded);
  EXPECT_EQ(got, 3 * 2 + 2 * 10);
}

TEST_F(CoroutineTest, ProtocolHandlerParksAndIsResumedUntilItReturns) {
  hooks_.connection(Phase::kProcessConnection)
      .Register(Coroutine<Connection>([](Connection& c) -> Task<Outcome> {
        while (true) {
          Brigade line(c.allocator());
          absl::Status s = co_await c.Read(line, filters::ReadMode::kGetLine, 100);
          if (!s.ok()) co_return Outcome::Status(500);
          if (line.ends_with_eos()) co_return Outcome::Ok();
          line.Setaside();
          if (!(co_await c.Send(line)).ok()) co_return Outcome::Status(500);
        }
      }));
  EXPECT_EQ(RunConnection(hooks_, connection_), Outcome::Suspended());
  EXPECT_EQ(ResumeConnection(connection_), Outcome::Suspended());
  source_->Deliver("one\ntwo\n");
  EXPECT_EQ(ResumeConnection(connection_), Outcome::Suspended());
  source_->End();
  EXPECT_EQ(ResumeConnection(connection_), Outcome::Ok());
  EXPECT_EQ(connection_.parked().task(), nullptr);
  sink_->Drain();
  EXPECT_EQ(Render(wire_), "one\ntwo\n");
}

}  // namespace
}  // namespace brigade::handlers
