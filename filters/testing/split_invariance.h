// The split-invariance harness for filter writers: a filter must produce the same output
// however its input is cut into buckets and brigades, and wherever FLUSH falls.
//
// CheckSplitInvariance runs a fresh filter instance per trial:
//   - the reference: the whole input in one bucket, then EOS, in one brigade;
//   - small inputs (up to exhaustive_limit bytes): every way of cutting the input into buckets,
//     once as one brigade and once as one brigade per bucket;
//   - larger inputs: every single cut point (or an even sample of them), then random plans of
//     bucket sizes, brigade boundaries, FLUSH buckets and file buckets.
// A trial passes when its output bytes equal the reference's (or, with a decoder, decode to
// the same bytes: DEFLATE's sync flushes rightly change the encoding) and its metadata buckets
// (FLUSH..., EOS) come out in the order they went in.
//
// Example:
//   absl::Status s = CheckSplitInvariance(
//       [] { return std::make_unique<ReverseFilter>(); }, "one\ntwo\r\nthree");
//   EXPECT_TRUE(s.ok()) << s;

#ifndef FILTERS_TESTING_SPLIT_INVARIANCE_H_
#define FILTERS_TESTING_SPLIT_INVARIANCE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "filters/exchange.h"
#include "filters/filter.h"

namespace brigade::filters::testing {

using OutputFilterFactory = std::function<std::unique_ptr<OutputFilter>()>;
// Turns a filter's output back into comparable bytes (e.g. gunzip).
using Decoder = std::function<absl::StatusOr<std::string>(absl::string_view encoded)>;

struct SplitOptions {
  Decoder decoder;                // when set, outputs are compared after decoding
  size_t exhaustive_limit = 10;   // inputs this short are cut every possible way
  size_t max_single_cuts = 512;   // single cut points tried on longer inputs
  int random_trials = 200;        // random plans on longer inputs
  bool insert_flush = true;       // random plans put FLUSH buckets at random boundaries
  bool use_file_buckets = true;   // random plans turn some pieces into file buckets
  uint64_t seed = 1;
  std::function<void(Exchange&)> setup_exchange;  // prepares each trial's message
};

// One piece of a trial's input, in order.
struct Piece {
  enum class Kind { kData, kFile, kFlush, kEndBrigade };
  Kind kind;
  size_t length = 0;  // kData and kFile
};

// What a trial produced.
struct TrialOutput {
  std::string bytes;
  std::vector<BucketKind> metadata;  // FLUSH/EOS/ERROR buckets in output order
};

// Runs one filter instance over `input` cut as `plan` says (EOS appended), collecting what
// reaches the end of the chain. Errors: the filter's or the chain's Status.
[[nodiscard]] absl::StatusOr<TrialOutput> RunTrial(const OutputFilterFactory& factory,
                                                   absl::string_view input,
                                                   const std::vector<Piece>& plan,
                                                   const SplitOptions& options);

// "3 1 FLUSH 5 | 2F" — a readable form of a plan for failure messages (F = file bucket).
std::string DescribePlan(const std::vector<Piece>& plan);

// OK iff every trial matches the reference; otherwise the first mismatch, with its plan.
[[nodiscard]] absl::Status CheckSplitInvariance(const OutputFilterFactory& factory,
                                                absl::string_view input,
                                                const SplitOptions& options = SplitOptions());

}  // namespace brigade::filters::testing

#endif  // FILTERS_TESTING_SPLIT_INVARIANCE_H_
