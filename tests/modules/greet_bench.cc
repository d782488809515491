// ROT13 through a chain against a plain copy of the same bytes, so the result reads as a ratio.
//   BM_Rot13Chain      64 MiB in 64 KiB buckets through ROT13
//   BM_MemcpyBaseline  the same bytes copied once

#include <cstring>
#include <string>

#include "benchmark/benchmark.h"
#include "brigade/brigade.h"
#include "filters/chain.h"
#include "filters/core_input.h"
#include "module/module.h"

namespace greet {
brigade::modules::Module GreetModule();
namespace {

constexpr size_t kBytes = 64 << 20;
constexpr size_t kBucket = 64 << 10;

void BM_Rot13Chain(benchmark::State& state) {
  brigade::modules::Registries registries;
  if (!brigade::modules::RegisterModules(registries, {GreetModule()}).ok()) abort();
  std::string piece(kBucket, 'n');
  brigade::AllocatorHandle alloc = brigade::BucketAllocator::Create();
  for (auto _ : state) {
    brigade::filters::Exchange ex;
    brigade::Brigade sink(alloc.get());
    brigade::filters::OutputChain chain(&ex);
    chain.Add(*registries.filters.MakeOutput("ROT13", {}));
    chain.Add(std::make_unique<brigade::filters::CollectFilter>(&sink));
    for (size_t sent = 0; sent < kBytes; sent += kBucket) {
      brigade::Brigade bb(alloc.get());
      bb.Append(brigade::Bucket::Immortal(alloc.get(), piece));
      if (!chain.Pass(bb).ok()) abort();
      sink.Clear();
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBytes));
}
BENCHMARK(BM_Rot13Chain)->Unit(benchmark::kMillisecond);

void BM_MemcpyBaseline(benchmark::State& state) {
  std::string piece(kBucket, 'n'), out(kBucket, 0);
  for (auto _ : state) {
    for (size_t sent = 0; sent < kBytes; sent += kBucket) {
      memcpy(out.data(), piece.data(), kBucket);
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBytes));
}
BENCHMARK(BM_MemcpyBaseline)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace greet

BENCHMARK_MAIN();
