#include "builtin/handlers/echo_handler.h"

#include <string>

#include "brigade/copy_stats.h"
#include "builtin/filters/dechunk_filter.h"
#include "gtest/gtest.h"
#include "handlers/phases.h"
#include "tests/handlers/test_doubles.h"

namespace brigade::handlers {
namespace {

using test::Render;
using test::ThrottledSink;
using test::TrickleSource;

class EchoHandlerTest : public ::testing::Test {
 protected:
  EchoHandlerTest() {
    sink_ = static_cast<ThrottledSink*>(
        connection_.output().Add(std::make_unique<ThrottledSink>(&wire_, 1 << 20)));
    source_ = static_cast<TrickleSource*>(
        connection_.input().Add(std::make_unique<TrickleSource>()));
  }

  // Runs `r`'s cycle, delivering `pieces` one per wake-up, then the end of input.
  CycleState Drive(Request& r, const std::vector<std::string>& pieces) {
    CycleState state = StartRequestCycle(hooks_, r);
    for (size_t i = 0; i <= pieces.size() && state == CycleState::kSuspended; ++i) {
      if (i < pieces.size()) {
        source_->Deliver(pieces[i]);
      } else {
        source_->End();
      }
      sink_->Drain();
      state = ResumeRequestCycle(r);
    }
    sink_->Drain();
    return state;
  }
  bool WireHasFileBucket() const {
    for (const Bucket& b : wire_) {
      if (b.is_file()) return true;
    }
    return false;
  }

  Hooks hooks_;
  Connection connection_;
  Brigade wire_{connection_.allocator()};
  ThrottledSink* sink_;
  TrickleSource* source_;
};

TEST_F(EchoHandlerTest, EchoKeepsASmallBodyInMemoryAndAnswersOnlyAfterItsEnd) {
  hooks_.request(Phase::kResponse).Register(Coroutine<Request>(EchoSpooled));
  Request r(&connection_);
  r.request_headers.Set("Content-Type", "text/plain");
  ASSERT_EQ(StartRequestCycle(hooks_, r), CycleState::kSuspended);
  source_->Deliver("first ");
  EXPECT_EQ(ResumeRequestCycle(r), CycleState::kSuspended);
  sink_->Drain();
  EXPECT_EQ(Render(wire_), "") << "nothing is sent before the body has ended";
  source_->Deliver("second");
  source_->End();
  EXPECT_EQ(ResumeRequestCycle(r), CycleState::kResponded);
  sink_->Drain();
  EXPECT_EQ(Render(wire_), "first second<EOS>");
  EXPECT_FALSE(WireHasFileBucket());
  EXPECT_EQ(r.response_headers.Get("Content-Type").value_or(""), "text/plain");
}

TEST_F(EchoHandlerTest, EchoSpillsABodyPastItsBudgetIntoAFileSentAsAFileBucket) {
  hooks_.request(Phase::kResponse).Register(Coroutine<Request>(EchoSpooled));
  Request r(&connection_);
  r.body_buffer_size = 1024;
  r.body_temp_dir = ::testing::TempDir();
  std::vector<std::string> pieces;
  std::string body;
  for (int i = 0; i < 40; ++i) {
    pieces.push_back(std::string(1000, static_cast<char>('A' + i % 26)));
    body += pieces.back();
  }
  CopyStats before = GlobalCopyStats();
  ASSERT_EQ(Drive(r, pieces), CycleState::kResponded);
  EXPECT_TRUE(WireHasFileBucket());  // before Render, which reads (morphs) file buckets
  EXPECT_EQ(Render(wire_), body + "<EOS>");
  EXPECT_GE(GlobalCopyStats().Since(before).bytes_copied, body.size() - 1024)
      << "what went to the file is counted";
}

TEST_F(EchoHandlerTest, EchoAnswersAMalformedChunkedBodyWithOne400AndNoEcho) {
  hooks_.request(Phase::kResponse).Register(Coroutine<Request>(EchoSpooled));
  Request r(&connection_);
  r.input().Add(std::make_unique<filters::DechunkFilter>(filters::DechunkOptions()));
  ASSERT_EQ(Drive(r, {"5\r\nhello\r\n", "3\r\nabcXX"}), CycleState::kResponded);
  EXPECT_EQ(r.cycle().decided, Outcome::Status(400));
  EXPECT_EQ(r.status, 400);
  std::string wire = Render(wire_);
  EXPECT_EQ(wire.find("hello"), std::string::npos) << wire;
  EXPECT_NE(wire.find("400 Bad Request"), std::string::npos) << wire;
}

TEST_F(EchoHandlerTest, EchoStreamPassesEachPieceOnWithAFlushAsItArrives) {
  hooks_.request(Phase::kResponse).Register(Coroutine<Request>(EchoStream));
  Request r(&connection_);
  ASSERT_EQ(StartRequestCycle(hooks_, r), CycleState::kSuspended);
  source_->Deliver("one");
  EXPECT_EQ(ResumeRequestCycle(r), CycleState::kSuspended);
  sink_->Drain();
  EXPECT_EQ(Render(wire_), "one<FLUSH>") << "the first piece is back before the second comes";
  source_->Deliver("two");
  source_->End();
  while (ResumeRequestCycle(r) == CycleState::kSuspended) sink_->Drain();
  sink_->Drain();
  EXPECT_EQ(Render(wire_), "one<FLUSH>two<FLUSH><EOS>");
}

TEST_F(EchoHandlerTest, EchoStreamAbortsWhenTheBodyFailsAfterItsHeadWentOut) {
  hooks_.request(Phase::kResponse).Register(Coroutine<Request>(EchoStream));
  Request r(&connection_);
  r.input().Add(std::make_unique<filters::DechunkFilter>(filters::DechunkOptions()));
  Drive(r, {"5\r\nhello\r\n", "3\r\nabcXX"});
  EXPECT_TRUE(r.aborted);
  std::string wire = Render(wire_);
  EXPECT_EQ(wire.find("<EOS>"), std::string::npos) << "an aborted response must not look complete";
  EXPECT_NE(wire.find("<ERROR>"), std::string::npos) << wire;
}

class EchoLinesTest : public EchoHandlerTest {
 protected:
  // Runs the protocol handler over `pieces`; returns what it sent.
  std::string Run(Task<Outcome> (*handler)(Connection&), const std::vector<std::string>& pieces,
                  bool end = true) {
    hooks_.connection(Phase::kProcessConnection).Register(Coroutine<Connection>(handler));
    Outcome o = RunConnection(hooks_, connection_);
    for (size_t i = 0; i < pieces.size() && o.is_suspended(); ++i) {
      source_->Deliver(pieces[i]);
      sink_->Drain();
      o = ResumeConnection(connection_);
    }
    if (end && o.is_suspended()) {
      source_->End();
      o = ResumeConnection(connection_);
    }
    finished_ = !o.is_suspended();
    sink_->Drain();
    std::string out;
    for (const Bucket& b : wire_) {
      if (b.is_metadata()) continue;
      most_ = std::max<uint64_t>(most_, b.length());
      out += std::string(*const_cast<Bucket&>(b).Read());
    }
    return out;
  }
  bool finished_ = false;
  uint64_t most_ = 0;
};

TEST_F(EchoLinesTest, ALongLineComesBackWholeInPieces) {
  std::string line(200 * 1000, 'x');
  line += "\r\n";
  EXPECT_EQ(Run(EchoLines, {line, "next\n"}), line + "next\n");
  EXPECT_TRUE(finished_);
  EXPECT_LE(most_, 64u * 1024) << "passed on in pieces";
}

TEST_F(EchoLinesTest, AnEmptyLineEndsTheSessionAndIsNotEchoed) {
  EXPECT_EQ(Run(EchoLines, {"hi\r\n", "\r\n", "ignored\r\n"}, /*end=*/false), "hi\r\n");
  EXPECT_TRUE(finished_);
}

TEST_F(EchoLinesTest, ACarriageReturnAtALineStartWaitsForWhatFollows) {
  EXPECT_EQ(Run(EchoLines, {"a\n", "\r", "\n"}, /*end=*/false), "a\n");
  EXPECT_TRUE(finished_);
}

TEST_F(EchoLinesTest, ACarriageReturnNotFollowedByLfIsEchoed) {
  EXPECT_EQ(Run(EchoLines, {"a\n", "\r", "b\n"}), "a\n\rb\n");
}

TEST_F(EchoLinesTest, TheSessionWaitsForInputWithoutFinishing) {
  EXPECT_EQ(Run(EchoLines, {"partial"}, /*end=*/false), "partial");
  EXPECT_FALSE(finished_);
}

}  // namespace
}  // namespace brigade::handlers
