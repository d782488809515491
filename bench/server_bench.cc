// The server's cost per request, in process: a real Server (one worker, the built-in modules)
// on loopback, and one keep-alive client fetching a 1 KiB file over and over. Besides req/s it
// reports the heap allocations per request (every operator new in the process, the server's
// and the client's, which makes none) and the user CPU time per request (the client's is
// mostly system time), the figures the request path is held to.

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <new>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "builtin/modules.h"
#include "server/server.h"
#include "tests/integration/loopback.h"

namespace {

std::atomic<uint64_t> allocations{0};

}  // namespace

// Counted replacements of the global allocation functions (the sized and aligned forms fall
// back to these).
void* operator new(size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// GCC takes these for a free() of memory from new; here they are new's own counterpart.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace brigade::server {
namespace {

constexpr size_t kBody = 1024;

class StaticServer {
 public:
  StaticServer() {
    root_ = absl::StrCat(testing_tmp(), "/server_bench_root");
    mkdir(root_.c_str(), 0755);
    std::ofstream(root_ + "/1k.txt") << std::string(kBody, 'b');
    // A path past std::string's 15 inline bytes, as most sites' are.
    mkdir((root_ + "/static").c_str(), 0755);
    mkdir((root_ + "/static/assets").c_str(), 0755);
    std::ofstream(root_ + "/static/assets/page-1k.txt") << std::string(kBody, 'b');
    ServerConfig config;
    config.listens = {{"127.0.0.1", 0, "http"}};
    config.workers = 1;
    config.max_keepalive_requests = 0;
    config.document_root = root_;
    if (!builtin::RegisterBuiltins(registries_).ok()) std::abort();
    absl::StatusOr<std::unique_ptr<Server>> server = Server::Create(config, registries_);
    if (!server.ok()) std::abort();
    server_ = *std::move(server);
    port_ = server_->bound()[0].port;
    thread_ = std::thread([this] { (void)server_->Run(); });  // Run's Status: Stop ends it
  }
  ~StaticServer() {
    server_->Stop();
    thread_.join();
  }
  int port() const { return port_; }

 private:
  static std::string testing_tmp() {
    const char* dir = std::getenv("TEST_TMPDIR");
    return dir != nullptr ? dir : "/tmp";
  }
  std::string root_;
  modules::Registries registries_;  // outlives server_
  std::unique_ptr<Server> server_;
  std::thread thread_;
  int port_ = 0;
};

// User CPU time of the whole process: the server's, and the client's, which spends its time
// in the kernel.
double UserSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec) + static_cast<double>(u.ru_utime.tv_usec) * 1e-6;
}

// One response: reads until the head and a body of kBody bytes have come. False when the
// connection ended first.
bool ReadResponse(int fd, std::string& buf) {
  buf.clear();
  char chunk[4096];
  while (true) {
    size_t head = buf.find("\r\n\r\n");
    if (head != std::string::npos && buf.size() >= head + 4 + kBody) return true;
    ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buf.append(chunk, static_cast<size_t>(n));
  }
}

// Keep-alive GETs of `path`, a 1 KiB file.
void RunStatic(benchmark::State& state, const std::string& path) {
  StaticServer server;
  int fd = test::ConnectLoopback(server.port(), [](int) {});
  if (fd < 0) {
    state.SkipWithError("cannot connect");
    return;
  }
  const std::string kRequest = absl::StrCat(
      "GET ", path,
      " HTTP/1.1\r\nHost: localhost\r\nUser-Agent: server_bench\r\nAccept: */*\r\n\r\n");
  std::string buf;
  buf.reserve(8192);
  for (int i = 0; i < 100; ++i) {  // warm: the open-file cache, the allocator's free lists
    if (send(fd, kRequest.data(), kRequest.size(), MSG_NOSIGNAL) < 0 || !ReadResponse(fd, buf)) {
      state.SkipWithError("warm-up request failed");
      close(fd);
      return;
    }
  }
  uint64_t before = allocations.load();
  double user_before = UserSeconds();
  for (auto _ : state) {
    if (send(fd, kRequest.data(), kRequest.size(), MSG_NOSIGNAL) < 0 || !ReadResponse(fd, buf)) {
      state.SkipWithError("request failed");
      break;
    }
  }
  uint64_t made = allocations.load() - before;
  double user = UserSeconds() - user_before;
  close(fd);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  double requests = static_cast<double>(std::max<int64_t>(state.iterations(), 1));
  state.counters["allocs_per_request"] = static_cast<double>(made) / requests;
  state.counters["user_us_per_request"] = user * 1e6 / requests;
}

void BM_Static1KiBKeepAlive(benchmark::State& state) { RunStatic(state, "/1k.txt"); }
BENCHMARK(BM_Static1KiBKeepAlive)->UseRealTime();

void BM_Static1KiBLongPathKeepAlive(benchmark::State& state) {
  RunStatic(state, "/static/assets/page-1k.txt");
}
BENCHMARK(BM_Static1KiBLongPathKeepAlive)->UseRealTime();

}  // namespace
}  // namespace brigade::server

BENCHMARK_MAIN();
