#include "builtin/filters/reverse_filter.h"

#include <string>

#include "filters/testing/split_invariance.h"
#include "gtest/gtest.h"
#include "tests/filters/filter_test_util.h"

namespace brigade::filters {
namespace {

using test::RunFilter;

std::string Reverse(const std::vector<std::string>& pieces, Exchange* exchange = nullptr,
                    std::unique_ptr<ReverseFilter> filter = nullptr) {
  Exchange local;
  Exchange& ex = exchange != nullptr ? *exchange : local;
  absl::StatusOr<test::Output> out =
      RunFilter(filter ? std::move(filter) : std::make_unique<ReverseFilter>(), ex, pieces);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? out->rendered : "";
}

// t/filter/out_str_reverse.t in mod_perl 2: the response is the reversed alphabet and digits,
// one per line, sent five bytes at a time; the filter restores them and adds its signature.
TEST(ReverseFilterTest, MatchesModPerlExampleOutput) {
  std::string reversed_data = "zyxwvutsrqponmlkjihgfedcba\n9876543210\n";
  std::vector<std::string> pieces;
  for (size_t i = 0; i < reversed_data.size(); i += 5) {
    pieces.push_back(reversed_data.substr(i, 5));
    pieces.push_back("|");
  }
  FilterOptions o;
  o.Set("signature", "Reversed by mod_perl 2.0");
  absl::StatusOr<ReverseOptions> options = ReverseOptions::Table().Parse(o);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(Reverse(pieces, nullptr, std::make_unique<ReverseFilter>(*options)),
            "abcdefghijklmnopqrstuvwxyz\n0123456789\nReversed by mod_perl 2.0\n<EOS>");
}

TEST(ReverseFilterTest, KeepsCrlfAndLfRunsAndLastLineWithoutNewline) {
  EXPECT_EQ(Reverse({"abc\r\ndef\n\nxyz"}), "cba\r\nfed\n\nzyx<EOS>");
  EXPECT_EQ(Reverse({"\r\n\r\nab"}), "\r\n\r\nba<EOS>");
  EXPECT_EQ(Reverse({""}), "<EOS>");
  EXPECT_EQ(Reverse({"no newline at all"}), "lla ta enilwen on<EOS>");
  EXPECT_EQ(Reverse({"ab\r", "|", "\ncd"}), "ba\r\ndc<EOS>");
}

TEST(ReverseFilterTest, HoldsPartialLinesAcrossBrigadesAndFlush) {
  EXPECT_EQ(Reverse({"hel", "|", "lo\nwor", "<FLUSH>", "|", "ld\n"}),
            "olleh\n<FLUSH>dlrow\n<EOS>");
}

TEST(ReverseFilterTest, ReversesUtf8ByCodePointAndOtherBytesByByte) {
  EXPECT_EQ(ReverseLine("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"),
            "\xf0\x9f\x98\x80 \xe2\x82\xac oll\xc3\xa9h");
  EXPECT_EQ(ReverseLine("a\xff" "b"), "b\xff" "a");           // invalid UTF-8: bytes
  EXPECT_EQ(ReverseLine("\xc3\xa9\xc3"), "\xc3\xa9\xc3");      // truncated sequence: bytes
  EXPECT_EQ(ReverseLine("\xed\xa0\x80" "x"), "x\x80\xa0\xed");  // a surrogate is not UTF-8
  // A multi-byte character split across buckets comes out whole.
  EXPECT_EQ(Reverse({"a\xc3", "|", "\xa9z\n"}), "z\xc3\xa9" "a\n<EOS>");
}

TEST(ReverseFilterTest, OverLongLineIsRefusedNotTruncated) {
  Exchange ex;
  absl::StatusOr<test::Output> out = RunFilter(std::make_unique<ReverseFilter>(ReverseOptions{.max_line = 8, .signature = ""}), ex,
                                               {"short\n", "much too long a line\n"});
  EXPECT_EQ(out.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(out.status().message().find("REVERSE: line longer than 8 bytes at byte"),
            std::string::npos)
      << out.status();
}

TEST(ReverseFilterTest, KeepsContentLengthUnlessSigning) {
  Exchange ex;
  ex.response_headers.Set("Content-Length", "4");
  Reverse({"abc\n"}, &ex);
  EXPECT_EQ(ex.response_headers.Get("Content-Length"), "4");
  Exchange signed_ex;
  signed_ex.response_headers.Set("Content-Length", "4");
  Reverse({"abc\n"}, &signed_ex, std::make_unique<ReverseFilter>(ReverseOptions{.signature = "sig"}));
  EXPECT_FALSE(signed_ex.response_headers.Has("Content-Length"));
}

TEST(ReverseFilterTest, IsSplitInvariantWithFlushAndFileBuckets) {
  auto factory = [] { return std::make_unique<ReverseFilter>(); };
  absl::Status small = testing::CheckSplitInvariance(factory, "ab\r\nc\xc3\xa9\nd");
  EXPECT_TRUE(small.ok()) << small;
  std::string big;
  for (int i = 0; i < 400; ++i) big += "line " + std::to_string(i) + (i % 3 ? "\n" : "\r\n");
  absl::Status large = testing::CheckSplitInvariance(factory, big);
  EXPECT_TRUE(large.ok()) << large;
}

}  // namespace
}  // namespace brigade::filters
