// Benchmarks of the built-in filters against baselines measured in this same binary:
//   BM_DeflateFilter/level:L/isal:B  ~32 MiB of text through DEFLATE at level L, in 64 KiB
//                        buckets, on zlib (B = 0) or ISA-L (B = 1); "ratio" is compressed/input
//   BM_RawZlibDeflate/L  the same text through zlib's deflate directly (same 8 KiB output
//                        buffer, same gzip wrapper): the ceiling for the zlib filter, and the
//                        baseline ISA-L's speed is read against
//   BM_InflateFilter/isal:B  the level-6 gzip of that text through INFLATE (output form)
//   BM_RawZlibInflate    the same gzip through zlib's inflate directly
//   BM_ChunkFilter       64 MiB in 64 KiB buckets through CHUNK into a pipe (writev, drained);
//                        counts bytes copied
//   BM_PassThrough       the same stream through a filter that only passes it on
//   BM_ReverseFilter     ~32 MiB of text through REVERSE

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <string>

#include "benchmark/benchmark.h"
#include "brigade/brigade.h"
#include "filters/chain.h"
#include "builtin/filters/chunk_filter.h"
#include "builtin/filters/deflate_filter.h"
#include "builtin/filters/inflate_filter.h"
#include "builtin/filters/reverse_filter.h"

namespace brigade {
namespace {

using filters::FilterKind;
using filters::Flow;

constexpr size_t kChunk = 64 << 10;

// Deterministic English-like text: words from a small vocabulary, lines of varying length.
const std::string& Text() {
  static const std::string* text = [] {
    static const char* const kWords[] = {"the", "quick", "brown", "fox", "jumps", "over", "lazy",
                                         "dog", "brigade", "bucket", "filter", "stream", "zero",
                                         "copy", "server", "response", "header", "chunk", "gzip"};
    auto* s = new std::string();
    s->reserve(32 << 20);
    uint32_t x = 12345;
    while (s->size() < (32u << 20)) {
      x = x * 1103515245 + 12345;
      *s += kWords[(x >> 16) % (sizeof(kWords) / sizeof(kWords[0]))];
      *s += ((x >> 8) % 11 == 0) ? '\n' : ' ';
    }
    return s;
  }();
  return *text;
}

class Discard : public filters::OutputFilter {
 public:
  Discard() : OutputFilter("DISCARD", FilterKind::kNetwork) {}
  absl::StatusOr<Flow> Filter(Brigade& bb) override {
    for (const Bucket& b : bb) bytes_ += b.length();
    bb.Clear();
    return Flow::kDone;
  }
  uint64_t bytes_ = 0;
};

// Stands in for the network: hands the brigade's iovecs to writev on a pipe and drains it, so
// bytes cross into the kernel and back as they would on a connection. A pipe rather than
// loopback TCP: TCP's segmentation at exactly 64 KiB turns 9 bytes of chunk framing into a
// second segment per write, an artifact no real link (MSS ~1460) has.
class PipeSink : public filters::OutputFilter {
 public:
  PipeSink() : OutputFilter("PIPE", FilterKind::kNetwork) {
    if (pipe(fds_) != 0) abort();
    fcntl(fds_[1], F_SETPIPE_SZ, 1 << 20);
    scratch_.resize(1 << 20);
  }
  ~PipeSink() override {
    close(fds_[0]);
    close(fds_[1]);
  }
  absl::StatusOr<Flow> Filter(Brigade& bb) override {
    while (true) {
      iovec iov[64];
      Brigade::IovecExport e = bb.ToIovec(iov, 64);
      if (e.count == 0) break;
      ssize_t n = writev(fds_[1], iov, static_cast<int>(e.count));
      if (n != static_cast<ssize_t>(e.bytes)) abort();
      for (ssize_t got = 0; got < n;) got += read(fds_[0], scratch_.data(), scratch_.size());
      absl::StatusOr<Brigade> rest = bb.SplitAtOffset(e.bytes);
      bb = std::move(*rest);
      if (e.stop == nullptr) break;
    }
    bb.Clear();
    return Flow::kDone;
  }

 private:
  int fds_[2];
  std::string scratch_;
};

class PassThrough : public filters::OutputFilter {
 public:
  PassThrough() : OutputFilter("PASS", FilterKind::kTranscode) {}
  absl::StatusOr<Flow> Filter(Brigade& bb) override { return PassNext(bb); }
};

// Streams `data` in 64 KiB immortal buckets through `filter`, one brigade per bucket.
// Returns the output size.
uint64_t Stream(std::unique_ptr<filters::OutputFilter> filter, filters::Exchange& ex,
                absl::string_view data, bool to_pipe = false) {
  BucketAllocator* alloc = BucketAllocator::ForThisThread();
  filters::OutputChain chain(&ex);
  chain.Add(std::move(filter));
  Discard* sink = nullptr;
  if (to_pipe) {
    chain.Add(std::make_unique<PipeSink>());
  } else {
    sink = static_cast<Discard*>(chain.Add(std::make_unique<Discard>()));
  }
  Brigade bb(alloc);
  for (size_t off = 0; off < data.size(); off += kChunk) {
    bb.Append(Bucket::Immortal(alloc, data.substr(off, kChunk)));
    if (off + kChunk >= data.size()) bb.Append(Bucket::Eos(alloc));
    absl::StatusOr<Flow> flow = chain.Pass(bb);
    if (!flow.ok()) abort();
  }
  return sink != nullptr ? sink->bytes_ : data.size();
}

void BM_DeflateFilter(benchmark::State& state) {
  const std::string& text = Text();
  uint64_t out = 0;
  for (auto _ : state) {
    filters::DeflateOptions o;
    o.codec.level = static_cast<int>(state.range(0));
    o.codec.backend = state.range(1) != 0 ? filters::GzipBackend::kIsal : filters::GzipBackend::kZlib;
    filters::Exchange ex;
    ex.request_headers.Set("Accept-Encoding", "gzip");
    out = Stream(std::move(*filters::DeflateFilter::Create(o)), ex, text);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["ratio"] = static_cast<double>(out) / static_cast<double>(text.size());
}
BENCHMARK(BM_DeflateFilter)
    ->ArgNames({"level", "isal"})
    ->Args({1, 0})
    ->Args({6, 0})
    ->Args({1, 1})
    ->Args({6, 1})
    ->Unit(benchmark::kMillisecond);

void BM_RawZlibDeflate(benchmark::State& state) {
  const std::string& text = Text();
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
  state.counters["ratio"] = static_cast<double>(total) / static_cast<double>(text.size());
}
BENCHMARK(BM_RawZlibDeflate)->Arg(1)->Arg(6)->Unit(benchmark::kMillisecond);

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
  const std::string& gz = Gzipped();
  uint64_t out = 0;
  for (auto _ : state) {
    filters::InflateOptions o;
    o.codec.backend = state.range(0) != 0 ? filters::GzipBackend::kIsal : filters::GzipBackend::kZlib;
    filters::Exchange ex;
    out = Stream(std::make_unique<filters::InflateOutputFilter>(o), ex, gz);
  }
  if (out != Text().size()) state.SkipWithError("INFLATE did not give the text back");
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
  std::string data(64 << 20, 'c');
  uint64_t copied = 0;
  for (auto _ : state) {
    CopyStats before = GlobalCopyStats();
    filters::Exchange ex;
    benchmark::DoNotOptimize(Stream(std::make_unique<filters::ChunkFilter>(), ex, data, true));
    copied += GlobalCopyStats().Since(before).bytes_copied;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  // Bytes copied per stream: the size lines and last chunk only (1024 chunks).
  state.counters["bytes_copied_per_stream"] =
      static_cast<double>(copied) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_ChunkFilter)->Unit(benchmark::kMillisecond);

void BM_PassThrough(benchmark::State& state) {
  std::string data(64 << 20, 'c');
  for (auto _ : state) {
    filters::Exchange ex;
    benchmark::DoNotOptimize(Stream(std::make_unique<PassThrough>(), ex, data, true));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_PassThrough)->Unit(benchmark::kMillisecond);

void BM_ReverseFilter(benchmark::State& state) {
  const std::string& text = Text();
  for (auto _ : state) {
    filters::Exchange ex;
    benchmark::DoNotOptimize(Stream(std::make_unique<filters::ReverseFilter>(), ex, text));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ReverseFilter)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace brigade

BENCHMARK_MAIN();
