#include "builtin/filters/dechunk_filter.h"

#include <string>

#include "absl/strings/match.h"
#include "filters/chain.h"
#include "builtin/filters/chunk_codec.h"
#include "filters/core_input.h"
#include "gtest/gtest.h"

namespace brigade::filters {
namespace {

struct Result {
  absl::Status status;
  std::string body;
  std::string left_below;  // what CORE_IN still holds after the body
};

// Decodes `wire` fed in buckets of `bucket` bytes, reading `readbytes` at a time.
Result Dechunk(absl::string_view wire, Exchange& ex, size_t bucket = 1000,
               DechunkOptions options = DechunkOptions(), size_t readbytes = 4096) {
  AllocatorHandle alloc = BucketAllocator::Create({.block_size = 64});
  Brigade src(alloc.get());
  for (size_t i = 0; i < wire.size(); i += bucket) {
    src.Append(Bucket::CopyOf(alloc.get(), wire.substr(i, bucket)));
  }
  InputChain chain(&ex);
  auto* core = static_cast<CoreInputFilter*>(
      chain.Add(std::make_unique<CoreInputFilter>(std::move(src))));
  chain.Add(std::make_unique<DechunkFilter>(options));
  Result r;
  while (true) {
    Brigade out(alloc.get());
    r.status = chain.Read(out, ReadMode::kReadBytes, BlockMode::kBlock, readbytes);
    if (!r.status.ok()) break;
    bool eos = out.ends_with_eos();
    r.body += out.FlattenToString(1 << 20).value_or("?");
    if (eos) break;
  }
  Brigade& pending = const_cast<Brigade&>(core->pending());
  r.left_below = pending.FlattenToString(1 << 20).value_or("?");
  return r;
}

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" /
// "~" / DIGIT / ALPHA (RFC 9110 5.6.2), checked for every byte value.
TEST(ChunkCodecTest, TcharIsExactlyRfc9110sSet) {
  const std::string specials = "!#$%&'*+-.^_`|~";
  int count = 0;
  for (int i = 0; i < 256; ++i) {
    char c = static_cast<char>(i);
    bool expected = (i >= '0' && i <= '9') || (i >= 'a' && i <= 'z') || (i >= 'A' && i <= 'Z') ||
                    specials.find(c) != std::string::npos;
    EXPECT_EQ(filters::IsTchar(c), expected) << "byte " << i;
    count += filters::IsTchar(c);
  }
  EXPECT_EQ(count, 10 + 26 + 26 + 15);
}

TEST(DechunkFilterTest, DecodesChunksExtensionsAndTrailers) {
  std::string wire =
      "5\r\nhello\r\n"
      "6;name=value;flag\r\n world\r\n"
      "A ; q=\"quoted \\\" value\"\r\n0123456789\r\n"
      "0\r\n"
      "X-Sum: 42\r\n"
      "X-Other:  spaced  \r\n"
      "\r\n";
  for (size_t bucket : {1u, 2u, 7u, 1000u}) {
    Exchange ex;
    Result r = Dechunk(wire, ex, bucket);
    ASSERT_TRUE(r.status.ok()) << r.status << " bucket " << bucket;
    EXPECT_EQ(r.body, "hello world0123456789");
    EXPECT_EQ(ex.request_trailers.Get("X-Sum"), "42");
    EXPECT_EQ(ex.request_trailers.Get("x-other"), "spaced");
  }
}

TEST(DechunkFilterTest, NeverReadsPastTheBody) {
  Exchange ex;
  Result r = Dechunk("3\r\nabc\r\n0\r\n\r\nGET /next HTTP/1.1\r\n", ex, 5);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.body, "abc");
  EXPECT_EQ(r.left_below, "GET /next HTTP/1.1\r\n");
}

TEST(DechunkFilterTest, BodyOverTheLimitIs413) {
  Exchange ex;
  DechunkOptions o;
  o.max_body = 10;
  Result r = Dechunk("8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n", ex, 1000, o);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kResourceExhausted) << r.status;
  EXPECT_NE(r.status.message().find("a chunk of 8 bytes takes the body past the limit of 10 "
                                    "bytes at byte 13"),
            std::string::npos)
      << r.status;
  // Refused at the size line: the chunk's data need never arrive.
  Result early = Dechunk("ffffff\r\n", ex, 1000, o);
  EXPECT_EQ(early.status.code(), absl::StatusCode::kResourceExhausted) << early.status;
  EXPECT_EQ(early.body, "");
}

struct Malformed {
  const char* name;
  std::string wire;
  const char* message;  // expected in the Status message, including "at byte N"
};

TEST(DechunkFilterTest, MalformedInputsAreRejectedWithWhatAndWhere) {
  std::vector<Malformed> corpus = {
      {"bad hex", "zz\r\nhello\r\n0\r\n\r\n", "chunk size is not hexadecimal: 'zz' at byte 0"},
      {"empty size", "\r\n", "chunk size is not hexadecimal: '' at byte 0"},
      {"leading space", " 5\r\nhello\r\n0\r\n\r\n", "not hexadecimal"},
      {"overflow", "fffffffffffffffffff\r\n", "chunk size overflows (more than 2^60) at column 15 at byte 0"},
      {"negative", "-5\r\nhello\r\n", "not hexadecimal"},
      {"junk after size", "5x\r\nhello\r\n0\r\n\r\n", "unexpected 'x' after chunk size at column 1 at byte 0"},
      {"ext without name", "5;\r\nhello\r\n0\r\n\r\n", "chunk extension without a name at column 2"},
      {"ext bad value", "5;a=\r\nhello\r\n0\r\n\r\n", "chunk extension value missing"},
      {"ext open quote", "5;a=\"x\r\nhello\r\n0\r\n\r\n", "unterminated quoted chunk extension value"},
      {"bare LF size line", "5\nhello\r\n0\r\n\r\n", "bare LF ending the chunk size line at byte 0"},
      {"CR inside size line", "5\r5\r\nhello\r\n", "stray CR or LF inside the chunk size line"},
      {"missing CRLF after data", "5\r\nhelloXY0\r\n\r\n", "missing CRLF after chunk data at byte 8"},
      {"bare LF after data", "5\r\nhello\n0\r\n\r\n", "bare LF after chunk data at byte 8"},
      {"data too long", "3\r\nhello\r\n0\r\n\r\n", "missing CRLF after chunk data at byte 6"},
      {"truncated in data", "a\r\nhello", "truncated chunked body: 5 bytes of chunk data missing at byte 8"},
      {"truncated in size line", "5\r\nhello\r\n1", "truncated chunked body: input ended in a chunk header at byte 11"},
      {"truncated before size", "5\r\nhello\r\n", "truncated chunked body: input ended in a chunk header at byte 10"},
      {"truncated in trailers", "0\r\nX-A: 1\r\n", "input ended in a chunk header"},
      {"over-long size line", "5;" + std::string(5000, 'a') + "\r\nhello\r\n",
       "chunk size line longer than 4096 bytes at byte 0"},
      {"trailer without colon", "0\r\nNoColon\r\n\r\n", "trailer line without a colon at byte 3"},
      {"trailer obs-fold", "0\r\nX-A: 1\r\n  folded\r\n\r\n", "obsolete line folding in trailer at byte 11"},
      {"trailer bad name", "0\r\nX A: 1\r\n\r\n", "invalid character in trailer field name at column 1"},
      {"trailer control char", std::string("0\r\nX-A: a\x01" "b\r\n\r\n"), "control character in trailer field value"},
      {"trailer bare LF", "0\r\nX-A: 1\n\r\n", "bare LF ending the trailer line at byte 3"},
      {"final bare LF", "0\r\n\n", "bare LF ending the trailers at byte 3"},
  };
  for (const Malformed& m : corpus) {
    for (size_t bucket : {1u, 1000u}) {
      Exchange ex;
      Result r = Dechunk(m.wire, ex, bucket);
      EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument) << m.name << ": " << r.status;
      EXPECT_NE(r.status.message().find(m.message), std::string::npos)
          << m.name << " (bucket " << bucket << "): got '" << r.status.message() << "'";
      EXPECT_TRUE(absl::StartsWith(r.status.message(), "DECHUNK: ")) << m.name;
    }
  }
}

TEST(DechunkFilterTest, TooManyTrailersAreRefused) {
  std::string wire = "0\r\n";
  for (int i = 0; i < 5; ++i) wire += "X-" + std::to_string(i) + ": v\r\n";
  wire += "\r\n";
  DechunkOptions o;
  o.max_trailers = 3;
  Exchange ex;
  Result r = Dechunk(wire, ex, 1000, o);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status.message().find("trailers exceed 3 fields"), std::string::npos) << r.status;
}

TEST(DechunkFilterTest, ReadbytesBoundsEachRead) {
  Exchange ex;
  AllocatorHandle alloc = BucketAllocator::Create();
  Brigade src(alloc.get());
  src.Append(Bucket::CopyOf(alloc.get(), "10\r\n0123456789abcdef\r\n0\r\n\r\n"));
  InputChain chain(&ex);
  chain.Add(std::make_unique<CoreInputFilter>(std::move(src)));
  chain.Add(std::make_unique<DechunkFilter>());
  std::vector<std::string> reads;
  while (true) {
    Brigade out(alloc.get());
    ASSERT_TRUE(chain.Read(out, ReadMode::kReadBytes, BlockMode::kBlock, 5).ok());
    if (out.ends_with_eos()) break;
    reads.push_back(*out.FlattenToString(100));
  }
  EXPECT_EQ(reads, (std::vector<std::string>{"01234", "56789", "abcde", "f"}));
}

TEST(ChunkCodecTest, SizeLines) {
  EXPECT_EQ(ParseChunkSizeLine("0\r\n").value_or(99), 0u);
  EXPECT_EQ(ParseChunkSizeLine("fF\r\n").value_or(0), 255u);
  EXPECT_EQ(ParseChunkSizeLine("1000000000000000\r\n").value_or(0), uint64_t{1} << 60);
  EXPECT_FALSE(ParseChunkSizeLine("1000000000000001\r\n").ok());
  EXPECT_EQ(ParseChunkSizeLine("5 ; a = b \r\n").value_or(0), 5u);
  EXPECT_FALSE(ParseChunkSizeLine("5").ok());
}

}  // namespace
}  // namespace brigade::filters
