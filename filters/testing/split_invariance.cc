#include "filters/testing/split_invariance.h"

#include <unistd.h>

#include <cstdlib>
#include <random>

#include "absl/strings/str_cat.h"
#include "brigade/brigade.h"
#include "filters/chain.h"
#include "filters/core_input.h"

namespace brigade::filters::testing {
namespace {

// The input as a temporary file, for file-bucket pieces; removed when done.
class InputFile {
 public:
  explicit InputFile(absl::string_view input) {
    const char* dir = std::getenv("TEST_TMPDIR");
    path_ = std::string(dir != nullptr ? dir : "/tmp") + "/split_invariance_XXXXXX";
    int fd = mkstemp(path_.data());
    if (fd < 0) return;
    size_t done = 0;
    while (done < input.size()) {
      ssize_t n = write(fd, input.data() + done, input.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    close(fd);
    absl::StatusOr<Ref<File>> f = File::Open(path_);
    if (f.ok() && done == input.size()) file_ = *f;
  }
  ~InputFile() { unlink(path_.c_str()); }
  const Ref<File>& file() const { return file_; }

 private:
  std::string path_;
  Ref<File> file_;
};

std::vector<BucketKind> MetadataOf(const std::vector<Piece>& plan) {
  std::vector<BucketKind> out;
  for (const Piece& p : plan) {
    if (p.kind == Piece::Kind::kFlush) out.push_back(BucketKind::kFlush);
  }
  out.push_back(BucketKind::kEos);
  return out;
}

std::string KindList(const std::vector<BucketKind>& kinds) {
  std::string out;
  for (BucketKind k : kinds) absl::StrAppend(&out, out.empty() ? "" : " ", BucketKindName(k));
  return out;
}

[[nodiscard]] absl::Status Compare(const TrialOutput& want, const TrialOutput& got,
                                   const std::vector<Piece>& plan, const SplitOptions& options) {
  std::string want_bytes = want.bytes, got_bytes = got.bytes;
  if (options.decoder) {
    absl::StatusOr<std::string> w = options.decoder(want.bytes);
    absl::StatusOr<std::string> g = options.decoder(got.bytes);
    if (!w.ok()) return absl::InternalError(absl::StrCat("reference does not decode: ", w.status().message()));
    if (!g.ok()) {
      return absl::InternalError(absl::StrCat("plan [", DescribePlan(plan),
                                              "]: output does not decode: ",
                                              g.status().message()));
    }
    want_bytes = *w;
    got_bytes = *g;
  }
  if (want_bytes != got_bytes) {
    size_t at = 0;
    while (at < want_bytes.size() && at < got_bytes.size() && want_bytes[at] == got_bytes[at]) ++at;
    return absl::InternalError(absl::StrCat(
        "plan [", DescribePlan(plan), "]: output differs at byte ", at, " (got ",
        got_bytes.size(), " bytes, want ", want_bytes.size(), "): got \"",
        absl::string_view(got_bytes).substr(at, 16), "\" want \"",
        absl::string_view(want_bytes).substr(at, 16), "\""));
  }
  std::vector<BucketKind> want_meta = MetadataOf(plan);
  if (got.metadata != want_meta) {
    return absl::InternalError(absl::StrCat("plan [", DescribePlan(plan), "]: metadata came out as [",
                                            KindList(got.metadata), "], went in as [",
                                            KindList(want_meta), "]"));
  }
  return absl::OkStatus();
}

// Every way to cut `n` bytes into buckets: bit i of `mask` set = a cut after byte i+1.
std::vector<Piece> PlanFromMask(size_t n, uint64_t mask, bool brigade_per_bucket) {
  std::vector<Piece> plan;
  size_t start = 0;
  for (size_t i = 1; i <= n; ++i) {
    if (i == n || (mask >> (i - 1)) & 1) {
      plan.push_back({Piece::Kind::kData, i - start});
      if (brigade_per_bucket && i < n) plan.push_back({Piece::Kind::kEndBrigade});
      start = i;
    }
  }
  return plan;
}

std::vector<Piece> RandomPlan(size_t n, std::mt19937_64& rng, const SplitOptions& options) {
  std::vector<Piece> plan;
  auto pick = [&](size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(rng); };
  // Piece sizes from 1 byte up, skewed small so that boundaries fall everywhere.
  size_t max_piece = std::max<size_t>(1, std::min<size_t>(n, pick(1, 4) == 1 ? n : 64));
  size_t done = 0;
  while (done < n) {
    size_t len = std::min(n - done, pick(1, max_piece));
    bool file = options.use_file_buckets && pick(0, 3) == 0;
    plan.push_back({file ? Piece::Kind::kFile : Piece::Kind::kData, len});
    done += len;
    if (options.insert_flush && pick(0, 7) == 0) plan.push_back({Piece::Kind::kFlush});
    if (pick(0, 3) == 0) plan.push_back({Piece::Kind::kEndBrigade});
  }
  return plan;
}

}  // namespace

std::string DescribePlan(const std::vector<Piece>& plan) {
  std::string out;
  for (const Piece& p : plan) {
    if (!out.empty()) out += ' ';
    switch (p.kind) {
      case Piece::Kind::kData:
        absl::StrAppend(&out, p.length);
        break;
      case Piece::Kind::kFile:
        absl::StrAppend(&out, p.length, "F");
        break;
      case Piece::Kind::kFlush:
        out += "FLUSH";
        break;
      case Piece::Kind::kEndBrigade:
        out += "|";
        break;
    }
  }
  return out;
}

[[nodiscard]] absl::StatusOr<TrialOutput> RunTrial(const OutputFilterFactory& factory,
                                                   absl::string_view input,
                                                   const std::vector<Piece>& plan,
                                                   const SplitOptions& options) {
  AllocatorHandle alloc = BucketAllocator::Create({.block_size = 256});
  Exchange exchange;
  if (options.setup_exchange) options.setup_exchange(exchange);
  Brigade collected(alloc.get());
  OutputChain chain(&exchange);
  chain.Add(factory());
  chain.Add(std::make_unique<CollectFilter>(&collected));

  std::unique_ptr<InputFile> file;
  Brigade bb(alloc.get());
  size_t offset = 0;
  for (const Piece& p : plan) {
    switch (p.kind) {
      case Piece::Kind::kData:
        bb.Append(Bucket::Immortal(alloc.get(), input.substr(offset, p.length)));
        offset += p.length;
        break;
      case Piece::Kind::kFile:
        if (file == nullptr) file = std::make_unique<InputFile>(input);
        if (!file->file()) return absl::InternalError("cannot write the input to a temporary file");
        bb.Append(Bucket::FileRange(alloc.get(), file->file(), offset, p.length));
        offset += p.length;
        break;
      case Piece::Kind::kFlush:
        bb.Append(Bucket::Flush(alloc.get()));
        break;
      case Piece::Kind::kEndBrigade: {
        absl::StatusOr<Flow> flow = chain.Pass(bb);
        if (!flow.ok()) return flow.status();
        break;
      }
    }
  }
  bb.Append(Bucket::Eos(alloc.get()));
  absl::StatusOr<Flow> flow = chain.Pass(bb);
  if (!flow.ok()) return flow.status();

  TrialOutput out;
  for (Bucket* b = collected.front(); b != nullptr; b = collected.Next(b)) {
    if (b->is_metadata()) {
      out.metadata.push_back(b->kind());
      continue;
    }
    absl::StatusOr<absl::string_view> data = b->Read();
    if (!data.ok()) return data.status();
    out.bytes.append(data->data(), data->size());
  }
  return out;
}

[[nodiscard]] absl::Status CheckSplitInvariance(const OutputFilterFactory& factory,
                                                absl::string_view input,
                                                const SplitOptions& options) {
  const size_t n = input.size();
  std::vector<Piece> whole = {{Piece::Kind::kData, n}};
  if (n == 0) whole.clear();
  absl::StatusOr<TrialOutput> reference = RunTrial(factory, input, whole, options);
  if (!reference.ok()) {
    return absl::Status(reference.status().code(),
                        absl::StrCat("reference run failed: ", reference.status().message()));
  }
  auto trial = [&](const std::vector<Piece>& plan) -> absl::Status {
    absl::StatusOr<TrialOutput> got = RunTrial(factory, input, plan, options);
    if (!got.ok()) {
      return absl::Status(got.status().code(), absl::StrCat("plan [", DescribePlan(plan),
                                                            "] failed: ", got.status().message()));
    }
    return Compare(*reference, *got, plan, options);
  };

  if (n >= 2 && n <= options.exhaustive_limit) {
    for (uint64_t mask = 0; mask < (uint64_t{1} << (n - 1)); ++mask) {
      for (bool per_bucket : {false, true}) {
        if (absl::Status s = trial(PlanFromMask(n, mask, per_bucket)); !s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }
  if (n >= 2) {
    size_t step = std::max<size_t>(1, (n - 1) / options.max_single_cuts);
    for (size_t cut = 1; cut < n; cut += step) {
      std::vector<Piece> plan = {{Piece::Kind::kData, cut}, {Piece::Kind::kEndBrigade},
                                 {Piece::Kind::kData, n - cut}};
      if (absl::Status s = trial(plan); !s.ok()) return s;
    }
  }
  std::mt19937_64 rng(options.seed);
  for (int i = 0; i < options.random_trials; ++i) {
    if (absl::Status s = trial(RandomPlan(n, rng, options)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace brigade::filters::testing
