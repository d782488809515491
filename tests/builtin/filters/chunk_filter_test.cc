#include "builtin/filters/chunk_filter.h"

#include <string>

#include "filters/chain.h"
#include "filters/core_input.h"
#include "filters/testing/split_invariance.h"
#include "gtest/gtest.h"
#include "tests/brigade/test_util.h"
#include "tests/filters/filter_test_util.h"

namespace brigade::filters {
namespace {

using test::RunCommand;
using test::RunFilter;

// Decodes with the independent Python decoder in tests/filters/testdata/.
[[nodiscard]] absl::StatusOr<std::string> PyDecode(absl::string_view chunked) {
  return RunCommand("/usr/bin/python3 tests/filters/testdata/chunked_decode.py", chunked);
}

TEST(ChunkFilterTest, EachBrigadeRunIsOneChunkAndEosEndsTheBody) {
  Exchange ex;
  absl::StatusOr<test::Output> out = RunFilter(std::make_unique<ChunkFilter>(), ex,
                                               {"hello", " ", "world", "|", "again"});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->rendered, "b\r\nhello world\r\n5\r\nagain\r\n0\r\n\r\n<EOS>");
  EXPECT_EQ(ex.response_headers.Get("Transfer-Encoding"), "chunked");
  EXPECT_EQ(PyDecode(out->bytes).value_or("?"), "hello worldagain");
}

TEST(ChunkFilterTest, FlushEndsAChunkAndEmptyDataMakesNone) {
  Exchange ex;
  absl::StatusOr<test::Output> out =
      RunFilter(std::make_unique<ChunkFilter>(), ex, {"ab", "<FLUSH>", "<FLUSH>", "|", "|", "c"});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->rendered, "2\r\nab\r\n<FLUSH><FLUSH>1\r\nc\r\n0\r\n\r\n<EOS>");
}

TEST(ChunkFilterTest, TrailersAreWrittenAfterTheLastChunk) {
  Exchange ex;
  ex.response_trailers.Add("X-Checksum", "abc123");
  absl::StatusOr<test::Output> out = RunFilter(std::make_unique<ChunkFilter>(), ex, {"data"});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->rendered, "4\r\ndata\r\n0\r\nX-Checksum: abc123\r\n\r\n<EOS>");
  EXPECT_EQ(PyDecode(out->bytes).value_or("?"), "data");
}

TEST(ChunkFilterTest, BodyBucketsPassUntouchedWithoutCopies) {
  testing_util::TempFile f(std::string(100000, 'F'));
  Exchange ex;
  AllocatorHandle alloc = BucketAllocator::Create();
  Brigade collected(alloc.get());
  OutputChain chain(&ex);
  chain.Add(std::make_unique<ChunkFilter>());
  chain.Add(std::make_unique<CollectFilter>(&collected));
  std::string big(70000, 'm');
  Brigade bb(alloc.get());
  bb.Append(Bucket::FileRange(alloc.get(), f.file(), 0, 100000));
  bb.Append(Bucket::Immortal(alloc.get(), big));
  bb.Append(Bucket::Eos(alloc.get()));
  CopyStats before = GlobalCopyStats();
  ASSERT_TRUE(chain.Pass(bb).ok());
  CopyStats d = GlobalCopyStats().Since(before);
  EXPECT_EQ(d.bytes_read, 0u);
  EXPECT_EQ(d.bytes_copied, 12u);  // "280a0\r\n" and "0\r\n\r\n": no body byte
  EXPECT_EQ(collected.DebugString(), "HEAP(7) FILE(100000) IMMORTAL(70000) IMMORTAL(2) HEAP(5) EOS");
  absl::StatusOr<std::string> all = collected.FlattenToString(1 << 20);
  EXPECT_EQ(PyDecode(*all).value_or("?"), std::string(100000, 'F') + big);
}

TEST(ChunkFilterTest, DoesNotApplyWhereHttpForbidsOrNeedsNoChunking) {
  struct Case {
    const char* name;
    std::function<void(Exchange&)> setup;
  };
  for (const Case& c : std::vector<Case>{
           {"HTTP/1.0", [](Exchange& e) { e.protocol = "HTTP/1.0"; }},
           {"HEAD", [](Exchange& e) { e.method = "HEAD"; }},
           {"Content-Length", [](Exchange& e) { e.response_headers.Set("Content-Length", "4"); }},
           {"204", [](Exchange& e) { e.status = 204; }},
           {"304", [](Exchange& e) { e.status = 304; }},
       }) {
    Exchange ex;
    c.setup(ex);
    absl::StatusOr<test::Output> out = RunFilter(std::make_unique<ChunkFilter>(), ex, {"body"});
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out->rendered, "body<EOS>") << c.name;
    EXPECT_FALSE(ex.response_headers.Has("Transfer-Encoding")) << c.name;
  }
}

TEST(ChunkFilterTest, ErrorMidBodyWritesNoLastChunk) {
  Exchange ex;
  AllocatorHandle alloc = BucketAllocator::Create();
  Brigade collected(alloc.get());
  OutputChain chain(&ex);
  chain.Add(std::make_unique<ChunkFilter>());
  chain.Add(std::make_unique<CollectFilter>(&collected));
  Brigade bb(alloc.get());
  bb.Append(Bucket::Immortal(alloc.get(), "partial"));
  bb.Append(Bucket::Error(alloc.get(), 500, "handler failed"));
  bb.Append(Bucket::Eos(alloc.get()));
  ASSERT_TRUE(chain.Pass(bb).ok());
  absl::StatusOr<std::string> all = collected.FlattenToString(1000);
  EXPECT_EQ(*all, "7\r\npartial\r\n");
  EXPECT_FALSE(PyDecode(*all).ok());  // a client sees the body is incomplete
}

TEST(ChunkFilterTest, IsSplitInvariantAfterDecoding) {
  testing::SplitOptions options;
  options.decoder = [](absl::string_view s) { return PyDecode(s); };
  options.exhaustive_limit = 6;  // every split runs the Python decoder: keep it quick
  options.random_trials = 30;
  options.max_single_cuts = 20;
  auto factory = [] { return std::make_unique<ChunkFilter>(); };
  absl::Status small = testing::CheckSplitInvariance(factory, "chunk!", options);
  EXPECT_TRUE(small.ok()) << small;
  absl::Status large = testing::CheckSplitInvariance(factory, std::string(5000, 'q'), options);
  EXPECT_TRUE(large.ok()) << large;
}

}  // namespace
}  // namespace brigade::filters
