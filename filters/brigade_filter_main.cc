// brigade-filter: streams stdin (or --in FILE, read as file buckets) through built-in filters,
// in the order named, to stdout (or --out FILE).
//
//   bazel run //filters:brigade-filter -- DEFLATE:level=9 < in > out.gz
//
// Exit status: 0 on success, 1 when a filter fails (a one-line message on stderr names the
// filter and the byte offset; everything produced before the failure has been written),
// 2 for bad usage.

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/match.h"
#include "brigade/brigade.h"
#include "filters/builtin_filters.h"
#include "filters/chain.h"
#include "filters/core_input.h"
#include "filters/registry.h"

namespace brigade::filters {
namespace {

constexpr char kUsage[] =
    "usage: brigade-filter [--in FILE] [--out FILE] [--bucket=BYTES] [--stats] "
    "FILTER[:key=value,...]...\n";

// The end of the output chain: writes every byte it is passed to a file descriptor.
class WriteFilter : public OutputFilter {
 public:
  explicit WriteFilter(int fd) : OutputFilter("WRITE", FilterKind::kNetwork), fd_(fd) {}
  absl::StatusOr<Flow> Filter(Brigade& bb) override {
    while (!bb.empty()) {
      Bucket* b = bb.front();
      if (b->is_metadata()) {
        bb.Delete(b);
        continue;
      }
      absl::StatusOr<absl::string_view> data = b->Read();
      if (!data.ok()) return data.status();
      if (absl::Status s = WriteAll(*data); !s.ok()) return s;
      bb.Delete(b);
    }
    return Flow::kDone;
  }
  FilterTraits traits() const override { return {.needs_bytes = true}; }
  uint64_t written() const { return written_; }

 private:
  absl::Status WriteAll(absl::string_view data) {
    while (!data.empty()) {
      ssize_t n = write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return internal::ErrnoStatus(errno, "write");
      data.remove_prefix(static_cast<size_t>(n));
      written_ += static_cast<uint64_t>(n);
    }
    return absl::OkStatus();
  }
  int fd_;
  uint64_t written_ = 0;
};

struct Args {
  std::string in_path;
  std::string out_path;
  size_t bucket = 8192;
  bool stats = false;
  std::vector<std::string> specs;
};

void PrintHelp(const FilterRegistry& registry) {
  std::string text = kUsage;
  absl::StrAppend(&text,
                  "\nStreams stdin (or --in FILE, read as file buckets) through the named "
                  "filters in order to stdout (or --out FILE).\n"
                  "  --bucket=BYTES  input bucket size (default 8192)\n"
                  "  --stats         print bytes in/out and copy accounting to stderr\n\n"
                  "Filters:\n");
  for (const FilterInfo* f : registry.List()) {
    absl::StrAppend(&text, "  ", f->name, f->direction == Direction::kInput ? " (input)" : "",
                    " [", FilterKindName(f->kind), "]: ", f->description, "\n");
    for (const OptionDoc& o : f->options) absl::StrAppend(&text, "      ", o.key, ": ", o.help, "\n");
  }
  fputs(text.c_str(), stdout);
}

// Returns 0 to go on, or the exit status.
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

int Run(int argc, char** argv) {
  FilterRegistry registry;
  if (absl::Status s = RegisterBuiltinFilters(registry); !s.ok()) {
    fprintf(stderr, "brigade-filter: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  Args args;
  if (int rc = ParseArgs(argc, argv, registry, args); rc != 0) return rc < 0 ? 0 : rc;

  AllocatorHandle alloc = BucketAllocator::Create({.block_size = args.bucket});
  Exchange exchange;
  // The tool filters a stream, not an HTTP exchange: it accepts gzip so DEFLATE compresses.
  exchange.request_headers.Set("Accept-Encoding", "gzip");
  Exchange conn_exchange;
  OutputChain connection(&conn_exchange);
  InputChain input(&exchange);
  OutputChain output(&exchange, &connection);

  int out_fd = 1;
  if (!args.out_path.empty()) {
    out_fd = open(args.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out_fd < 0) {
      fprintf(stderr, "brigade-filter: --out %s: %s\n", args.out_path.c_str(), strerror(errno));
      return 2;
    }
  }
  auto* writer = static_cast<WriteFilter*>(connection.Add(std::make_unique<WriteFilter>(out_fd)));

  bool input_filters = false;
  bool seen_output = false;
  for (const std::string& text : args.specs) {
    absl::StatusOr<FilterSpec> spec = ParseFilterSpec(text);
    if (!spec.ok()) {
      fprintf(stderr, "brigade-filter: %s\n", std::string(spec.status().message()).c_str());
      return 2;
    }
    absl::Status added;
    if (registry.Find(spec->name, Direction::kOutput) != nullptr) {
      added = registry.AddOutput(output, spec->name, spec->options).status();
      seen_output = true;
    } else if (registry.Find(spec->name, Direction::kInput) != nullptr) {
      if (seen_output) {
        fprintf(stderr, "brigade-filter: input filter %s must come before output filters\n",
                spec->name.c_str());
        return 2;
      }
      added = registry.AddInput(input, spec->name, spec->options).status();
      input_filters = true;
    } else {
      fprintf(stderr, "brigade-filter: no filter named %s (see --help)\n", spec->name.c_str());
      return 2;
    }
    if (!added.ok()) {
      fprintf(stderr, "brigade-filter: %s\n", std::string(added.message()).c_str());
      return 2;
    }
  }

  // The source: stdin as a pipe bucket, or the file as file buckets passed a batch at a time.
  Ref<File> file;
  uint64_t file_size = 0;
  if (!args.in_path.empty()) {
    absl::StatusOr<Ref<File>> f = File::Open(args.in_path);
    absl::StatusOr<uint64_t> size = f.ok() ? (*f)->Size() : f.status();
    if (!size.ok()) {
      fprintf(stderr, "brigade-filter: --in %s\n", std::string(size.status().message()).c_str());
      return 2;
    }
    file = *f;
    file_size = *size;
  }
  uint64_t bytes_in = 0;
  uint64_t file_offset = 0;
  // Fills `bb` with the next stretch of input; appends EOS at the end of input.
  auto next_input = [&](Brigade& bb) -> absl::Status {
    if (input_filters) {
      absl::Status s = input.Read(bb, ReadMode::kReadBytes, BlockMode::kBlock, args.bucket);
      if (s.ok()) bytes_in += bb.Length().value_or(0);
      return s;
    }
    if (file) {
      for (int i = 0; i < 64 && file_offset < file_size; ++i) {
        uint64_t n = std::min<uint64_t>(args.bucket, file_size - file_offset);
        bb.Append(Bucket::FileRange(alloc.get(), file, file_offset, n));
        file_offset += n;
      }
      bytes_in = file_offset;
      if (file_offset == file_size) bb.Append(Bucket::Eos(alloc.get()));
      return absl::OkStatus();
    }
    Brigade src(alloc.get());
    src.Append(Bucket::FromSource(alloc.get(), Source::Adopt(Source::Kind::kPipe, 0, false)));
    absl::StatusOr<absl::string_view> data = src.front()->Read();
    if (!data.ok()) return data.status();
    bytes_in += data->size();
    if (data->empty()) {
      bb.Append(Bucket::Eos(alloc.get()));
    } else {
      bb.Append(src.Remove(src.front()));
    }
    return absl::OkStatus();
  };
  if (input_filters) {
    Brigade src(alloc.get());
    if (file) {
      src.Append(Bucket::FileRange(alloc.get(), file, 0, file_size));
    } else {
      src.Append(Bucket::FromSource(alloc.get(), Source::Adopt(Source::Kind::kPipe, 0, false)));
    }
    input.Add(std::make_unique<CoreInputFilter>(std::move(src)));
  }

  // Taken now: DEFLATE and CONTENT_LENGTH leave the chain as they finish.
  std::string names = absl::StrJoin(output.Names(), ",");
  CopyStats before = GlobalCopyStats();
  int status = 0;
  while (true) {
    Brigade bb(alloc.get());
    absl::Status s = next_input(bb);
    bool eos = s.ok() && bb.ends_with_eos();
    absl::StatusOr<Flow> flow = s.ok() ? output.Pass(bb) : absl::StatusOr<Flow>(s);
    if (!flow.ok()) {
      fprintf(stderr, "brigade-filter: %s (after %llu input bytes)\n",
              std::string(flow.status().message()).c_str(),
              static_cast<unsigned long long>(bytes_in));
      status = 1;
      break;
    }
    if (eos) break;
  }
  if (args.stats) {
    CopyStats d = GlobalCopyStats().Since(before);
    fprintf(stderr, "brigade-filter: filters=%s bytes_in=%llu bytes_out=%llu %s\n",
            names.c_str(), static_cast<unsigned long long>(bytes_in),
            static_cast<unsigned long long>(writer->written()), d.DebugString().c_str());
  }
  if (out_fd != 1) close(out_fd);
  return status;
}

}  // namespace
}  // namespace brigade::filters

int main(int argc, char** argv) { return brigade::filters::Run(argc, argv); }
