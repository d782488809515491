#include "filters/brigade_filter_tool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "brigade/brigade.h"
#include "filters/chain.h"
#include "filters/fd_writer.h"
#include "filters/input_stage.h"
#include "filters/registry.h"

namespace brigade::filters {
namespace {

constexpr char kUsage[] =
    "usage: brigade-filter [--in FILE] [--out FILE] [--bucket=BYTES] [--stats] [--report] "
    "FILTER[:key=value,...]...\n";

// Options that differ from a server's in a tool: gzip(1) compresses every input, even an
// empty one, so DEFLATE here has no minimum length.
struct ToolDefault {
  const char* filter;
  const char* key;
  const char* value;
};
constexpr ToolDefault kToolDefaults[] = {{"DEFLATE", "min_length", "0"}};

// File input goes down the chain this many bytes per pass: in ranges of 64 buckets when a filter
// reads the bytes, and in ranges of 1 GiB when none does (a range costs no memory), so a copy
// takes as few kernel calls as cp's one copy_file_range for the whole file.
constexpr size_t kBucketsPerPass = 64;
constexpr uint64_t kZeroCopyPass = uint64_t{1} << 30;

struct Args {
  std::string in_path;
  std::string out_path;
  size_t bucket = 8192;
  bool stats = false;
  bool report = false;
  std::vector<std::string> specs;
};

void PrintHelp(const FilterRegistry& registry) {
  std::string text = kUsage;
  absl::StrAppend(
      &text,
      "\nStreams stdin (or --in FILE, read as file ranges) through the named filters, exactly in "
      "the order named, to stdout (or --out FILE). An input filter named here decodes the "
      "stream at its place: DEFLATE CHUNK DECHUNK INFLATE gives back its input. (A server's "
      "chains order filters by kind instead.)\n"
      "  --bucket=BYTES  input bucket size (default 8192)\n"
      "  --stats         print bytes in/out and copy accounting to stderr\n"
      "  --report        print the chain's pipeline report and exit without reading input\n"
      "When no filter needs bytes in memory, --in FILE goes to the output without entering user "
      "space (copy_file_range, splice or sendfile).\n");
  for (const ToolDefault& d : kToolDefaults) {
    absl::StrAppend(&text, "Here ", d.filter, "'s ", d.key, " defaults to ", d.value,
                    ", as gzip(1) compresses any input.\n");
  }
  absl::StrAppend(&text, "\nFilters:\n");
  for (const FilterInfo* f : registry.List()) {
    absl::StrAppend(&text, "  ", f->name, f->direction == Direction::kInput ? " (input)" : "",
                    " [", FilterKindName(f->kind), "]: ", f->description, "\n");
    for (const OptionDoc& o : f->options) absl::StrAppend(&text, "      ", o.key, ": ", o.help, "\n");
  }
  fputs(text.c_str(), stdout);
}

// Returns 0 to go on, -1 to exit 0, or the exit status.
int ParseArgs(int argc, char** argv, const FilterRegistry& registry, Args& args) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const std::string& flag) -> std::optional<std::string> {
      if (a == flag && i + 1 < argc) return std::string(argv[++i]);
      if (absl::StartsWith(a, flag + "=")) return a.substr(flag.size() + 1);
      return std::nullopt;
    };
    if (a == "--help" || a == "-h") {
      PrintHelp(registry);
      return -1;
    } else if (a == "--stats") {
      args.stats = true;
    } else if (a == "--report") {
      args.report = true;
    } else if (std::optional<std::string> v = value("--in")) {
      args.in_path = *v;
    } else if (std::optional<std::string> v = value("--out")) {
      args.out_path = *v;
    } else if (std::optional<std::string> v = value("--bucket")) {
      if (!absl::SimpleAtoi(*v, &args.bucket) || args.bucket == 0 || args.bucket > (64 << 20)) {
        fprintf(stderr, "brigade-filter: --bucket=%s: expected 1 to 67108864 bytes\n", v->c_str());
        return 2;
      }
    } else if (absl::StartsWith(a, "-")) {
      fprintf(stderr, "brigade-filter: unknown flag %s\n%s", a.c_str(), kUsage);
      return 2;
    } else {
      args.specs.push_back(a);
    }
  }
  return 0;
}

// One named filter as a stage: an output filter, or an input filter run by an InputStage.
struct Stage {
  std::unique_ptr<OutputFilter> filter;
  bool input = false;
};

// Returns the stages in the order named, or the exit status on a bad spec.
std::optional<std::vector<Stage>> MakeStages(const Args& args, const FilterRegistry& registry,
                                             int* status) {
  std::vector<Stage> stages;
  for (const std::string& text : args.specs) {
    absl::StatusOr<FilterSpec> spec = ParseFilterSpec(text);
    if (!spec.ok()) {
      fprintf(stderr, "brigade-filter: %s\n", std::string(spec.status().message()).c_str());
      *status = 2;
      return std::nullopt;
    }
    for (const ToolDefault& d : kToolDefaults) {
      if (spec->name == d.filter) spec->options.SetDefault(d.key, d.value);
    }
    Stage stage;
    absl::Status made;
    if (registry.Find(spec->name, Direction::kOutput) != nullptr) {
      absl::StatusOr<std::unique_ptr<OutputFilter>> f = registry.MakeOutput(spec->name, spec->options);
      made = f.status();
      if (f.ok()) stage.filter = *std::move(f);
    } else if (registry.Find(spec->name, Direction::kInput) != nullptr) {
      absl::StatusOr<std::unique_ptr<InputFilter>> f = registry.MakeInput(spec->name, spec->options);
      made = f.status();
      if (f.ok()) stage.filter = std::make_unique<InputStage>(*std::move(f), args.bucket);
      stage.input = true;
    } else {
      made = absl::NotFoundError(absl::StrCat("no filter named ", spec->name, " (see --help)"));
    }
    if (!made.ok()) {
      fprintf(stderr, "brigade-filter: %s\n", std::string(made.message()).c_str());
      *status = 2;
      return std::nullopt;
    }
    stages.push_back(std::move(stage));
  }
  return stages;
}

PipelineReport ReportOf(const std::vector<Stage>& stages) {
  PipelineReport report;
  for (const Stage& s : stages) {
    report.Add({s.filter->name(), s.filter->kind(), s.filter->traits(), s.input, ""});
  }
  return report;
}

// The input: a regular file (--in, or stdin when it is one) as file ranges; anything else (a
// pipe, a terminal, a FIFO named by --in) as a source read as it comes.
class Input {
 public:
  // Errors: --in cannot be opened or sized.
  [[nodiscard]] absl::Status Open(const std::string& path) {
    if (!path.empty()) {
      absl::StatusOr<Ref<File>> f = File::Open(path);
      if (!f.ok()) return f.status();
      opened_ = *f;
      stream_fd_ = opened_->fd();
    }
    struct stat st;
    if (fstat(stream_fd_, &st) != 0) return internal::ErrnoStatus(errno, "fstat");
    if (!S_ISREG(st.st_mode)) return absl::OkStatus();
    off_t at = path.empty() ? lseek(0, 0, SEEK_CUR) : 0;
    file_ = path.empty() ? File::Adopt(0, false) : opened_;
    offset_ = at > 0 ? static_cast<uint64_t>(at) : 0;
    end_ = static_cast<uint64_t>(st.st_size);
    if (end_ < offset_) end_ = offset_;
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    // Read once, front to back: the kernel may read ahead further (as cp and cat ask too).
    (void)posix_fadvise(file_->fd(), 0, 0, POSIX_FADV_SEQUENTIAL);  // a hint; may fail harmlessly
    return absl::OkStatus();
  }

  // Fills `bb` with the next stretch of at most `pass` bytes; appends EOS at the end of input.
  [[nodiscard]] absl::Status Next(Brigade& bb, uint64_t pass) {
    BucketAllocator* alloc = bb.allocator();
    if (file_) {
      uint64_t n = std::min<uint64_t>(pass, end_ - offset_);
      if (n > 0) bb.Append(Bucket::FileRange(alloc, file_, offset_, n));
      offset_ += n;
      bytes_ += n;
      if (offset_ == end_) bb.Append(Bucket::Eos(alloc));
      return absl::OkStatus();
    }
    Brigade src(alloc);
    src.Append(Bucket::FromSource(alloc, Source::Adopt(Source::Kind::kPipe, stream_fd_, false)));
    absl::StatusOr<absl::string_view> data = src.front()->Read();
    if (!data.ok()) return data.status();
    bytes_ += data->size();
    if (data->empty()) {
      bb.Append(Bucket::Eos(alloc));
    } else {
      bb.Append(src.Remove(src.front()));
    }
    return absl::OkStatus();
  }

  uint64_t bytes() const { return bytes_; }
  // True iff `st` describes the input (a regular file).
  bool Is(const struct stat& st) const { return file_ && st.st_dev == dev_ && st.st_ino == ino_; }

 private:
  Ref<File> opened_;  // --in, whatever its type
  int stream_fd_ = 0;
  Ref<File> file_;    // set iff the input is a regular file
  uint64_t offset_ = 0;
  uint64_t end_ = 0;
  uint64_t bytes_ = 0;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

}  // namespace

int RunBrigadeFilter(int argc, char** argv, const FilterRegistry& registry) {
  Args args;
  if (int rc = ParseArgs(argc, argv, registry, args); rc != 0) return rc < 0 ? 0 : rc;
  int status = 0;
  std::optional<std::vector<Stage>> stages = MakeStages(args, registry, &status);
  if (!stages.has_value()) return status;
  PipelineReport report = ReportOf(*stages);
  if (args.report) {
    fputs(report.Format().c_str(), stdout);
    return 0;
  }

  Input input;
  if (absl::Status s = input.Open(args.in_path); !s.ok()) {
    fprintf(stderr, "brigade-filter: --in %s: %s\n", args.in_path.c_str(),
            std::string(s.message()).c_str());
    return 2;
  }
  int out_fd = 1;
  if (!args.out_path.empty()) {
    // Truncating the input would lose it: refuse, as cp does.
    struct stat out_st;
    if (stat(args.out_path.c_str(), &out_st) == 0 && input.Is(out_st)) {
      fprintf(stderr, "brigade-filter: --out %s is the input file\n", args.out_path.c_str());
      return 2;
    }
    out_fd = open(args.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out_fd < 0) {
      fprintf(stderr, "brigade-filter: --out %s: %s\n", args.out_path.c_str(), strerror(errno));
      return 2;
    }
  }

  // One chain per stage, each with its own message, the stream running from one into the next
  // and last into the writer's.
  std::string names;
  for (const Stage& s : *stages) absl::StrAppend(&names, s.filter->name(), ",");
  absl::StrAppend(&names, "WRITE");
  std::deque<Exchange> exchanges(stages->size() + 1);
  std::deque<OutputChain> chains;
  chains.emplace_front(&exchanges.back(), nullptr, ChainOrder::kAsAdded);
  auto* writer = static_cast<FdWriter*>(chains.front().Add(std::make_unique<FdWriter>(out_fd)));
  for (size_t i = stages->size(); i-- > 0;) {
    Exchange& ex = exchanges[i];
    // The tool filters a stream, not an HTTP exchange: it accepts gzip so DEFLATE compresses.
    ex.request_headers.Set("Accept-Encoding", "gzip");
    chains.emplace_front(&ex, &chains.front(), ChainOrder::kAsAdded);
    chains.front().Add(std::move((*stages)[i].filter));
  }

  AllocatorHandle alloc = BucketAllocator::Create({.block_size = args.bucket});
  uint64_t pass = report.zero_copy ? kZeroCopyPass : args.bucket * kBucketsPerPass;
  CopyStats before = GlobalCopyStats();
  while (true) {
    Brigade bb(alloc.get());
    absl::Status s = input.Next(bb, pass);
    bool eos = s.ok() && bb.ends_with_eos();
    absl::StatusOr<Flow> flow = s.ok() ? chains.front().Pass(bb) : absl::StatusOr<Flow>(s);
    if (flow.ok() && eos && !writer->saw_eos()) {
      flow = absl::InternalError("the chain ended without passing the end of the stream on");
    }
    if (!flow.ok()) {
      fprintf(stderr, "brigade-filter: %s (after %llu input bytes)\n",
              std::string(flow.status().message()).c_str(),
              static_cast<unsigned long long>(input.bytes()));
      status = 1;
      break;
    }
    if (eos) break;
  }
  if (args.stats) {
    CopyStats d = GlobalCopyStats().Since(before);
    fprintf(stderr, "brigade-filter: filters=%s bytes_in=%llu bytes_out=%llu zero_copy_out=%llu %s\n",
            names.c_str(), static_cast<unsigned long long>(input.bytes()),
            static_cast<unsigned long long>(writer->written()),
            static_cast<unsigned long long>(writer->zero_copy_bytes()), d.DebugString().c_str());
  }
  if (out_fd != 1) close(out_fd);
  return status;
}

}  // namespace brigade::filters
