// Benchmarks of the bucket/brigade data model. Each family has a memcpy baseline in this same
// binary, so results read as ratios on whatever machine runs them:
//   bazel run //bench:brigade_bench -- --benchmark_filter=Handoffs

#include <sys/uio.h>

#include <cstring>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "brigade/brigade.h"

namespace brigade {
namespace {

// Baseline: copying `size` bytes, the cost every zero-copy path below avoids.
void BM_MemcpyBaseline(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  std::string src(size, 'x'), dst(size, '\0');
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), size);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}
BENCHMARK(BM_MemcpyBaseline)->Arg(1)->Arg(16)->Arg(512)->Arg(4096)->Arg(16384)->Arg(65536);

// Append of one immortal bucket (record from the free list) plus its removal.
void BM_BrigadeAppend(benchmark::State& state) {
  Brigade bb;
  static const char kData[] = "immortal";
  for (auto _ : state) {
    bb.Append(Bucket::Immortal(bb.allocator(), kData));
    bb.Delete(bb.front());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_BrigadeAppend);

// Splitting a shared 64 KiB heap bucket into 16 views of 4 KiB (one O(1) copy, 15 O(1) splits,
// 16 frees per iteration).
void BM_BucketSplit(benchmark::State& state) {
  BucketPtr original = Bucket::CopyOf(BucketAllocator::ForThisThread(), std::string(65536, 's'));
  Brigade bb;
  for (auto _ : state) {
    bb.Append(*original->Copy());
    Bucket* b = bb.front();
    for (int i = 0; i < 15; ++i) b = *b->Split(4096);
    benchmark::DoNotOptimize(b);
    bb.Clear();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 15));
}
BENCHMARK(BM_BucketSplit);

// Concat of a 16-bucket brigade onto another and back: two O(1) splices.
void BM_BrigadeConcat(benchmark::State& state) {
  Brigade a, b;
  for (int i = 0; i < 16; ++i) b.Append(Bucket::Immortal(b.allocator(), "x"));
  for (auto _ : state) {
    a.Concat(b);
    b.Concat(a);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 2));
}
BENCHMARK(BM_BrigadeConcat);

// Partition of a 16 x 4 KiB brigade at an offset inside the 9th bucket, then rejoining it.
void BM_BrigadePartition(benchmark::State& state) {
  std::string data(16 * 4096, 'p');
  Brigade bb;
  for (int i = 0; i < 16; ++i) {
    bb.Append(Bucket::Immortal(bb.allocator(), absl::string_view(data).substr(i * 4096, 4096)));
  }
  for (auto _ : state) {
    absl::StatusOr<Brigade> tail = bb.SplitAtOffset(8 * 4096 + 100);
    benchmark::DoNotOptimize(tail);
    bb.Concat(*tail);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_BrigadePartition);

// Export of 64 buckets of `range(0)` bytes as iovecs (what writev is handed).
void BM_BrigadeToIovec(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  std::vector<std::string> pieces(64, std::string(size, 'v'));
  Brigade bb;
  for (const std::string& p : pieces) bb.Append(Bucket::Immortal(bb.allocator(), p));
  iovec iov[64];
  for (auto _ : state) {
    Brigade::IovecExport e = bb.ToIovec(iov, 64);
    benchmark::DoNotOptimize(e);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * 64 * size));
}
BENCHMARK(BM_BrigadeToIovec)->Arg(1)->Arg(4096)->Arg(16384)->Arg(65536);

// The buffered writer at a given write size: small writes are packed (copied) into 8 KiB
// blocks, writes of 512 B and more become transient buckets (shared). The brigade is emptied
// every 1 MiB, as a network filter would after writev.
void BM_WriterWrite(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  std::string data(size, 'w');
  Brigade bb;
  size_t pending = 0;
  for (auto _ : state) {
    absl::Status s = bb.Write(data);
    benchmark::DoNotOptimize(s);
    pending += size;
    if (pending >= (1 << 20)) {
      bb.Clear();
      pending = 0;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}
BENCHMARK(BM_WriterWrite)->Arg(16)->Arg(512)->Arg(65536);

constexpr size_t kStreamBytes = 64 << 20;
constexpr size_t kChunk = 64 << 10;
constexpr int kHandoffs = 8;

// A 64 MiB stream in 64 KiB buckets moved through 8 pass-through stages, each of which takes
// every bucket off its input brigade and appends it to its output, then handed to writev
// preparation. Reports bytes copied per stream (expected 0).
void BM_StreamHandoffs(benchmark::State& state) {
  std::string payload(kStreamBytes, 'd');
  Ref<ExternalData> storage = ExternalData::Create(payload.data(), payload.size(), nullptr);
  BucketAllocator* alloc = BucketAllocator::ForThisThread();
  uint64_t copied = 0;
  for (auto _ : state) {
    CopyStats before = GlobalCopyStats();
    Brigade stage[kHandoffs + 1];
    for (size_t off = 0; off < kStreamBytes; off += kChunk) {
      stage[0].Append(Bucket::External(alloc, storage, off, kChunk));
    }
    for (int i = 0; i < kHandoffs; ++i) {
      while (!stage[i].empty()) stage[i + 1].Append(stage[i].Remove(stage[i].front()));
    }
    iovec iov[64];
    Brigade& out = stage[kHandoffs];
    while (!out.empty()) {
      Brigade::IovecExport e = out.ToIovec(iov, 64);
      benchmark::DoNotOptimize(e);
      absl::StatusOr<Brigade> rest = out.SplitAtOffset(e.bytes);
      out = std::move(*rest);
    }
    copied += GlobalCopyStats().Since(before).bytes_copied;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kStreamBytes));
  state.counters["bytes_copied_per_stream"] =
      static_cast<double>(copied) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_StreamHandoffs)->Unit(benchmark::kMillisecond);

// Baseline: the same 64 MiB through 8 stages that each copy every 64 KiB chunk into their own
// buffer, as a copying pipeline would.
void BM_StreamHandoffsMemcpyBaseline(benchmark::State& state) {
  std::string payload(kStreamBytes, 'd');
  std::vector<std::string> buffers(kHandoffs, std::string(kChunk, '\0'));
  for (auto _ : state) {
    for (size_t off = 0; off < kStreamBytes; off += kChunk) {
      const char* src = payload.data() + off;
      for (int i = 0; i < kHandoffs; ++i) {
        std::memcpy(buffers[i].data(), src, kChunk);
        src = buffers[i].data();
      }
      benchmark::DoNotOptimize(buffers.back().data());
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kStreamBytes));
}
BENCHMARK(BM_StreamHandoffsMemcpyBaseline)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace brigade

BENCHMARK_MAIN();
