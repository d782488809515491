// The benchmark kit measured against what its counters must say: benchmarks registered here run
// through Google Benchmark's own runner, a reporter collects their counters.

#include "bench/filter_bench.h"

#include <map>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "brigade/brigade.h"
#include "builtin/filters/chunk_filter.h"
#include "builtin/filters/deflate_filter.h"
#include "gtest/gtest.h"

namespace brigade::bench {
namespace {

class Collect : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      auto& counters = results[r.benchmark_name()];
      for (const auto& [name, c] : r.counters) counters[name] = c.value;
      if (r.error_occurred) errors[r.benchmark_name()] = r.error_message;
    }
  }
  std::map<std::string, std::map<std::string, double>> results;
  std::map<std::string, std::string> errors;
};

// Copies memory: a filter that flattens each brigade into one owned bucket.
class Gather : public filters::OutputFilter {
 public:
  Gather() : OutputFilter("GATHER", filters::FilterKind::kContentSet) {}
  [[nodiscard]] absl::StatusOr<filters::Flow> Filter(Brigade& bb) override {
    bool eos = bb.ends_with_eos();
    absl::StatusOr<std::string> all = bb.FlattenToString(1 << 20);
    if (!all.ok()) return all.status();
    Brigade out(bb.allocator());
    if (!out.WriteOwned(*std::move(all)).ok()) return absl::InternalError("write");
    if (eos) out.Append(Bucket::Eos(bb.allocator()));
    bb.Clear();
    return PassNext(out);
  }
};

class FilterBenchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string& text = Text(1 << 20);
    benchmark::RegisterBenchmark("pass/memory", [&text](benchmark::State& s) {
      RunChain(s, [] { return std::make_unique<filters::ChunkFilter>(); }, text,
               {.bucket_size = 4096, .sink = ChainOptions::Sink::kPipe});
    })->Iterations(3);
    benchmark::RegisterBenchmark("pass/file/pipe", [&text](benchmark::State& s) {
      RunChain(s, [] { return std::make_unique<filters::ChunkFilter>(); }, text,
               {.bucket_size = 65536,
                .input = ChainOptions::Input::kFile,
                .sink = ChainOptions::Sink::kPipe});
    })->Iterations(2);
    benchmark::RegisterBenchmark("pass/file/socket", [&text](benchmark::State& s) {
      RunChain(s, [] { return std::make_unique<filters::ChunkFilter>(); }, text,
               {.bucket_size = 65536,
                .input = ChainOptions::Input::kFile,
                .sink = ChainOptions::Sink::kSocket});
    })->Iterations(2);
    benchmark::RegisterBenchmark("pass/file/tcp", [&text](benchmark::State& s) {
      RunChain(s, [] { return std::make_unique<filters::ChunkFilter>(); }, text,
               {.bucket_size = 65536,
                .input = ChainOptions::Input::kFile,
                .sink = ChainOptions::Sink::kTcp});
    })->Iterations(2);
    benchmark::RegisterBenchmark("pass/memory/tcp", [&text](benchmark::State& s) {
      RunChain(s, [] { return std::make_unique<filters::ChunkFilter>(); }, text,
               {.bucket_size = 4096, .sink = ChainOptions::Sink::kTcp});
    })->Iterations(2);
    benchmark::RegisterBenchmark("gather", [&text](benchmark::State& s) {
      RunChain(s, [] { return std::make_unique<Gather>(); }, text, {.bucket_size = 4096});
    })->Iterations(2);
    benchmark::RegisterBenchmark("deflate", [&text](benchmark::State& s) {
      RunChain(
          s, [] { return std::move(*filters::DeflateFilter::Create({})); }, text,
          {.setup_exchange = [](filters::Exchange& ex) {
             ex.request_headers.Set("Accept-Encoding", "gzip");
           }});
    })->Iterations(1);
    ChainFactory chunk = ChainOf([] { return std::make_unique<filters::ChunkFilter>(); });
    auto deflate = [] {
      std::vector<std::unique_ptr<filters::OutputFilter>> chain;
      filters::DeflateOptions o;
      o.codec.level = 9;
      chain.push_back(std::move(*filters::DeflateFilter::Create(o)));
      chain.push_back(std::make_unique<filters::ChunkFilter>());
      return chain;
    };
    ChainFactory failing = ChainOf([] {  // Gather refuses a brigade over 1 MiB
      return std::make_unique<Gather>();
    });
    benchmark::RegisterBenchmark("against", [&text, chunk, deflate](benchmark::State& s) {
      RunAgainst(s, deflate, chunk, text,
                 {.bucket_size = 4096, .setup_exchange = [](filters::Exchange& ex) {
                    ex.request_headers.Set("Accept-Encoding", "gzip");
                  }});
    })->Iterations(5);
    benchmark::RegisterBenchmark("against/error", [chunk, failing](benchmark::State& s) {
      static const std::string* big = new std::string(3 << 20, 'x');
      RunAgainst(s, chunk, failing, *big, {.bucket_size = 2 << 20});
    })->Iterations(2);
    benchmark::RegisterBenchmark("memcpy", [&text](benchmark::State& s) {
      RunMemcpy(s, text, 65536);
    })->Iterations(2);
    benchmark::RunSpecifiedBenchmarks(&reporter_);
  }
  static Collect reporter_;
};

Collect FilterBenchTest::reporter_;

TEST_F(FilterBenchTest, MemoryBucketsThroughChunkAreSharedNotCopied) {
  const auto& c = reporter_.results.at("pass/memory/iterations:3");
  // 256 chunks of 4 KiB: each one's size line ("1000" CRLF) and the last chunk are written;
  // the data goes to writev as views of the input.
  EXPECT_EQ(c.at("bytes_copied"), 256 * 6 + 5);
  EXPECT_GE(c.at("bytes_shared"), 1 << 20);
  EXPECT_GT(c.at("out_ratio"), 1.0);
  EXPECT_GT(c.at("bytes_per_second"), 0);
}

TEST_F(FilterBenchTest, FileRangesReachThePipeWithoutBeingRead) {
  const auto& c = reporter_.results.at("pass/file/pipe/iterations:2");
  EXPECT_EQ(reporter_.errors.count("pass/file/pipe/iterations:2"), 0u);
  EXPECT_EQ(c.at("bytes_read"), 0);
  EXPECT_NEAR(c.at("out_ratio"), 1.0, 0.001);
}

TEST_F(FilterBenchTest, FileRangesReachTheSocketWithoutBeingRead) {
  EXPECT_EQ(reporter_.errors.count("pass/file/socket/iterations:2"), 0u);
  const auto& c = reporter_.results.at("pass/file/socket/iterations:2");
  EXPECT_EQ(c.at("bytes_read"), 0);
  EXPECT_NEAR(c.at("out_ratio"), 1.0, 0.001);
}

TEST_F(FilterBenchTest, FileRangesReachTcpWithoutBeingRead) {
  EXPECT_EQ(reporter_.errors.count("pass/file/tcp/iterations:2"), 0u);
  const auto& c = reporter_.results.at("pass/file/tcp/iterations:2");
  EXPECT_EQ(c.at("bytes_read"), 0);
  EXPECT_NEAR(c.at("out_ratio"), 1.0, 0.001);
}

TEST_F(FilterBenchTest, MemoryBucketsReachTcpWithTheirFraming) {
  EXPECT_EQ(reporter_.errors.count("pass/memory/tcp/iterations:2"), 0u);
  const auto& c = reporter_.results.at("pass/memory/tcp/iterations:2");
  // Every byte of the 256 chunks and their framing was written: 1 MiB, 256 size lines of 6
  // bytes, 256 CRLFs and the last chunk.
  EXPECT_DOUBLE_EQ(c.at("out_ratio"), static_cast<double>((1 << 20) + 256 * 8 + 5) / (1 << 20));
  EXPECT_EQ(c.at("bytes_copied"), 256 * 6 + 5);
}

TEST_F(FilterBenchTest, AFilterThatGathersShowsItsCopies) {
  const auto& c = reporter_.results.at("gather/iterations:2");
  EXPECT_GE(c.at("bytes_copied"), 1 << 20);
  EXPECT_GE(c.at("flattens"), 256);
  EXPECT_DOUBLE_EQ(c.at("out_ratio"), 1.0);
}

TEST_F(FilterBenchTest, DeflateCompressesWithTheExchangeSetUp) {
  const auto& c = reporter_.results.at("deflate/iterations:1");
  EXPECT_GT(c.at("out_ratio"), 0.05);
  EXPECT_LT(c.at("out_ratio"), 0.5);
}

TEST_F(FilterBenchTest, AgainstReportsBothSidesAndTheirRatio) {
  EXPECT_EQ(reporter_.errors.count("against/iterations:5"), 0u);
  const auto& c = reporter_.results.at("against/iterations:5");
  EXPECT_GT(c.at("bytes_per_second"), 0);
  EXPECT_GT(c.at("baseline_bytes_per_second"), 0);
  // Compressing at level 9 costs tens of times what chunking alone does: the ratio is the
  // baseline's time over the chain's, far below 1, and consistent with the two bytes/s.
  EXPECT_GT(c.at("ratio"), 0);
  EXPECT_LT(c.at("ratio"), 0.5);
  EXPECT_LT(c.at("bytes_per_second"), c.at("baseline_bytes_per_second"));
}

TEST_F(FilterBenchTest, AgainstStopsWithTheErrorOfEitherSide) {
  ASSERT_EQ(reporter_.errors.count("against/error/iterations:2"), 1u);
  EXPECT_NE(reporter_.errors.at("against/error/iterations:2").find("1048576"), std::string::npos)
      << reporter_.errors.at("against/error/iterations:2");
}

TEST_F(FilterBenchTest, MemcpyBaselineReportsBytesPerSecond) {
  EXPECT_GT(reporter_.results.at("memcpy/iterations:2").at("bytes_per_second"), 0);
}

}  // namespace
}  // namespace brigade::bench
