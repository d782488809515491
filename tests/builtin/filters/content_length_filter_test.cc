#include "builtin/filters/content_length_filter.h"

#include "filters/testing/split_invariance.h"
#include "gtest/gtest.h"
#include "tests/filters/filter_test_util.h"

namespace brigade::filters {
namespace {

using test::RunFilter;

TEST(ContentLengthFilterTest, SetsLengthWhenBodyAndEosArriveTogether) {
  Exchange ex;
  absl::StatusOr<test::Output> out =
      RunFilter(std::make_unique<ContentLengthFilter>(), ex, {"hello", " world"});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->rendered, "hello world<EOS>");
  EXPECT_EQ(ex.response_headers.Get("Content-Length"), "11");
}

TEST(ContentLengthFilterTest, PassesThroughWhenBodyComesInParts) {
  Exchange ex;
  absl::StatusOr<test::Output> out =
      RunFilter(std::make_unique<ContentLengthFilter>(), ex, {"part", "|", "more"});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->rendered, "partmore<EOS>");
  EXPECT_FALSE(ex.response_headers.Has("Content-Length"));
}

TEST(ContentLengthFilterTest, EmptyBodyIsZeroButNotForHead) {
  Exchange ex;
  ASSERT_TRUE(RunFilter(std::make_unique<ContentLengthFilter>(), ex, {}).ok());
  EXPECT_EQ(ex.response_headers.Get("Content-Length"), "0");
  Exchange head;
  head.method = "HEAD";
  ASSERT_TRUE(RunFilter(std::make_unique<ContentLengthFilter>(), head, {}).ok());
  EXPECT_FALSE(head.response_headers.Has("Content-Length"));
}

TEST(ContentLengthFilterTest, LeavesAnExistingLengthAlone) {
  Exchange ex;
  ex.response_headers.Set("Content-Length", "999");
  ASSERT_TRUE(RunFilter(std::make_unique<ContentLengthFilter>(), ex, {"abc"}).ok());
  EXPECT_EQ(ex.response_headers.Get("Content-Length"), "999");
}

TEST(ContentLengthFilterTest, IsSplitInvariant) {
  absl::Status s = testing::CheckSplitInvariance(
      [] { return std::make_unique<ContentLengthFilter>(); }, "some body bytes");
  EXPECT_TRUE(s.ok()) << s;
}

}  // namespace
}  // namespace brigade::filters
