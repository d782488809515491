#include "filters/core_input.h"

#include <unistd.h>

#include <string>

#include "filters/chain.h"
#include "gtest/gtest.h"
#include "tests/brigade/test_util.h"

namespace brigade::filters {
namespace {

using testing_util::ReadAll;

class CoreInputTest : public ::testing::Test {
 protected:
  void Source(std::vector<const char*> pieces) {
    Brigade bb(alloc_.get());
    for (const char* p : pieces) bb.Append(Bucket::Immortal(alloc_.get(), p));
    chain_.Add(std::make_unique<CoreInputFilter>(std::move(bb)));
  }
  // Serves CORE_IN from a new pipe; returns its write end.
  int PipeSource() {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    Brigade src(alloc_.get());
    src.Append(Bucket::FromSource(alloc_.get(), Source::Adopt(Source::Kind::kPipe, fds[0], true)));
    chain_.Add(std::make_unique<CoreInputFilter>(std::move(src)));
    return fds[1];
  }
  std::string Read(ReadMode mode, size_t n, BlockMode block = BlockMode::kBlock) {
    Brigade out(alloc_.get());
    absl::Status s = chain_.Read(out, mode, block, n);
    EXPECT_TRUE(s.ok()) << s;
    std::string text = ReadAll(out);
    if (out.ends_with_eos()) text += "<EOS>";
    return text;
  }

  AllocatorHandle alloc_ = BucketAllocator::Create({.block_size = 16});
  Exchange exchange_;
  InputChain chain_{&exchange_};
};

TEST_F(CoreInputTest, ReadBytesReturnsAtMostTheBudget) {
  Source({"abc", "defgh"});
  EXPECT_EQ(Read(ReadMode::kReadBytes, 2), "ab");
  EXPECT_EQ(Read(ReadMode::kReadBytes, 100), "cdefgh");
  EXPECT_EQ(Read(ReadMode::kReadBytes, 100), "<EOS>");
}

TEST_F(CoreInputTest, ZeroBudgetIsInvalidArgument) {
  Source({"abc"});
  Brigade out(alloc_.get());
  EXPECT_EQ(chain_.Read(out, ReadMode::kReadBytes, BlockMode::kBlock, 0).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CoreInputTest, GetLineReturnsOneLineAtATime) {
  Source({"GET / HTTP/1.1\r\nHo", "st: a\r\n\r\n"});
  EXPECT_EQ(Read(ReadMode::kGetLine, 0), "GET / HTTP/1.1\r\n");
  EXPECT_EQ(Read(ReadMode::kGetLine, 0), "Host: a\r\n");
  EXPECT_EQ(Read(ReadMode::kGetLine, 0), "\r\n");
  EXPECT_EQ(Read(ReadMode::kGetLine, 0), "<EOS>");
}

TEST_F(CoreInputTest, GetLineStopsAtTheBudgetAndReturnsPartialLastLine) {
  Source({"0123456789\nlast"});
  EXPECT_EQ(Read(ReadMode::kGetLine, 4), "0123");
  EXPECT_EQ(Read(ReadMode::kGetLine, 100), "456789\n");
  EXPECT_EQ(Read(ReadMode::kGetLine, 100), "last");
  EXPECT_EQ(Read(ReadMode::kGetLine, 100), "<EOS>");
}

TEST_F(CoreInputTest, EatCrlfSkipsBlankLinesBetweenRequests) {
  Source({"\r\n\r", "\nGET"});
  EXPECT_EQ(Read(ReadMode::kEatCrlf, 0), "");
  EXPECT_EQ(Read(ReadMode::kReadBytes, 10), "GET");
}

TEST_F(CoreInputTest, NonBlockingEatCrlfWithNothingReadySaysUnavailable) {
  int writer = PipeSource();
  Brigade out(alloc_.get());
  EXPECT_EQ(chain_.Read(out, ReadMode::kEatCrlf, BlockMode::kNonBlock, 0).code(),
            absl::StatusCode::kUnavailable);
  ASSERT_EQ(write(writer, "\r\nGET", 5), 5);
  EXPECT_TRUE(chain_.Read(out, ReadMode::kEatCrlf, BlockMode::kNonBlock, 0).ok());
  EXPECT_EQ(Read(ReadMode::kReadBytes, 10, BlockMode::kNonBlock), "GET");
  close(writer);
}

TEST_F(CoreInputTest, SpeculativeLeavesTheBytesToBeReadAgain) {
  Source({"peek-a-boo"});
  EXPECT_EQ(Read(ReadMode::kSpeculative, 4), "peek");
  EXPECT_EQ(Read(ReadMode::kSpeculative, 4), "peek");
  EXPECT_EQ(Read(ReadMode::kReadBytes, 100), "peek-a-boo");
}

TEST_F(CoreInputTest, ExhaustiveReturnsEverythingThenEos) {
  Source({"a", "b", "c"});
  EXPECT_EQ(Read(ReadMode::kExhaustive, 0), "abc<EOS>");
}

TEST_F(CoreInputTest, InitReturnsNothing) {
  Source({"data"});
  EXPECT_EQ(Read(ReadMode::kInit, 0), "");
  EXPECT_EQ(Read(ReadMode::kReadBytes, 10), "data");
}

TEST_F(CoreInputTest, PipeSourceServesModesAndNonBlockSaysUnavailable) {
  int writer = PipeSource();
  Brigade out(alloc_.get());
  EXPECT_EQ(chain_.Read(out, ReadMode::kReadBytes, BlockMode::kNonBlock, 10).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(chain_.Read(out, ReadMode::kGetLine, BlockMode::kNonBlock, 0).code(),
            absl::StatusCode::kUnavailable);
  ASSERT_EQ(write(writer, "one\ntwo", 7), 7);
  EXPECT_EQ(Read(ReadMode::kGetLine, 0, BlockMode::kNonBlock), "one\n");
  EXPECT_EQ(Read(ReadMode::kGetLine, 0, BlockMode::kNonBlock), "two");
  close(writer);
  EXPECT_EQ(Read(ReadMode::kReadBytes, 10), "<EOS>");
  Brigade after(alloc_.get());
  EXPECT_EQ(chain_.Read(after, ReadMode::kReadBytes, BlockMode::kBlock, 10).code(),
            absl::StatusCode::kOutOfRange);
}

TEST_F(CoreInputTest, EosInTheSourceEndsInput) {
  Brigade bb(alloc_.get());
  bb.Append(Bucket::Immortal(alloc_.get(), "body"));
  bb.Append(Bucket::Eos(alloc_.get()));
  chain_.Add(std::make_unique<CoreInputFilter>(std::move(bb)));
  EXPECT_EQ(Read(ReadMode::kReadBytes, 100), "body");
  EXPECT_EQ(Read(ReadMode::kReadBytes, 100), "<EOS>");
}

}  // namespace
}  // namespace brigade::filters
