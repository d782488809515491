// Benchmarks of the filter framework and the hook machinery:
//   BM_ChainPassThrough/N   a 64 MiB stream in 64 KiB buckets through N pass-through filters
//                           (the time per bucket and stage grows past ~8 stages: call depth)
//   BM_StreamMemcpyBaseline the same stream copied once per 64 KiB, for the ratio
//   BM_HookDispatch/N       one RUN_ALL phase with N handlers (time per handler)
//   BM_RequestCycle         all request phases with one handler each, one response
//   BM_FilterFromSpec       a DEFLATE instance made from its option strings (parse + make)
//   BM_FilterFromMaker      the same from a maker prepared once (what a request now pays)

#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "benchmark/benchmark.h"
#include "brigade/brigade.h"
#include "builtin/filters/builtin_filters.h"
#include "filters/chain.h"
#include "filters/registry.h"
#include "handlers/hooks.h"
#include "handlers/phases.h"
#include "handlers/request.h"

namespace brigade {
namespace {

using filters::FilterKind;
using filters::Flow;

constexpr size_t kStreamBytes = 64 << 20;
constexpr size_t kChunk = 64 << 10;

// Looks at every bucket (as a filter deciding what to do would), then passes the brigade on.
class PassThrough : public filters::OutputFilter {
 public:
  PassThrough() : OutputFilter("PASS", FilterKind::kContentSet) {}
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override {
    for (const Bucket& b : bb) seen_ += b.length();
    return PassNext(bb);
  }
  uint64_t seen_ = 0;
};

// Stands in for the network: drops what it is given, as writev would have sent it.
class Discard : public filters::OutputFilter {
 public:
  Discard() : OutputFilter("DISCARD", FilterKind::kNetwork) {}
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override {
    bb.Clear();
    return Flow::kDone;
  }
};

void BM_ChainPassThrough(benchmark::State& state) {
  const int filters = static_cast<int>(state.range(0));
  std::string payload(kStreamBytes, 'c');
  Ref<ExternalData> storage = ExternalData::Create(payload.data(), payload.size(), nullptr);
  BucketAllocator* alloc = BucketAllocator::ForThisThread();
  filters::Exchange exchange;
  filters::OutputChain chain(&exchange);
  for (int i = 0; i < filters; ++i) chain.Add(std::make_unique<PassThrough>());
  chain.Add(std::make_unique<Discard>());
  uint64_t copied = 0;
  for (auto _ : state) {
    CopyStats before = GlobalCopyStats();
    Brigade bb(alloc);
    for (size_t off = 0; off < kStreamBytes; off += kChunk) {
      bb.Append(Bucket::External(alloc, storage, off, kChunk));
      absl::StatusOr<Flow> flow = chain.Pass(bb);
      benchmark::DoNotOptimize(flow);
    }
    copied += GlobalCopyStats().Since(before).bytes_copied;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kStreamBytes));
  state.counters["bytes_copied_per_stream"] =
      static_cast<double>(copied) / static_cast<double>(state.iterations());
  // Time per bucket per pass-through stage, the sink and the loop included: the slope between
  // two stage counts is what one more stage costs.
  state.counters["per_bucket_per_stage"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * (kStreamBytes / kChunk) * filters,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ChainPassThrough)
    ->Arg(1)->Arg(2)->Arg(4)->Arg(6)->Arg(8)->Arg(12)->Arg(16)
    ->Unit(benchmark::kMillisecond);

void BM_StreamMemcpyBaseline(benchmark::State& state) {
  std::string payload(kStreamBytes, 'c');
  std::string buffer(kChunk, '\0');
  for (auto _ : state) {
    for (size_t off = 0; off < kStreamBytes; off += kChunk) {
      std::memcpy(buffer.data(), payload.data() + off, kChunk);
      benchmark::DoNotOptimize(buffer.data());
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kStreamBytes));
}
BENCHMARK(BM_StreamMemcpyBaseline)->Unit(benchmark::kMillisecond);

struct Ctx {
  int calls = 0;
};

void BM_HookDispatch(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  handlers::Hook<Ctx> hook(handlers::RunType::kRunAll);
  for (int i = 0; i < n; ++i) {
    hook.Register([](Ctx& c) {
      ++c.calls;
      return handlers::Outcome::Ok();
    });
  }
  Ctx ctx;
  for (auto _ : state) {
    handlers::Outcome o = hook.Run(ctx);
    benchmark::DoNotOptimize(o);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));  // items = handlers
}
BENCHMARK(BM_HookDispatch)->Arg(1)->Arg(4)->Arg(16);

void BM_RequestCycle(benchmark::State& state) {
  handlers::Hooks hooks;
  for (int i = static_cast<int>(handlers::Phase::kPostReadRequest); i < handlers::kPhaseCount;
       ++i) {
    handlers::Phase p = static_cast<handlers::Phase>(i);
    if (p == handlers::Phase::kResponse) continue;
    hooks.request(p).Register([](handlers::Request&) { return handlers::Outcome::Declined(); });
  }
  hooks.request(handlers::Phase::kResponse).Register([](handlers::Request& r) {
    Brigade bb(r.allocator());
    bb.Append(Bucket::Immortal(r.allocator(), "hello\n"));
    bb.Append(Bucket::Eos(r.allocator()));
    return r.Pass(bb).ok() ? handlers::Outcome::Ok() : handlers::Outcome::Status(500);
  });
  handlers::Connection connection;
  connection.output().Add(std::make_unique<Discard>());
  for (auto _ : state) {
    handlers::Request r(&connection);
    handlers::Outcome o = handlers::RunRequestCycle(hooks, r);
    benchmark::DoNotOptimize(o);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_RequestCycle);

const filters::FilterRegistry& Builtins() {
  static const filters::FilterRegistry* r = [] {
    auto* registry = new filters::FilterRegistry();
    if (!filters::RegisterBuiltinFilters(*registry).ok()) abort();
    return registry;
  }();
  return *r;
}

filters::FilterOptions DeflateSpec() {
  return filters::FilterOptions(std::map<std::string, std::string>{
      {"level", "6"}, {"min_length", "20"}, {"types", "text/html;text/plain"}});
}

void BM_FilterFromSpec(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(Builtins().MakeOutput("DEFLATE", DeflateSpec()));
  }
}
BENCHMARK(BM_FilterFromSpec);

void BM_FilterFromMaker(benchmark::State& state) {
  filters::FilterRegistry::OutputMaker make = *Builtins().PrepareOutput("DEFLATE", DeflateSpec());
  for (auto _ : state) benchmark::DoNotOptimize(make());
}
BENCHMARK(BM_FilterFromMaker);

}  // namespace
}  // namespace brigade

BENCHMARK_MAIN();
