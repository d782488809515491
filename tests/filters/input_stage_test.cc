#include "filters/input_stage.h"

#include <string>

#include "filters/core_input.h"
#include "builtin/filters/dechunk_filter.h"
#include "gtest/gtest.h"
#include "tests/brigade/test_util.h"

namespace brigade::filters {
namespace {

class InputStageTest : public ::testing::Test {
 protected:
  // Passes `pieces` (each its own brigade; "<FLUSH>" a flush) through DECHUNK in a stage, then
  // EOS, and returns the collected output or the first error.
  [[nodiscard]] absl::StatusOr<std::string> Run(const std::vector<std::string>& pieces) {
    OutputChain chain(&exchange_, nullptr, ChainOrder::kAsAdded);
    chain.Add(std::make_unique<InputStage>(std::make_unique<DechunkFilter>()));
    chain.Add(std::make_unique<CollectFilter>(&collected_));
    for (const std::string& p : pieces) {
      Brigade bb(alloc_.get());
      if (p == "<FLUSH>") {
        bb.Append(Bucket::Flush(alloc_.get()));
      } else {
        bb.Append(Bucket::CopyOf(alloc_.get(), p));
      }
      absl::StatusOr<Flow> flow = chain.Pass(bb);
      if (!flow.ok()) return flow.status();
    }
    Brigade end(alloc_.get());
    end.Append(Bucket::Eos(alloc_.get()));
    absl::StatusOr<Flow> flow = chain.Pass(end);
    if (!flow.ok()) return flow.status();
    return collected_.DebugString();
  }

  AllocatorHandle alloc_ = BucketAllocator::Create();
  Exchange exchange_;
  Brigade collected_{alloc_.get()};
};

TEST_F(InputStageTest, DecodesAStreamPassedInPiecesOfAnySize) {
  std::string wire = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  std::vector<std::string> bytes;
  for (char c : wire) bytes.push_back(std::string(1, c));
  ASSERT_TRUE(Run(bytes).ok());
  EXPECT_EQ(*collected_.FlattenToString(100), "hello world");
  EXPECT_TRUE(collected_.ends_with_eos());
}

TEST_F(InputStageTest, AFlushGoesOnAfterWhatCouldBeDecodedBeforeIt) {
  absl::StatusOr<std::string> out = Run({"5\r\nhel", "<FLUSH>", "lo\r\n0\r\n\r\n"});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "HEAP(3) FLUSH HEAP(2) EOS");
}

TEST_F(InputStageTest, InputAfterTheEndIsAnErrorAndWhatCameBeforeIsPassed) {
  absl::StatusOr<std::string> out = Run({"2\r\nok\r\n0\r\n\r\n", "more"});
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(out.status().message(), "DECHUNK: 4 bytes after the end of its stream at byte 12");
  EXPECT_EQ(*collected_.FlattenToString(100), "ok");
}

TEST_F(InputStageTest, EndOfInputInsideTheStreamIsTheFiltersError) {
  absl::StatusOr<std::string> out = Run({"5\r\nhel"});
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << out.status();
  EXPECT_NE(out.status().message().find("DECHUNK"), std::string::npos);
}

// Reading the size line maps the front of the file; the rest of the chunk passes unread.
TEST_F(InputStageTest, ChunkDataFromAFileStaysAFileRange) {
  std::string data(6 << 20, 'd');
  std::string wire = "600000\r\n" + data + "\r\n0\r\n\r\n";
  testing_util::TempFile f(wire);
  OutputChain chain(&exchange_, nullptr, ChainOrder::kAsAdded);
  chain.Add(std::make_unique<InputStage>(std::make_unique<DechunkFilter>()));
  chain.Add(std::make_unique<CollectFilter>(&collected_));
  Brigade bb(alloc_.get());
  bb.Append(Bucket::FileRange(alloc_.get(), f.file(), 0, wire.size()));
  bb.Append(Bucket::Eos(alloc_.get()));
  CopyStats before = GlobalCopyStats();
  ASSERT_TRUE(chain.Pass(bb).ok());
  // Only the framing lines (8 + 2 + 3 + 2 bytes) are copied, into DECHUNK's line.
  EXPECT_EQ(GlobalCopyStats().Since(before).bytes_copied, 15u);
  EXPECT_NE(collected_.DebugString().find("FILE("), std::string::npos) << collected_.DebugString();
  EXPECT_EQ(testing_util::ReadAll(collected_), data);
}

TEST_F(InputStageTest, ReportsItsFiltersNameKindAndTraits) {
  DechunkOptions o;
  o.max_line = 100;
  o.max_trailer_bytes = 50;
  InputStage stage(std::make_unique<DechunkFilter>(o));
  EXPECT_EQ(stage.name(), "DECHUNK");
  EXPECT_EQ(stage.kind(), FilterKind::kProtocol);
  EXPECT_EQ(stage.traits().max_buffered_bytes, 150u);
}

}  // namespace
}  // namespace brigade::filters
