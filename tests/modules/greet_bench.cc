// ROT13 through a chain against a plain copy of the same bytes, so the result reads as a ratio;
// both run on the benchmark kit (bench/filter_bench.h).
//   BM_Rot13Chain      32 MiB of text in 64 KiB buckets through ROT13 (with copy counters)
//   BM_MemcpyBaseline  the same bytes copied in the same pieces

#include "bench/filter_bench.h"
#include "benchmark/benchmark.h"
#include "module/module.h"

namespace greet {
brigade::modules::Module GreetModule();
namespace {

constexpr size_t kBytes = 32 << 20;
constexpr size_t kBucket = 64 << 10;

void BM_Rot13Chain(benchmark::State& state) {
  brigade::modules::Registries registries;
  if (!brigade::modules::RegisterModules(registries, {GreetModule()}).ok()) abort();
  brigade::bench::RunChain(
      state, [&registries] { return *registries.filters.MakeOutput("ROT13", {}); },
      brigade::bench::Text(kBytes), {.bucket_size = kBucket});
}
BENCHMARK(BM_Rot13Chain)->Unit(benchmark::kMillisecond);

void BM_MemcpyBaseline(benchmark::State& state) {
  brigade::bench::RunMemcpy(state, brigade::bench::Text(kBytes), kBucket);
}
BENCHMARK(BM_MemcpyBaseline)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace greet

BENCHMARK_MAIN();
