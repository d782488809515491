// A kit for benchmarking filter chains with Google Benchmark, beside a memcpy baseline measured
// in the same binary:
//
//   #include "bench/filter_bench.h"
//
//   void BM_MyFilter(benchmark::State& state) {
//     brigade::bench::RunChain(state, [] { return MakeMyFilter(); }, brigade::bench::Text(32 << 20),
//                              {.bucket_size = 64 << 10});
//   }
//   BENCHMARK(BM_MyFilter)->Unit(benchmark::kMillisecond);
//   void BM_Memcpy(benchmark::State& state) {
//     brigade::bench::RunMemcpy(state, brigade::bench::Text(32 << 20), 64 << 10);
//   }
//   BENCHMARK(BM_Memcpy)->Unit(benchmark::kMillisecond);
//   BENCHMARK_MAIN();
//
// Each iteration feeds the input to a fresh chain as buckets of bucket_size bytes — immortal
// memory buckets or ranges of a temporary file — one brigade per bucket, the last with EOS, and
// the chain ends in a sink: kDiscard counts the bytes and drops them, kPipe writes them to a
// pipe that a thread drains — memory with writev, file ranges with splice, as a connection
// takes them — kSocket does the same on a Unix stream socket (file ranges by sendfile), and
// kTcp on a loopback TCP connection whose segments are an Ethernet link's (MSS 1448). A pipe's
// two ends share a mutex that a fast writer and its reader spin on; compare filters whose cost
// is close to nothing on kTcp, as a response goes out, or kSocket, whose time is the copy a
// write makes but which takes writes of a round size faster than others. Reported as
// benchmark counters: bytes/s of input, out_ratio (output/input), and per stream the copy
// accounting — bytes_copied, bytes_shared, bytes_read, blocks_allocated, flattens
// (brigade/copy_stats.h).
//
// Thread-safety: as Google Benchmark runs it (one thread per benchmark unless asked otherwise).

#ifndef BENCH_FILTER_BENCH_H_
#define BENCH_FILTER_BENCH_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "benchmark/benchmark.h"
#include "filters/exchange.h"
#include "filters/filter.h"

namespace brigade::bench {

struct ChainOptions {
  size_t bucket_size = 64 << 10;
  enum class Input { kMemory, kFile } input = Input::kMemory;
  enum class Sink { kDiscard, kPipe, kSocket, kTcp } sink = Sink::kDiscard;
  // Sets up each iteration's request and response (e.g. Accept-Encoding for DEFLATE).
  std::function<void(filters::Exchange&)> setup_exchange = nullptr;
};

// The filters of one chain, in order; made fresh for every iteration.
using ChainFactory = std::function<std::vector<std::unique_ptr<filters::OutputFilter>>()>;
// The factory of a chain of the one filter `make` builds.
ChainFactory ChainOf(std::function<std::unique_ptr<filters::OutputFilter>()> make);

// Runs `input` through the chain `make` builds, once per iteration, and sets the counters
// above. A chain error stops the benchmark with it (SkipWithError).
void RunChain(benchmark::State& state, const ChainFactory& make, absl::string_view input,
              const ChainOptions& options = {});
// The same for a chain of one filter.
void RunChain(benchmark::State& state,
              const std::function<std::unique_ptr<filters::OutputFilter>()>& make,
              absl::string_view input, const ChainOptions& options = {});

// Runs `input` through the chain `make` builds and through the chain `baseline` builds, each
// once per iteration, in alternating order, with the same options. Reports `ratio`: the
// median over the iterations of the baseline's time over the chain's (1.0 when the chain costs
// nothing more; 0.98 when it is 2% slower), and each one's bytes/s (`bytes_per_second` for the
// chain, `baseline_bytes_per_second`). Timed against each other iteration by iteration, a
// drift of the machine moves both sides; use it for a filter meant to be nearly free.
void RunAgainst(benchmark::State& state, const ChainFactory& make, const ChainFactory& baseline,
                absl::string_view input, const ChainOptions& options = {});

// The baseline: copies `input` in pieces of `bucket_size` into a buffer of that size, per
// iteration, reporting bytes/s the same way.
void RunMemcpy(benchmark::State& state, absl::string_view input, size_t bucket_size);

// Deterministic English-like text of `size` bytes (words from a small vocabulary, lines of
// varying length), made once per size.
const std::string& Text(size_t size);

}  // namespace brigade::bench

#endif  // BENCH_FILTER_BENCH_H_
