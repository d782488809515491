#include "builtin/filters/inflate_filter.h"

#include <zlib.h>

#include <string>

#include "filters/chain.h"
#include "filters/core_input.h"
#include "filters/testing/split_invariance.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/filters/filter_test_util.h"

namespace brigade::filters {
namespace {

using test::RunCommand;
using test::RunFilter;
using test::ZlibGzip;

std::string Text(size_t lines) {
  std::string s;
  for (size_t i = 0; i < lines; ++i) s += "inflate me " + std::to_string(i * 7919) + "\n";
  return s;
}

// Reads a request body through INFLATE over CORE_IN holding `wire`, `readbytes` at a time.
[[nodiscard]] absl::StatusOr<std::string> ReadBody(absl::string_view wire, Exchange& ex,
                                                   InflateOptions options = InflateOptions(),
                                                   size_t readbytes = 1000, size_t bucket = 333) {
  AllocatorHandle alloc = BucketAllocator::Create();
  Brigade src(alloc.get());
  for (size_t i = 0; i < wire.size(); i += bucket) {
    src.Append(Bucket::CopyOf(alloc.get(), wire.substr(i, bucket)));
  }
  InputChain chain(&ex);
  chain.Add(std::make_unique<CoreInputFilter>(std::move(src)));
  chain.Add(std::make_unique<InflateInputFilter>(options));
  std::string body;
  while (true) {
    Brigade out(alloc.get());
    absl::Status s = chain.Read(out, ReadMode::kReadBytes, BlockMode::kBlock, readbytes);
    if (!s.ok()) return s;
    if (out.Length().value_or(0) > readbytes) {
      return absl::InternalError("INFLATE returned more than readbytes");
    }
    bool eos = out.ends_with_eos();
    absl::StatusOr<std::string> text = out.FlattenToString(readbytes);
    if (!text.ok()) return text.status();
    body += *text;
    if (eos) return body;
  }
}

Exchange GzipBody() {
  Exchange ex;
  ex.request_headers.Set("Content-Encoding", "gzip");
  ex.request_headers.Set("Content-Length", "123");
  return ex;
}

TEST(InflateFilterTest, DecodesFilesMadeByGzipAtLevels1And9) {
  std::string text = Text(20000);
  for (const char* level : {"-1", "-9"}) {
    absl::StatusOr<std::string> gz = RunCommand(std::string("gzip -c ") + level, text);
    ASSERT_TRUE(gz.ok()) << gz.status();
    Exchange ex = GzipBody();
    absl::StatusOr<std::string> body = ReadBody(*gz, ex);
    ASSERT_TRUE(body.ok()) << body.status();
    EXPECT_EQ(*body, text) << level;
    EXPECT_FALSE(ex.request_headers.Has("Content-Encoding"));
    EXPECT_FALSE(ex.request_headers.Has("Content-Length"));
  }
}

TEST(InflateFilterTest, DecodesGzipWithFileNameAndPythonWithComment) {
  std::string text = Text(500);
  // gzip -N stores the original file name (FNAME).
  absl::StatusOr<std::string> named = RunCommand(
      "d=$(mktemp -d) && cat > $d/original.txt && gzip -N -c $d/original.txt && rm -r $d", text);
  ASSERT_TRUE(named.ok()) << named.status();
  ASSERT_TRUE(static_cast<unsigned char>((*named)[3]) & 0x08) << "FNAME not set by gzip -N";
  Exchange ex = GzipBody();
  EXPECT_EQ(ReadBody(*named, ex).value_or("?"), text);
  // FCOMMENT + FHCRC, written by hand around a body python's zlib compressed.
  absl::StatusOr<std::string> raw = RunCommand(
      "/usr/bin/python3 -c 'import sys,zlib; c=zlib.compressobj(9, zlib.DEFLATED, -15); "
      "sys.stdout.buffer.write(c.compress(sys.stdin.buffer.read())+c.flush())'",
      text);
  ASSERT_TRUE(raw.ok()) << raw.status();
  std::string header = {'\x1f', '\x8b', 8, 0x10 | 0x02, 0, 0, 0, 0, 0, 3};
  header += std::string("made by python\0", 15);
  uint32_t hcrc = crc32(0, reinterpret_cast<const Bytef*>(header.data()), static_cast<uInt>(header.size()));
  header += static_cast<char>(hcrc & 0xff);
  header += static_cast<char>((hcrc >> 8) & 0xff);
  uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size()));
  std::string trailer;
  for (uint32_t v : {crc, static_cast<uint32_t>(text.size())}) {
    for (int i = 0; i < 4; ++i) trailer += static_cast<char>((v >> (8 * i)) & 0xff);
  }
  Exchange ex2 = GzipBody();
  absl::StatusOr<std::string> body = ReadBody(header + *raw + trailer, ex2);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, text);
}

TEST(InflateFilterTest, PassesThroughWhenBodyIsNotGzip) {
  Exchange ex;
  ex.request_headers.Set("Content-Length", "5");
  absl::StatusOr<std::string> body = ReadBody("plain", ex);
  EXPECT_EQ(body.value_or("?"), "plain");
  EXPECT_TRUE(ex.request_headers.Has("Content-Length"));
}

TEST(InflateFilterTest, ZipBombStopsWith413NearTheLimit) {
  std::string bomb = ZlibGzip(std::string(10 << 20, '\0'), 9);
  InflateOptions options;
  options.codec.max_output = 1 << 20;
  Exchange ex = GzipBody();
  AllocatorHandle alloc = BucketAllocator::Create();
  Brigade src(alloc.get());
  src.Append(Bucket::CopyOf(alloc.get(), bomb));
  InputChain chain(&ex);
  chain.Add(std::make_unique<CoreInputFilter>(std::move(src)));
  chain.Add(std::make_unique<InflateInputFilter>(options));
  uint64_t inflated = 0;
  absl::Status failure;
  while (failure.ok()) {
    Brigade out(alloc.get());
    failure = chain.Read(out, ReadMode::kReadBytes, BlockMode::kBlock, 64 * 1024);
    inflated += out.Length().value_or(0);
    ASSERT_FALSE(out.ends_with_eos()) << "the bomb was inflated whole";
  }
  EXPECT_EQ(failure.code(), absl::StatusCode::kResourceExhausted) << failure;
  EXPECT_LE(inflated, (1u << 20) + options.block_size);
  EXPECT_NE(failure.message().find("INFLATE: inflated body exceeds the limit of 1048576 bytes"),
            std::string::npos)
      << failure;
}

TEST(InflateFilterTest, GarbageIs400WithOffsetAndTruncationIsReported) {
  Exchange ex = GzipBody();
  absl::StatusOr<std::string> bad = ReadBody("this is not gzip at all", ex);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("at byte 0"), std::string::npos) << bad.status();
  std::string gz = ZlibGzip(Text(100), 6);
  Exchange ex2 = GzipBody();
  absl::StatusOr<std::string> cut = ReadBody(gz.substr(0, gz.size() / 2), ex2);
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(cut.status().message().find("truncated"), std::string::npos) << cut.status();
  Exchange ex3 = GzipBody();
  absl::StatusOr<std::string> trailing = ReadBody(gz + "extra", ex3);
  EXPECT_NE(trailing.status().message().find("trailing garbage"), std::string::npos);
}

TEST(InflateFilterTest, ARequestBodyOfSeveralMembersDecodesWhole) {
  std::string a = Text(3000), b = Text(10);
  Exchange ex = GzipBody();
  absl::StatusOr<std::string> body = ReadBody(ZlibGzip(a, 6) + ZlibGzip(b, 1), ex);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, a + b);
}

TEST(InflateFilterTest, LimitCountsEveryMemberOfARequestBody) {
  std::string member = ZlibGzip(std::string(40000, 'z'), 9);
  InflateOptions o;
  o.codec.max_output = 50000;
  Exchange one = GzipBody();
  EXPECT_TRUE(ReadBody(member, one, o).ok());
  Exchange two = GzipBody();
  EXPECT_EQ(ReadBody(member + member, two, o).status().code(),
            absl::StatusCode::kResourceExhausted);
}

// Decoded bytes that came before the malformed input are read before the error.
TEST(InflateFilterTest, BytesDecodedBeforeJunkAreReadFirst) {
  std::string text = Text(50);
  std::string gz = ZlibGzip(text, 6);
  AllocatorHandle alloc = BucketAllocator::Create();
  Brigade src(alloc.get());
  src.Append(Bucket::CopyOf(alloc.get(), gz + "junk"));
  Exchange ex = GzipBody();
  InputChain chain(&ex);
  chain.Add(std::make_unique<CoreInputFilter>(std::move(src)));
  chain.Add(std::make_unique<InflateInputFilter>(InflateOptions()));
  std::string body;
  absl::Status s;
  while (s.ok()) {
    Brigade out(alloc.get());
    s = chain.Read(out, ReadMode::kReadBytes, BlockMode::kBlock, 1 << 20);
    if (s.ok()) body += *out.FlattenToString(1 << 20);
  }
  EXPECT_EQ(body, text);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(absl::StrCat("at byte ", gz.size())), std::string::npos) << s;
}

TEST(InflateFilterTest, OtherReadModesAreUnimplemented) {
  Exchange ex = GzipBody();
  AllocatorHandle alloc = BucketAllocator::Create();
  Brigade src(alloc.get());
  src.Append(Bucket::CopyOf(alloc.get(), ZlibGzip("a\nb\n", 6)));
  InputChain chain(&ex);
  chain.Add(std::make_unique<CoreInputFilter>(std::move(src)));
  chain.Add(std::make_unique<InflateInputFilter>(InflateOptions()));
  Brigade out(alloc.get());
  EXPECT_EQ(chain.Read(out, ReadMode::kGetLine, BlockMode::kBlock, 100).code(),
            absl::StatusCode::kUnimplemented);
}

TEST(InflateFilterTest, OutputFilterDecodesAStream) {
  std::string text = Text(3000);
  std::string gz = ZlibGzip(text, 6);
  Exchange ex;
  ex.response_headers.Set("Content-Encoding", "gzip");
  absl::StatusOr<test::Output> out = RunFilter(
      std::make_unique<InflateOutputFilter>(InflateOptions()), ex,
      {gz.substr(0, 10), gz.substr(10, 1), "|", gz.substr(11, 3000), "<FLUSH>", gz.substr(3011)});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->bytes, text);
  EXPECT_FALSE(ex.response_headers.Has("Content-Encoding"));
  EXPECT_NE(out->rendered.find("<FLUSH>"), std::string::npos);
}

TEST(InflateFilterTest, OutputFilterRejectsTruncatedStreamAtEos) {
  std::string gz = ZlibGzip(Text(300), 6);
  Exchange ex;
  absl::StatusOr<test::Output> out = RunFilter(
      std::make_unique<InflateOutputFilter>(InflateOptions()), ex, {gz.substr(0, gz.size() - 4)});
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("INFLATE: truncated"), std::string::npos) << out.status();
}

}  // namespace
}  // namespace brigade::filters

namespace brigade::filters {
namespace {

TEST(InflateFilterTest, OutputFilterIsSplitInvariant) {
  std::string gz = ZlibGzip(Text(400), 9);
  testing::SplitOptions options;
  options.random_trials = 100;
  absl::Status s = testing::CheckSplitInvariance(
      [] { return std::make_unique<InflateOutputFilter>(InflateOptions()); }, gz, options);
  EXPECT_TRUE(s.ok()) << s;
}

InflateOptions IsalInflate() {
  InflateOptions o;
  o.codec.backend = GzipBackend::kIsal;
  return o;
}

TEST(InflateFilterTest, IsalBackendDecodesRequestBodiesMadeByGzip) {
  std::string text = Text(20000);
  for (const char* level : {"-1", "-9"}) {
    absl::StatusOr<std::string> gz = RunCommand(std::string("gzip -c ") + level, text);
    ASSERT_TRUE(gz.ok()) << gz.status();
    for (size_t bucket : {1u, 333u, 100000u}) {
      Exchange ex = GzipBody();
      absl::StatusOr<std::string> body = ReadBody(*gz + *gz, ex, IsalInflate(), 1000, bucket);
      ASSERT_TRUE(body.ok()) << body.status();
      EXPECT_EQ(*body, text + text) << level << " bucket " << bucket;
    }
  }
  Exchange ex = GzipBody();
  std::string gz = ZlibGzip(text, 6);
  gz[gz.size() - 8] ^= 1;
  EXPECT_EQ(ReadBody(gz, ex, IsalInflate()).status().code(), absl::StatusCode::kDataLoss);
}

TEST(InflateFilterTest, IsalBackendOutputFilterIsSplitInvariant) {
  std::string gz = ZlibGzip(Text(400), 9);
  testing::SplitOptions options;
  options.random_trials = 100;
  absl::Status s = testing::CheckSplitInvariance(
      [] { return std::make_unique<InflateOutputFilter>(IsalInflate()); }, gz + gz, options);
  EXPECT_TRUE(s.ok()) << s;
}

}  // namespace
}  // namespace brigade::filters
