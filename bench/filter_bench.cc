#include "bench/filter_bench.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <thread>

#include "brigade/brigade.h"
#include "filters/chain.h"
#include "filters/fd_writer.h"

namespace brigade::bench {
namespace {

using filters::FilterKind;
using filters::Flow;

class Discard : public filters::OutputFilter {
 public:
  Discard() : OutputFilter("DISCARD", FilterKind::kNetwork) {}
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override {
    for (const Bucket& b : bb) bytes_ += b.length();
    bb.Clear();
    return Flow::kDone;
  }
  uint64_t bytes() const { return bytes_; }

 private:
  uint64_t bytes_ = 0;
};

// Stands in for the network: FdWriter (WRITE) on a pipe, a Unix stream socket or loopback TCP
// — writev for memory, splice or sendfile for file ranges, as a connection takes them — drained
// by a thread, so bytes cross into the kernel and back. The TCP connection's MSS is an Ethernet
// link's: at loopback's own (65,483) a write of 64 KiB and a few bytes of framing becomes a
// second segment, which no real link has. A pipe's writer and reader take one mutex, and under
// a fast writer most of the time goes to spinning on it; a socket's sides do not share one.
class FdSink : public filters::OutputFilter {
 public:
  explicit FdSink(ChainOptions::Sink kind)
      : OutputFilter("FD", FilterKind::kNetwork), fds_(Make(kind)), writer_(fds_[1]) {
    drain_ = std::thread([fd = fds_[0]] {
      std::string scratch(1 << 20, '\0');
      while (read(fd, scratch.data(), scratch.size()) > 0) {
      }
    });
  }
  ~FdSink() override {
    close(fds_[1]);  // the drain thread sees EOF
    drain_.join();
    close(fds_[0]);
  }
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override { return writer_.Filter(bb); }
  uint64_t bytes() const { return writer_.written(); }

 private:
  // [0] is read by the drain thread, [1] written.
  static std::array<int, 2> Make(ChainOptions::Sink kind) {
    std::array<int, 2> fds;
    int size = 1 << 20;
    if (kind == ChainOptions::Sink::kSocket) {
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.data()) != 0) abort();
      setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
      setsockopt(fds[0], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    } else if (kind == ChainOptions::Sink::kTcp) {
      fds = TcpPair(size);
    } else {
      if (pipe2(fds.data(), O_CLOEXEC) != 0) abort();
      fcntl(fds[1], F_SETPIPE_SZ, size);
    }
    return fds;
  }

  // A loopback TCP connection whose segments are an Ethernet link's (MSS 1448).
  static std::array<int, 2> TcpPair(int buffer) {
    int mss = 1448;
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener < 0 || client < 0) abort();
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    setsockopt(listener, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof(mss));
    setsockopt(client, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof(mss));
    if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(listener, 1) != 0 ||
        getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
        connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      abort();
    }
    int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (server < 0) abort();
    close(listener);
    setsockopt(server, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof(buffer));
    setsockopt(client, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
    return {client, server};
  }

  std::array<int, 2> fds_;
  filters::FdWriter writer_;
  std::thread drain_;
};

// `input` in a temporary file (unlinked at once), for file-range buckets.
[[nodiscard]] absl::StatusOr<Ref<File>> TempFile(absl::string_view input) {
  char path[] = "/tmp/brigade-bench-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return absl::InternalError("mkstemp failed");
  unlink(path);
  for (size_t off = 0; off < input.size();) {
    ssize_t n = write(fd, input.data() + off, input.size() - off);
    if (n <= 0) {
      close(fd);
      return absl::InternalError("writing the input file failed");
    }
    off += static_cast<size_t>(n);
  }
  return File::Adopt(fd, /*take_ownership=*/true);
}

// One pass of `input` through a chain; the output size.
[[nodiscard]] absl::StatusOr<uint64_t> RunOnce(const ChainFactory& make, absl::string_view input,
                                               const ChainOptions& options, const Ref<File>& file) {
  BucketAllocator* alloc = BucketAllocator::ForThisThread();
  filters::Exchange ex;
  if (options.setup_exchange) options.setup_exchange(ex);
  filters::OutputChain chain(&ex);
  for (std::unique_ptr<filters::OutputFilter>& f : make()) chain.Add(std::move(f));
  Discard* discard = nullptr;
  FdSink* fd = nullptr;
  if (options.sink != ChainOptions::Sink::kDiscard) {
    fd = static_cast<FdSink*>(chain.Add(std::make_unique<FdSink>(options.sink)));
  } else {
    discard = static_cast<Discard*>(chain.Add(std::make_unique<Discard>()));
  }
  size_t step = std::max<size_t>(options.bucket_size, 1);
  Brigade bb(alloc);
  for (size_t off = 0; off < input.size() || off == 0; off += step) {
    size_t n = std::min(step, input.size() - off);
    if (n > 0) {
      if (file) {
        bb.Append(Bucket::FileRange(alloc, file, off, n));
      } else {
        bb.Append(Bucket::Immortal(alloc, input.substr(off, n)));
      }
    }
    if (off + step >= input.size()) bb.Append(Bucket::Eos(alloc));
    absl::StatusOr<Flow> flow = chain.Pass(bb);
    if (!flow.ok()) return flow.status();
    if (input.empty()) break;
  }
  return fd != nullptr ? fd->bytes() : discard->bytes();
}

// For file input, `input` in a temporary file into `*file`; false (the benchmark stopped with
// the error) when it cannot be made.
bool InputFile(benchmark::State& state, absl::string_view input, const ChainOptions& options,
               Ref<File>* file) {
  if (options.input != ChainOptions::Input::kFile) return true;
  absl::StatusOr<Ref<File>> f = TempFile(input);
  if (!f.ok()) {
    state.SkipWithError(std::string(f.status().message()).c_str());
    return false;
  }
  *file = *std::move(f);
  return true;
}

}  // namespace

void RunChain(benchmark::State& state, const ChainFactory& make, absl::string_view input,
              const ChainOptions& options) {
  Ref<File> file;
  if (!InputFile(state, input, options, &file)) return;
  CopyStats before = GlobalCopyStats();
  uint64_t out = 0;
  for (auto _ : state) {
    absl::StatusOr<uint64_t> n = RunOnce(make, input, options, file);
    if (!n.ok()) {
      state.SkipWithError(std::string(n.status().message()).c_str());
      return;
    }
    out = *n;
  }
  CopyStats copies = GlobalCopyStats().Since(before);
  double streams = static_cast<double>(std::max<benchmark::IterationCount>(state.iterations(), 1));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * input.size()));
  state.counters["out_ratio"] =
      input.empty() ? 0 : static_cast<double>(out) / static_cast<double>(input.size());
  state.counters["bytes_copied"] = static_cast<double>(copies.bytes_copied) / streams;
  state.counters["bytes_shared"] = static_cast<double>(copies.bytes_shared) / streams;
  state.counters["bytes_read"] = static_cast<double>(copies.bytes_read) / streams;
  state.counters["blocks_allocated"] = static_cast<double>(copies.blocks_allocated) / streams;
  state.counters["flattens"] = static_cast<double>(copies.flattens) / streams;
}

ChainFactory ChainOf(std::function<std::unique_ptr<filters::OutputFilter>()> make) {
  return [make = std::move(make)] {
    std::vector<std::unique_ptr<filters::OutputFilter>> chain;
    chain.push_back(make());
    return chain;
  };
}

void RunChain(benchmark::State& state,
              const std::function<std::unique_ptr<filters::OutputFilter>()>& make,
              absl::string_view input, const ChainOptions& options) {
  RunChain(state, ChainOf(make), input, options);
}

void RunAgainst(benchmark::State& state, const ChainFactory& make, const ChainFactory& baseline,
                absl::string_view input, const ChainOptions& options) {
  Ref<File> file;
  if (!InputFile(state, input, options, &file)) return;
  using Clock = std::chrono::steady_clock;
  // The time of one pass, or an error.
  auto time = [&](const ChainFactory& chain) -> absl::StatusOr<double> {
    Clock::time_point start = Clock::now();
    absl::StatusOr<uint64_t> n = RunOnce(chain, input, options, file);
    if (!n.ok()) return n.status();
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  std::vector<double> ratios;
  double chain_seconds = 0;
  double baseline_seconds = 0;
  for (auto _ : state) {
    bool baseline_first = ratios.size() % 2 == 1;
    absl::StatusOr<double> first = time(baseline_first ? baseline : make);
    absl::StatusOr<double> second = first.ok() ? time(baseline_first ? make : baseline) : first;
    if (!second.ok()) {
      state.SkipWithError(std::string(second.status().message()).c_str());
      return;
    }
    double t_chain = baseline_first ? *second : *first;
    double t_baseline = baseline_first ? *first : *second;
    chain_seconds += t_chain;
    baseline_seconds += t_baseline;
    ratios.push_back(t_chain > 0 ? t_baseline / t_chain : 0);
  }
  if (ratios.empty()) return;
  std::sort(ratios.begin(), ratios.end());
  size_t mid = ratios.size() / 2;
  state.counters["ratio"] =
      ratios.size() % 2 == 1 ? ratios[mid] : (ratios[mid - 1] + ratios[mid]) / 2;
  double bytes = static_cast<double>(input.size()) * static_cast<double>(ratios.size());
  state.counters["bytes_per_second"] = chain_seconds > 0 ? bytes / chain_seconds : 0;
  state.counters["baseline_bytes_per_second"] =
      baseline_seconds > 0 ? bytes / baseline_seconds : 0;
}

void RunMemcpy(benchmark::State& state, absl::string_view input, size_t bucket_size) {
  size_t step = std::max<size_t>(bucket_size, 1);
  std::string buffer(step, '\0');
  for (auto _ : state) {
    for (size_t off = 0; off < input.size(); off += step) {
      size_t n = std::min(step, input.size() - off);
      memcpy(buffer.data(), input.data() + off, n);
      benchmark::DoNotOptimize(buffer.data());
      benchmark::ClobberMemory();
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * input.size()));
}

const std::string& Text(size_t size) {
  static auto* texts = new std::map<size_t, std::string>();
  auto it = texts->find(size);
  if (it != texts->end()) return it->second;
  static const char* const kWords[] = {"the", "quick", "brown", "fox", "jumps", "over", "lazy",
                                       "dog", "brigade", "bucket", "filter", "stream", "zero",
                                       "copy", "server", "response", "header", "chunk", "gzip"};
  std::string s;
  s.reserve(size + 16);
  uint32_t x = 12345;
  while (s.size() < size) {
    x = x * 1103515245 + 12345;
    s += kWords[(x >> 16) % (sizeof(kWords) / sizeof(kWords[0]))];
    s += ((x >> 8) % 11 == 0) ? '\n' : ' ';
  }
  s.resize(size);
  return texts->emplace(size, std::move(s)).first->second;
}

}  // namespace brigade::bench
