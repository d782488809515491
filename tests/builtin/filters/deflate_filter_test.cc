#include "builtin/filters/deflate_filter.h"

#include <zlib.h>

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "filters/core_input.h"
#include "filters/registry.h"
#include "filters/testing/split_invariance.h"
#include "gtest/gtest.h"
#include "tests/filters/filter_test_util.h"
#include "tests/handlers/test_doubles.h"

namespace brigade::filters {
namespace {

using test::RunCommand;
using test::RunFilter;
using test::ZlibGunzip;

std::unique_ptr<DeflateFilter> Make(DeflateOptions options = DeflateOptions()) {
  absl::StatusOr<std::unique_ptr<DeflateFilter>> f = DeflateFilter::Create(options);
  EXPECT_TRUE(f.ok()) << f.status();
  return std::move(*f);
}

std::string Text(size_t lines) {
  std::string s;
  for (size_t i = 0; i < lines; ++i) s += "the quick brown fox " + std::to_string(i) + "\n";
  return s;
}

Exchange GzipRequest() {
  Exchange ex;
  ex.request_headers.Set("Accept-Encoding", "gzip, deflate");
  ex.response_headers.Set("Content-Type", "text/html; charset=utf-8");
  return ex;
}

TEST(DeflateFilterTest, CompressesAndEditsHeaders) {
  Exchange ex = GzipRequest();
  std::string body = Text(2000);
  ex.response_headers.Set("Content-Length", std::to_string(body.size()));
  ex.response_headers.Set("ETag", "\"abc\"");
  ex.response_headers.Set("Vary", "Cookie");
  absl::StatusOr<test::Output> out = RunFilter(Make(), ex, {body});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ZlibGunzip(out->bytes).value_or("?"), body);
  EXPECT_LT(out->bytes.size(), body.size() / 3);
  EXPECT_EQ(ex.response_headers.Get("Content-Encoding"), "gzip");
  EXPECT_FALSE(ex.response_headers.Has("Content-Length"));
  EXPECT_EQ(ex.response_headers.Get("ETag"), "W/\"abc\"");
  EXPECT_EQ(ex.response_headers.Get("Vary"), "Cookie, Accept-Encoding");
  EXPECT_EQ(ex.notes["deflate"], "gzip level 6");
}

TEST(DeflateFilterTest, OutputDecodesWithGzipAndPython) {
  Exchange ex = GzipRequest();
  std::string body = Text(5000);
  absl::StatusOr<test::Output> out = RunFilter(Make(), ex, {body.substr(0, 1000), "|", body.substr(1000)});
  ASSERT_TRUE(out.ok()) << out.status();
  absl::StatusOr<std::string> gunzip = RunCommand("gzip -dc", out->bytes);
  ASSERT_TRUE(gunzip.ok()) << gunzip.status();
  EXPECT_EQ(*gunzip, body);
  absl::StatusOr<std::string> py = RunCommand(
      "/usr/bin/python3 -c 'import sys,zlib; "
      "sys.stdout.buffer.write(zlib.decompress(sys.stdin.buffer.read(), 31))'",
      out->bytes);
  ASSERT_TRUE(py.ok()) << py.status();
  EXPECT_EQ(*py, body);
}

struct DeclineCase {
  const char* name;
  std::function<void(Exchange&)> setup;
  const char* note;
  bool vary;
};

TEST(DeflateFilterTest, DeclinesAndSaysWhy) {
  std::vector<DeclineCase> cases = {
      {"no Accept-Encoding", [](Exchange& e) { e.request_headers.Remove("Accept-Encoding"); },
       "no-gzip: client does not accept gzip", true},
      {"gzip;q=0", [](Exchange& e) { e.request_headers.Set("Accept-Encoding", "gzip;q=0"); },
       "no-gzip: client does not accept gzip", true},
      {"identity", [](Exchange& e) { e.request_headers.Set("Accept-Encoding", "identity"); },
       "no-gzip: client does not accept gzip", true},
      {"HEAD", [](Exchange& e) { e.method = "HEAD"; }, "no-gzip: HEAD request", false},
      {"204", [](Exchange& e) { e.status = 204; }, "no-gzip: status 204 has no body", false},
      {"304", [](Exchange& e) { e.status = 304; }, "no-gzip: status 304 has no body", false},
      {"encoded", [](Exchange& e) { e.response_headers.Set("Content-Encoding", "br"); },
       "no-gzip: already encoded (br)", false},
      {"small", [](Exchange& e) { e.response_headers.Set("Content-Length", "5"); },
       "no-gzip: 5 bytes is below min_length 20", false},
  };
  for (const DeclineCase& c : cases) {
    Exchange ex = GzipRequest();
    c.setup(ex);
    absl::StatusOr<test::Output> out = RunFilter(Make(), ex, {"plain text body, long enough"});
    ASSERT_TRUE(out.ok()) << c.name << ": " << out.status();
    EXPECT_EQ(out->rendered, "plain text body, long enough<EOS>") << c.name;
    EXPECT_EQ(ex.notes["deflate"], c.note) << c.name;
    EXPECT_EQ(ex.response_headers.Has("Vary"), c.vary) << c.name;
    EXPECT_NE(ex.response_headers.Get("Content-Encoding"), "gzip") << c.name;
  }
}

TEST(DeflateFilterTest, IdentityContentEncodingStillCompresses) {
  Exchange ex = GzipRequest();
  ex.response_headers.Set("Content-Encoding", "identity");
  absl::StatusOr<test::Output> out = RunFilter(Make(), ex, {Text(10)});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(ex.response_headers.Get("Content-Encoding"), "gzip");
}

TEST(DeflateFilterTest, ShortBodyWithEosInFirstBrigadeIsLeftAlone) {
  Exchange ex = GzipRequest();
  absl::StatusOr<test::Output> out = RunFilter(Make(), ex, {"tiny"});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->rendered, "tiny<EOS>");
}

TEST(DeflateFilterTest, TypeSelection) {
  struct TypeCase {
    const char* types;         // the option; nullptr = not given (compress anything)
    const char* content_type;  // nullptr = no Content-Type
    bool compress;
  };
  for (const TypeCase& c : std::vector<TypeCase>{
           {nullptr, "image/png", true},
           {nullptr, nullptr, true},
           {"default", "text/plain", true},
           {"default", "Text/CSS; charset=x", true},
           {"default", "application/json", true},
           {"default", "image/svg+xml", true},
           {"default", "image/png", false},
           {"default", nullptr, false},
           {"text/html;application/xml", "application/xml", true},
           {"text/html;application/xml", "text/plain", false},
           {"text/*", "text/plain", true},
       }) {
    FilterOptions o;
    if (c.types != nullptr) o.Set("types", c.types);
    absl::StatusOr<DeflateOptions> d = DeflateOptions::Table().Parse(o);
    ASSERT_TRUE(d.ok()) << d.status();
    Exchange ex = GzipRequest();
    ex.response_headers.Remove("Content-Type");
    if (c.content_type != nullptr) ex.response_headers.Set("Content-Type", c.content_type);
    absl::StatusOr<test::Output> out = RunFilter(Make(*d), ex, {Text(50)});
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(ex.response_headers.Get("Content-Encoding") == "gzip", c.compress)
        << (c.types ? c.types : "(none)") << " / " << (c.content_type ? c.content_type : "(none)")
        << ": " << ex.notes["deflate"];
  }
}

TEST(DeflateFilterTest, BadOptionsAreRefusedWithAMessage) {
  for (const char* level : {"0", "10", "x", "-1"}) {
    FilterOptions o;
    o.Set("level", level);
    absl::StatusOr<DeflateOptions> d = DeflateOptions::Table().Parse(o);
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << level;
    EXPECT_NE(d.status().message().find("level"), std::string::npos);
  }
  FilterOptions o;
  o.Set("types", "html");
  EXPECT_EQ(DeflateOptions::Table().Parse(o).status().code(), absl::StatusCode::kInvalidArgument);
}

// The bytes `gz` holds so far, inflated as far as they go (no trailer needed).
std::string InflatePrefix(const std::string& gz) {
  z_stream s{};
  inflateInit2(&s, 31);
  std::string out(1 << 22, '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  s.avail_in = static_cast<uInt>(gz.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  inflate(&s, Z_SYNC_FLUSH);
  out.resize(s.total_out);
  inflateEnd(&s);
  return out;
}

TEST(DeflateFilterTest, FlushPassesEverythingCompressedSoFar) {
  for (GzipBackend backend : {GzipBackend::kZlib, GzipBackend::kIsal}) {
    Exchange ex = GzipRequest();
    DeflateOptions o;
    o.codec.backend = backend;
    std::string part1 = Text(100), part2 = Text(200);
    absl::StatusOr<test::Output> out = RunFilter(Make(o), ex, {part1, "<FLUSH>", "|", part2});
    ASSERT_TRUE(out.ok());
    size_t flush = out->rendered.find("<FLUSH>");
    ASSERT_NE(flush, std::string::npos);
    // The bytes before FLUSH inflate (sync flush, no trailer yet) to exactly part1.
    EXPECT_EQ(InflatePrefix(out->rendered.substr(0, flush)), part1) << GzipBackendName(backend);
    EXPECT_EQ(ZlibGunzip(out->bytes).value_or("?"), part1 + part2);
  }
}

// DEFLATE into a sink that answers kAgain past 4 KiB, as a full socket does: passes `body` in
// 16 KiB brigades until the sink is full, tells the chain the output is stalled (twice, when
// `stall`), then drains the sink and passes the rest. Returns the output and, in `at_stall`,
// what had come out when the stall was noticed.
std::string RunStalled(GzipBackend backend, const std::string& body, bool stall,
                       std::string* at_stall) {
  Exchange ex = GzipRequest();
  Brigade wire(BucketAllocator::ForThisThread());
  OutputChain chain(&ex);
  DeflateOptions o;
  o.codec.backend = backend;
  chain.Add(Make(o));
  auto* sink =
      static_cast<handlers::test::ThrottledSink*>(chain.Add(
          std::make_unique<handlers::test::ThrottledSink>(&wire, 4096)));
  auto bytes = [&] {
    sink->Drain();
    absl::StatusOr<std::string> s = wire.FlattenToString(1 << 24);
    wire.Clear();
    return s.value_or("flatten failed");
  };
  std::string out;
  size_t pos = 0;
  bool stalled = false;
  while (pos < body.size()) {
    Brigade bb(wire.allocator());
    size_t n = std::min<size_t>(16384, body.size() - pos);
    EXPECT_TRUE(bb.WriteOwned(body.substr(pos, n)).ok());
    pos += n;
    if (pos == body.size()) bb.Append(Bucket::Eos(bb.allocator()));
    absl::StatusOr<Flow> flow = chain.Pass(bb);
    EXPECT_TRUE(flow.ok()) << flow.status();
    if (flow.ok() && *flow == Flow::kAgain && !stalled) {
      stalled = true;
      if (stall) {
        chain.NotifyStalled();
        size_t held = sink->held_bytes();
        chain.NotifyStalled();  // nothing compressed since: nothing more to flush
        EXPECT_EQ(sink->held_bytes(), held);
      }
      // Everything DEFLATE has compressed goes out at the next pass; see what it is.
      Brigade empty(wire.allocator());
      EXPECT_TRUE(chain.Pass(empty).ok());
      out += bytes();
      if (at_stall != nullptr) *at_stall = out;
    }
    out += bytes();
  }
  // What DEFLATE set aside on the last kAgain goes on with empty passes; after EOS it leaves.
  for (int i = 0; i < 100 && chain.size() > 1; ++i) {
    Brigade empty(wire.allocator());
    EXPECT_TRUE(chain.Pass(empty).ok());
    out += bytes();
  }
  EXPECT_EQ(chain.size(), 1u);
  out += bytes();
  return out;
}

TEST(DeflateFilterTest, AStalledStreamGivesUpItsHistoryAndStillDecodes) {
  std::string body = Text(40000);
  std::string at_stall;
  std::string out = RunStalled(GzipBackend::kZlib, body, /*stall=*/true, &at_stall);
  EXPECT_TRUE(ZlibGunzip(out).value_or("decode failed") == body);
  // The full flush left every byte compressed so far decodable, and more than one brigade of
  // it was in (the sink took 4 KiB of output before it answered kAgain).
  std::string prefix = InflatePrefix(at_stall);
  EXPECT_GE(prefix.size(), 16384u);
  EXPECT_TRUE(prefix == body.substr(0, prefix.size()));
  std::string plain = RunStalled(GzipBackend::kZlib, body, /*stall=*/false, nullptr);
  EXPECT_TRUE(ZlibGunzip(plain).value_or("decode failed") == body);
  // The stall changed the stream (a full flush in it), and not its size by much.
  EXPECT_TRUE(out != plain);
  EXPECT_LT(out.size(), plain.size() + plain.size() / 4);
  EXPECT_GT(out.size(), plain.size() - plain.size() / 4);
}

TEST(DeflateFilterTest, OnIsalAStallChangesNothing) {
  std::string body = Text(40000);
  std::string stalled = RunStalled(GzipBackend::kIsal, body, /*stall=*/true, nullptr);
  EXPECT_TRUE(ZlibGunzip(stalled).value_or("decode failed") == body);
  EXPECT_TRUE(stalled == RunStalled(GzipBackend::kIsal, body, /*stall=*/false, nullptr));
}

TEST(DeflateFilterTest, OutputComesInBoundedBlocks) {
  Exchange ex = GzipRequest();
  DeflateOptions o;
  o.codec.level = 1;
  o.block_size = 1024;
  std::string random;
  uint32_t x = 1;
  for (int i = 0; i < 300000; ++i) {
    x = x * 1103515245 + 12345;
    random += static_cast<char>(x >> 24);
  }
  absl::StatusOr<std::unique_ptr<DeflateFilter>> f = DeflateFilter::Create(o);
  ASSERT_TRUE(f.ok());
  AllocatorHandle alloc = BucketAllocator::Create();
  Brigade collected(alloc.get());
  OutputChain chain(&ex);
  chain.Add(std::move(*f));
  chain.Add(std::make_unique<CollectFilter>(&collected));
  Brigade bb(alloc.get());
  bb.Append(Bucket::Immortal(alloc.get(), random));
  bb.Append(Bucket::Eos(alloc.get()));
  ASSERT_TRUE(chain.Pass(bb).ok());
  for (Bucket& b : collected) EXPECT_LE(b.length(), 1024u);
  absl::StatusOr<std::string> all = collected.FlattenToString(1 << 20);
  EXPECT_EQ(ZlibGunzip(*all).value_or("?"), random);
}

TEST(DeflateFilterTest, SmallKnownLengthShrinksTheWindowAndStillDecodes) {
  Exchange ex = GzipRequest();
  std::string body = Text(20);
  ex.response_headers.Set("Content-Length", std::to_string(body.size()));
  absl::StatusOr<test::Output> out = RunFilter(Make(), ex, {body});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(RunCommand("gzip -dc", out->bytes).value_or("?"), body);
}

TEST(DeflateFilterTest, IsSplitInvariantAfterDecoding) {
  testing::SplitOptions options;
  options.decoder = [](absl::string_view s) { return ZlibGunzip(s); };
  options.setup_exchange = [](Exchange& e) { e.request_headers.Set("Accept-Encoding", "gzip"); };
  options.random_trials = 60;
  options.exhaustive_limit = 12;
  for (GzipBackend backend : {GzipBackend::kZlib, GzipBackend::kIsal}) {
    auto factory = [backend] {
      DeflateOptions o;
      o.codec.backend = backend;
      o.min_length = 0;  // compress even the 12-byte input
      return Make(o);
    };
    absl::Status small = testing::CheckSplitInvariance(factory, "gzip me pls!", options);
    EXPECT_TRUE(small.ok()) << small;
    absl::Status large = testing::CheckSplitInvariance(factory, Text(3000), options);
    EXPECT_TRUE(large.ok()) << large;
  }
}

TEST(DeflateFilterTest, FileBucketsAreCompressed) {
  std::string body = Text(4000);
  testing::SplitOptions options;
  options.decoder = [](absl::string_view s) { return ZlibGunzip(s); };
  options.setup_exchange = [](Exchange& e) { e.request_headers.Set("Accept-Encoding", "gzip"); };
  options.use_file_buckets = true;
  options.insert_flush = false;
  options.random_trials = 20;
  for (GzipBackend backend : {GzipBackend::kZlib, GzipBackend::kIsal}) {
    DeflateOptions o;
    o.codec.backend = backend;
    absl::Status s = testing::CheckSplitInvariance([o] { return Make(o); }, body, options);
    EXPECT_TRUE(s.ok()) << s;
  }
}

DeflateOptions Isal(int level) {
  DeflateOptions o;
  o.codec.backend = GzipBackend::kIsal;
  o.codec.level = level;
  return o;
}

TEST(DeflateFilterTest, IsalBackendOutputDecodesWithGzipAndPython) {
  for (int level : {1, 6, 9}) {
    Exchange ex = GzipRequest();
    std::string body = Text(5000);
    absl::StatusOr<test::Output> out =
        RunFilter(Make(Isal(level)), ex, {body.substr(0, 1000), "|", body.substr(1000)});
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(RunCommand("gzip -dc", out->bytes).value_or("?"), body) << level;
    EXPECT_EQ(RunCommand("/usr/bin/python3 -c 'import sys,zlib; "
                         "sys.stdout.buffer.write(zlib.decompress(sys.stdin.buffer.read(), 31))'",
                         out->bytes)
                  .value_or("?"),
              body);
    EXPECT_LT(out->bytes.size(), body.size() / 3);
    EXPECT_EQ(ex.notes["deflate"], absl::StrCat("gzip level ", level, " (isal)"));
    EXPECT_EQ(ex.response_headers.Get("Content-Encoding"), "gzip");
  }
}

TEST(DeflateFilterTest, BackendOptionIsZlibOrIsal) {
  FilterOptions o;
  o.Set("backend", "isal");
  absl::StatusOr<DeflateOptions> isal = DeflateOptions::Table().Parse(o);
  ASSERT_TRUE(isal.ok()) << isal.status();
  EXPECT_EQ(isal->codec.backend, GzipBackend::kIsal);
  FilterOptions none;
  EXPECT_EQ(DeflateOptions::Table().Parse(none).value().codec.backend, GzipBackend::kZlib);
  FilterOptions bad;
  bad.Set("backend", "lz4");
  EXPECT_EQ(DeflateOptions::Table().Parse(bad).status().message(),
            "option backend: unknown gzip backend lz4 (zlib, isal)");
}

TEST(DeflateFilterRequires, OptionsOutOfTheCodecsRangesFailTheCheck) {
#ifdef NDEBUG
  GTEST_SKIP() << "REQUIRES checks are compiled out with NDEBUG";
#endif
  DeflateOptions options;
  options.codec.level = 0;
  EXPECT_DEATH(DeflateFilter filter(options), "REQUIRES failed");
  options.codec.level = 1;
  options.codec.window_bits = 16;
  EXPECT_DEATH(DeflateFilter filter(options), "REQUIRES failed");
}

}  // namespace
}  // namespace brigade::filters
