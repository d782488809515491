// Benchmarks of the built-in filters against baselines measured in this same binary:
//   BM_DeflateFilter/level:L/isal:B/text:T  ~32 MiB of text through DEFLATE at level L, in
//                        64 KiB buckets, on zlib (B = 0) or ISA-L (B = 1); "ratio" is
//                        compressed/input. Text T = 0: random draws from 19 words (the text the
//                        other benchmarks use); T = 1: English prose, the licence texts every
//                        Debian system has (/usr/share/common-licenses), repeated
//   BM_RawZlibDeflate/level:L/text:T  the same text through zlib's deflate directly (same
//                        8 KiB output buffer, same gzip wrapper): the ceiling for the zlib
//                        filter, and the baseline ISA-L's speed and ratio are read against
//   BM_InflateFilter/isal:B  the level-6 gzip of that text through INFLATE (output form)
//   BM_RawZlibInflate    the same gzip through zlib's inflate directly
//   BM_ChunkFilter       64 MiB in 64 KiB buckets through CHUNK into a pipe (writev, drained);
//                        counts bytes copied
//   BM_PassThrough       the same stream through a filter that only passes it on
//   BM_ChunkAgainstPassThrough  both, alternately, iteration by iteration, into a Unix
//                        socket: "ratio" is pass-through's time over CHUNK's, the median over
//                        the iterations
//   BM_ChunkAgainstPassThroughTcp  the same into loopback TCP with an Ethernet MSS, as a
//                        response goes out
//   BM_ReverseFilter     ~32 MiB of text through REVERSE
//   BM_Memcpy            the 32 MiB text copied in 64 KiB pieces: memory speed on this machine
// All but the raw zlib baselines run on the benchmark kit (bench/filter_bench.h), whose
// counters give each stream's copy accounting.

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "bench/filter_bench.h"
#include "benchmark/benchmark.h"
#include "brigade/brigade.h"
#include "builtin/filters/chunk_filter.h"
#include "builtin/filters/deflate_filter.h"
#include "builtin/filters/inflate_filter.h"
#include "builtin/filters/reverse_filter.h"

namespace brigade {
namespace {

using filters::FilterKind;
using filters::Flow;

constexpr size_t kChunk = 64 << 10;
constexpr size_t kTextSize = 32 << 20;

const std::string& Text() { return bench::Text(kTextSize); }

// The 19-word text has a small vocabulary drawn at random, which favours a compressor that
// searches harder for short matches; prose has the repeats of real documents.
const std::string* Prose() {
  static const std::string* prose = [] {
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/usr/share/common-licenses", ec)) {
      // GPL, LGPL and the like are links to a versioned file that is read anyway.
      if (e.is_regular_file() && !e.is_symlink()) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    std::string corpus;
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      corpus.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    if (corpus.empty()) return static_cast<std::string*>(nullptr);
    auto* out = new std::string();
    out->reserve(kTextSize);
    while (out->size() < kTextSize) {
      out->append(corpus, 0, std::min(corpus.size(), kTextSize - out->size()));
    }
    return out;
  }();
  return prose;
}

// The text benchmark `state` asks for by its argument `arg`; null (and the benchmark skipped)
// when the licence texts are missing.
const std::string* TextFor(benchmark::State& state, int arg) {
  if (state.range(arg) == 0) return &Text();
  const std::string* prose = Prose();
  if (prose == nullptr) state.SkipWithError("no licence texts in /usr/share/common-licenses");
  return prose;
}

class PassThrough : public filters::OutputFilter {
 public:
  PassThrough() : OutputFilter("PASS", FilterKind::kTranscode) {}
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override { return PassNext(bb); }
};

filters::GzipBackend Backend(int64_t isal) {
  return isal != 0 ? filters::GzipBackend::kIsal : filters::GzipBackend::kZlib;
}

void BM_DeflateFilter(benchmark::State& state) {
  filters::DeflateOptions o;
  o.codec.level = static_cast<int>(state.range(0));
  o.codec.backend = Backend(state.range(1));
  const std::string* text = TextFor(state, 2);
  if (text == nullptr) return;
  bench::RunChain(
      state, [&o] { return std::move(*filters::DeflateFilter::Create(o)); }, *text,
      {.bucket_size = kChunk, .setup_exchange = [](filters::Exchange& ex) {
         ex.request_headers.Set("Accept-Encoding", "gzip");
       }});
}
BENCHMARK(BM_DeflateFilter)
    ->ArgNames({"level", "isal", "text"})
    ->ArgsProduct({{1, 6}, {0, 1}, {0, 1}})
    ->Args({3, 1, 0})
    ->Args({3, 1, 1})
    ->Unit(benchmark::kMillisecond);

void BM_RawZlibDeflate(benchmark::State& state) {
  const std::string* prose_or_words = TextFor(state, 1);
  if (prose_or_words == nullptr) return;
  const std::string& text = *prose_or_words;
  std::string out(8192, '\0');
  uint64_t total = 0;
  for (auto _ : state) {
    z_stream s{};
    deflateInit2(&s, static_cast<int>(state.range(0)), Z_DEFLATED, 15 + 16, 8,
                 Z_DEFAULT_STRATEGY);
    total = 0;
    for (size_t off = 0; off < text.size(); off += kChunk) {
      size_t n = std::min(kChunk, text.size() - off);
      s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data() + off));
      s.avail_in = static_cast<uInt>(n);
      int flush = off + n == text.size() ? Z_FINISH : Z_NO_FLUSH;
      int rc;
      do {
        s.next_out = reinterpret_cast<Bytef*>(out.data());
        s.avail_out = static_cast<uInt>(out.size());
        rc = deflate(&s, flush);
        total += out.size() - s.avail_out;
        benchmark::DoNotOptimize(out.data());
      } while (s.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
    }
    deflateEnd(&s);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["out_ratio"] = static_cast<double>(total) / static_cast<double>(text.size());
}
BENCHMARK(BM_RawZlibDeflate)
    ->ArgNames({"level", "text"})
    ->ArgsProduct({{1, 6}, {0, 1}})
    ->Unit(benchmark::kMillisecond);

// The level-6 gzip of Text(), made once.
const std::string& Gzipped() {
  static const std::string* gz = [] {
    const std::string& text = Text();
    auto* out = new std::string(text.size() / 2, '\0');
    z_stream s{};
    deflateInit2(&s, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    s.avail_in = static_cast<uInt>(text.size());
    s.next_out = reinterpret_cast<Bytef*>(out->data());
    s.avail_out = static_cast<uInt>(out->size());
    if (deflate(&s, Z_FINISH) != Z_STREAM_END) abort();
    out->resize(s.total_out);
    deflateEnd(&s);
    return out;
  }();
  return *gz;
}

void BM_InflateFilter(benchmark::State& state) {
  filters::InflateOptions o;
  o.codec.backend = Backend(state.range(0));
  bench::RunChain(
      state, [&o] { return std::make_unique<filters::InflateOutputFilter>(o); }, Gzipped(),
      {.bucket_size = kChunk});
  // Read against the decoded size, as the raw zlib baseline is.
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * Text().size()));
}
BENCHMARK(BM_InflateFilter)->ArgName("isal")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_RawZlibInflate(benchmark::State& state) {
  const std::string& gz = Gzipped();
  std::string out(8192, '\0');
  uint64_t total = 0;
  for (auto _ : state) {
    z_stream s{};
    inflateInit2(&s, 15 + 16);
    total = 0;
    int rc = Z_OK;
    for (size_t off = 0; off < gz.size() && rc != Z_STREAM_END; off += kChunk) {
      size_t n = std::min(kChunk, gz.size() - off);
      s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data() + off));
      s.avail_in = static_cast<uInt>(n);
      do {
        s.next_out = reinterpret_cast<Bytef*>(out.data());
        s.avail_out = static_cast<uInt>(out.size());
        rc = inflate(&s, Z_NO_FLUSH);
        total += out.size() - s.avail_out;
        benchmark::DoNotOptimize(out.data());
      } while (s.avail_out == 0 && rc == Z_OK);
    }
    inflateEnd(&s);
  }
  if (total != Text().size()) state.SkipWithError("zlib did not give the text back");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * Text().size()));
}
BENCHMARK(BM_RawZlibInflate)->Unit(benchmark::kMillisecond);

void BM_ChunkFilter(benchmark::State& state) {
  static const std::string* data = new std::string(64 << 20, 'c');
  bench::RunChain(state, [] { return std::make_unique<filters::ChunkFilter>(); }, *data,
                  {.bucket_size = kChunk, .sink = bench::ChainOptions::Sink::kPipe});
}
BENCHMARK(BM_ChunkFilter)->Unit(benchmark::kMillisecond);

void BM_PassThrough(benchmark::State& state) {
  static const std::string* data = new std::string(64 << 20, 'c');
  bench::RunChain(state, [] { return std::make_unique<PassThrough>(); }, *data,
                  {.bucket_size = kChunk, .sink = bench::ChainOptions::Sink::kPipe});
}
BENCHMARK(BM_PassThrough)->Unit(benchmark::kMillisecond);

// The two benchmarks above run one after the other, so a drift of the shared machine between
// them shows as a difference; here each iteration times both. One iteration's ratio ranges
// over 0.7-1.5 on this shared machine; the median of 300 moves by about 1%.
void ChunkAgainstPassThrough(benchmark::State& state, bench::ChainOptions::Sink sink) {
  static const std::string* data = new std::string(64 << 20, 'c');
  bench::RunAgainst(state, bench::ChainOf([] { return std::make_unique<filters::ChunkFilter>(); }),
                    bench::ChainOf([] { return std::make_unique<PassThrough>(); }), *data,
                    {.bucket_size = kChunk, .sink = sink});
}
void BM_ChunkAgainstPassThrough(benchmark::State& state) {
  ChunkAgainstPassThrough(state, bench::ChainOptions::Sink::kSocket);
}
BENCHMARK(BM_ChunkAgainstPassThrough)->Unit(benchmark::kMillisecond)->Iterations(300);

void BM_ChunkAgainstPassThroughTcp(benchmark::State& state) {
  ChunkAgainstPassThrough(state, bench::ChainOptions::Sink::kTcp);
}
BENCHMARK(BM_ChunkAgainstPassThroughTcp)->Unit(benchmark::kMillisecond)->Iterations(300);

void BM_ReverseFilter(benchmark::State& state) {
  bench::RunChain(state, [] { return std::make_unique<filters::ReverseFilter>(); }, Text(),
                  {.bucket_size = kChunk});
}
BENCHMARK(BM_ReverseFilter)->Unit(benchmark::kMillisecond);

void BM_Memcpy(benchmark::State& state) { bench::RunMemcpy(state, Text(), kChunk); }
BENCHMARK(BM_Memcpy)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace brigade

BENCHMARK_MAIN();
