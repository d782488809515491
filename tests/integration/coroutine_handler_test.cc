// A real Server on loopback, in this process, with coroutine response handlers registered as a
// user would: a handler that streams 1 GiB holds bounded memory and no worker while its client
// does not read, and cleanups it pushes run FIFO after the response's last byte has left.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/integration/loopback.h"
#include "filters/filter.h"
#include "filters/registry.h"
#include "handlers/blocking.h"
#include "handlers/request.h"
#include "handlers/task.h"
#include "builtin/modules.h"
#include "server/server.h"

namespace brigade::server {
namespace {

using handlers::Outcome;
using handlers::Phase;
using handlers::Request;
using handlers::Task;
using Clock = std::chrono::steady_clock;

constexpr size_t kPiece = 64 * 1024;
const std::string& Piece() {
  static const std::string* piece = new std::string(kPiece, 'z');
  return *piece;
}

// Streams `total` bytes in 64 KiB pieces of one shared buffer, waiting whenever the chain
// answers kAgain.
Task<Outcome> Stream(Request& r, uint64_t total) {
  r.response_headers.Set("Content-Type", "application/octet-stream");
  r.response_headers.Set("Content-Length", std::to_string(total));
  for (uint64_t sent = 0; sent < total; sent += kPiece) {
    Brigade bb(r.allocator());
    bb.Append(Bucket::Immortal(r.allocator(), Piece()));
    if (absl::Status s = co_await r.Send(bb); !s.ok()) co_return Outcome::Status(500);
  }
  co_return Outcome::Ok();
}

// A filter with a bug: it passes the first 64 KiB of the body on (with a FLUSH, so that they
// leave), then fails the stream: with an error Status, or by throwing.
class MidwayFilter : public filters::OutputFilter {
 public:
  explicit MidwayFilter(bool throws)
      : OutputFilter(throws ? "THROW_MIDWAY" : "FAIL_MIDWAY", filters::FilterKind::kResource),
        throws_(throws) {}
  [[nodiscard]] absl::StatusOr<filters::Flow> Filter(Brigade& bb) override {
    absl::StatusOr<Brigade> rest = bb.SplitAtOffset(kPiece);
    if (!rest.ok()) return rest.status();
    bb.Append(Bucket::Flush(bb.allocator()));
    if (absl::StatusOr<filters::Flow> f = PassNext(bb); !f.ok()) return f;
    rest->Clear();
    if (throws_) throw std::logic_error("midway");
    return absl::DataLossError("midway");
  }

 private:
  bool throws_;
};

int64_t RssKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return 0;
}

int Connect(int port) {
  return test::ConnectLoopback(port, [](int fd) {
    int small = 64 * 1024;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  });
}

void SendAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// Reads until the peer closes or `deadline`; returns the bytes read (counted, not kept).
uint64_t Drain(int fd, Clock::time_point deadline, std::string* head = nullptr) {
  uint64_t total = 0;
  char buf[1 << 16];
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    if (head != nullptr && head->size() < 4096) head->append(buf, static_cast<size_t>(n));
    total += static_cast<uint64_t>(n);
  }
  return total;
}

// Waits (at most 10 s) until the server has filled `fd`'s receive buffer: what waits to be read
// stops growing between two looks 20 ms apart.
void WaitFilled(int fd) {
  int queued = -1;
  for (Clock::time_point end = Clock::now() + std::chrono::seconds(10); Clock::now() < end;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    int now = 0;
    ioctl(fd, FIONREAD, &now);
    if (now > 0 && now == queued) return;
    queued = now;
  }
}

// The time a fresh connection's GET of /index.html took to be answered completely.
double TimedGet(int port, int* status) {
  Clock::time_point start = Clock::now();
  int fd = Connect(port);
  SendAll(fd, "GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string head;
  Drain(fd, start + std::chrono::seconds(10), &head);
  close(fd);
  *status = head.size() > 12 ? std::stoi(head.substr(9, 3)) : 0;
  return std::chrono::duration<double>(Clock::now() - start).count();
}

class CoroutineHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = ::testing::TempDir() + "/coroutine_root";
    mkdir(root_.c_str(), 0755);
    std::ofstream(root_ + "/index.html") << "<p>index</p>\n";
    ServerConfig config;
    config.listens = {{"127.0.0.1", 0, "http"}};
    config.workers = 1;
    config.timeout_s = 20;
    config.document_root = root_;
    LocationConfig stream;
    stream.prefix = "/gigabyte";
    stream.handlers = {{Phase::kResponse, "gigabyte"}};
    LocationConfig cleanups;
    cleanups.prefix = "/cleanups";
    cleanups.handlers = {{Phase::kResponse, "cleanups"}};
    LocationConfig legacy_location;
    legacy_location.prefix = "/legacy";
    legacy_location.handlers = {{Phase::kResponse, "legacy"}};
    std::vector<LocationConfig> throwing;
    for (const char* name : {"throw", "throw-late", "throw-blocking", "fail-late"}) {
      LocationConfig l;
      l.prefix = absl::StrCat("/", name);
      l.handlers = {{Phase::kResponse, name}};
      throwing.push_back(l);
    }
    config.locations = {stream,      cleanups,    legacy_location, throwing[0],
                        throwing[1], throwing[2], throwing[3]};
    for (const char* name : {"FAIL_MIDWAY", "THROW_MIDWAY"}) {
      LocationConfig l;
      l.prefix = name[0] == 'F' ? "/fail.bin" : "/throw.bin";
      l.output_filters = {name};
      config.locations.push_back(l);
      std::ofstream(root_ + l.prefix) << std::string(1 << 20, 'f');
    }
    ASSERT_TRUE(builtin::RegisterBuiltins(registries_).ok());
    for (bool throws : {false, true}) {
      filters::FilterInfo info{.name = throws ? "THROW_MIDWAY" : "FAIL_MIDWAY"};
      ASSERT_TRUE(registries_.filters
                      .RegisterOutput(info,
                                      [throws](filters::FilterOptions&) {
                                        return filters::FilterRegistry::OutputMaker([throws] {
                                          return std::make_unique<MidwayFilter>(throws);
                                        });
                                      })
                      .ok());
    }
    handlers::NamedHandlers& named = registries_.handlers;
    ASSERT_TRUE(named
                    .Add(Phase::kResponse, "gigabyte",
                         handlers::Coroutine<Request>([](Request& r) { return Stream(r, 1ull << 30); }))
                    .ok());
    auto with_cleanups = handlers::Coroutine<Request>([this](Request& r) -> Task<Outcome> {
      auto push = [this, &r](std::string name) {
        r.PushHandler(Phase::kCleanup, [this, name](Request& req) {
          Record(name + " " + req.uri);
          return Outcome::Ok();
        });
      };
      push("A");
      push("B");
      Outcome o = co_await Stream(r, 24ull << 20);
      push("C");
      push("A");
      co_return o;
    });
    ASSERT_TRUE(named.Add(Phase::kResponse, "cleanups", with_cleanups).ok());
    // Blocking style on the server's pool (found through the request's server): it sleeps,
    // then echoes the body.
    auto legacy = handlers::Blocking([](handlers::BlockingRequest& br) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      std::string body;
      for (absl::StatusOr<std::string> piece = br.ReadBody(4096); piece.ok() && !piece->empty();
           piece = br.ReadBody(4096)) {
        body += *piece;
      }
      br.response_headers.Set("Content-Length", std::to_string(body.size()));
      return br.Write(body).ok() ? Outcome::Ok() : Outcome::Status(500);
    });
    ASSERT_TRUE(named.Add(Phase::kResponse, "legacy", legacy).ok());
    // Handlers with a bug: they throw, before the response (plain), after its head and part of
    // its body went out (coroutine, resumed), and on the pool (blocking).
    auto cleanup = [this](Request& r) {
      r.PushHandler(Phase::kCleanup, [this](Request& req) {
        Record("cleanup " + req.uri);
        return Outcome::Ok();
      });
    };
    ASSERT_TRUE(named
                    .Add(Phase::kResponse, "throw",
                         [cleanup](Request& r) -> Outcome {
                           cleanup(r);
                           throw std::runtime_error("boom");
                         })
                    .ok());
    ASSERT_TRUE(named
                    .Add(Phase::kResponse, "throw-late",
                         handlers::Coroutine<Request>([cleanup](Request& r) -> Task<Outcome> {
                           cleanup(r);
                           r.response_headers.Set("Content-Length", std::to_string(16 << 20));
                           // 8 MiB: more than the socket buffers hold while the client waits,
                           // so the coroutine parks and throws after it was resumed.
                           for (int i = 0; i < 128; ++i) {
                             Brigade bb(r.allocator());
                             bb.Append(Bucket::Immortal(r.allocator(), Piece()));
                             if (!(co_await r.Send(bb)).ok()) co_return Outcome::Status(500);
                           }
                           throw std::out_of_range("late boom");
                         }))
                    .ok());
    // Fails (returns 500) after its head and part of its body went out.
    ASSERT_TRUE(named
                    .Add(Phase::kResponse, "fail-late",
                         [cleanup](Request& r) -> Outcome {
                           cleanup(r);
                           r.response_headers.Set("Content-Length", std::to_string(1 << 20));
                           Brigade bb(r.allocator());
                           bb.Append(Bucket::Immortal(r.allocator(), Piece()));
                           bb.Append(Bucket::Flush(r.allocator()));
                           if (!r.Pass(bb).ok()) return Outcome::Status(500);
                           return Outcome::Status(500);
                         })
                    .ok());
    ASSERT_TRUE(named
                    .Add(Phase::kResponse, "throw-blocking",
                         handlers::Blocking([](handlers::BlockingRequest&) -> Outcome {
                           throw 42;  // not even a std::exception
                         }))
                    .ok());
    registries_.hooks.request(Phase::kLog).Register([this](Request& r) {
      if (r.handler == "cleanups") Record("log " + r.uri);
      if (absl::StartsWith(r.handler, "throw") || r.handler == "fail-late" ||
          absl::EndsWith(r.uri, ".bin")) {
        Record(absl::StrCat("log ", r.uri, " ", r.status, r.aborted ? " cut" : ""));
      }
      return Outcome::Ok();
    });
    absl::StatusOr<std::unique_ptr<Server>> server = Server::Create(config, registries_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    port_ = server_->bound()[0].port;
    thread_ = std::thread([this] { EXPECT_TRUE(server_->Run().ok()); });
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
  }
  void Record(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu_);
    ran_.push_back(what);
  }
  std::vector<std::string> Ran() {
    std::lock_guard<std::mutex> lock(mu_);
    return ran_;
  }

  std::string root_;
  modules::Registries registries_;  // outlives server_
  std::unique_ptr<Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;  // the log and cleanup handlers run on the worker thread
  std::vector<std::string> ran_;
};

TEST_F(CoroutineHandlerTest, AGigabyteToAClientThatDoesNotReadHoldsNeitherMemoryNorTheWorker) {
  int64_t before = RssKb();
  int a = Connect(port_);
  ASSERT_GE(a, 0);
  SendAll(a, "GET /gigabyte HTTP/1.1\r\nHost: x\r\n\r\n");
  // Read a little, then stop: the handler must park instead of producing on.
  uint64_t got = Drain(a, Clock::now() + std::chrono::milliseconds(300));
  EXPECT_GT(got, 0u);
  for (int i = 0; i < 5; ++i) {
    int status = 0;
    double seconds = TimedGet(port_, &status);
    EXPECT_EQ(status, 200);
    EXPECT_LT(seconds, 1.0);
  }
  int64_t grown = RssKb() - before;
  EXPECT_LT(grown, 16 * 1024) << "grew by " << grown << " KiB";
  close(a);
}

TEST_F(CoroutineHandlerTest, CleanupsPushedByTheHandlerRunFifoAfterTheLastByteLeft) {
  int a = Connect(port_);
  ASSERT_GE(a, 0);
  SendAll(a, "GET /cleanups/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  char first[4096];
  uint64_t got = static_cast<uint64_t>(std::max<ssize_t>(0, recv(a, first, sizeof(first), 0)));
  // Not reading now: the socket fills and the handler parks, with the response under way.
  WaitFilled(a);
  EXPECT_TRUE(Ran().empty()) << "nothing runs while the response is still going out";
  got += Drain(a, Clock::now() + std::chrono::seconds(60));
  close(a);
  EXPECT_GT(got, uint64_t{24} << 20);
  std::vector<std::string> want = {"log /cleanups/x", "A /cleanups/x", "B /cleanups/x",
                                   "C /cleanups/x", "A /cleanups/x"};
  for (int i = 0; i < 500 && Ran().size() < want.size(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Ran(), want);
}

TEST_F(CoroutineHandlerTest, ABlockingHandlerRunsOnThePoolWhileTheWorkerServesOthers) {
  int a = Connect(port_);
  ASSERT_GE(a, 0);
  Clock::time_point start = Clock::now();
  SendAll(a, "POST /legacy HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n"
             "Connection: close\r\n\r\nhello, pool");
  int status = 0;
  EXPECT_LT(TimedGet(port_, &status), 1.0) << "the worker is not the one sleeping";
  EXPECT_EQ(status, 200);
  std::string response;
  Drain(a, start + std::chrono::seconds(20), &response);
  close(a);
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(1500));
  EXPECT_EQ(response.substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_EQ(response.substr(response.size() - 11), "hello, pool");
}

// A handler that throws is a bug in that handler: it costs its own request (a 500 before the
// response began, a cut connection after), its log line and cleanups still run once, and the
// worker goes on serving. A handler that fails after its head went out, and an output filter
// that fails or throws midway, are cut the same way.
TEST_F(CoroutineHandlerTest, AHandlerThatThrowsCostsOnlyItsOwnRequest) {
  Clock::time_point deadline = Clock::now() + std::chrono::seconds(20);
  auto get = [&](const std::string& path, std::string* head) {
    int fd = Connect(port_);
    SendAll(fd, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    uint64_t n = Drain(fd, deadline, head);
    close(fd);
    return n;
  };
  std::string early;
  get("/throw", &early);
  EXPECT_EQ(early.substr(0, 12), "HTTP/1.1 500") << early;
  // The client reads nothing until the server can push no more (the queued bytes stop
  // growing), so the coroutine has parked; then it reads all.
  int fd = Connect(port_);
  SendAll(fd, "GET /throw-late HTTP/1.1\r\nHost: x\r\n\r\n");
  WaitFilled(fd);
  std::string late;
  uint64_t got = Drain(fd, deadline, &late);
  close(fd);
  EXPECT_EQ(late.substr(0, 12), "HTTP/1.1 200") << late;
  EXPECT_GE(got, 128 * kPiece) << "what was sent before the throw arrives";
  EXPECT_LT(got, 128 * kPiece + 4096) << "the response is cut, never padded";
  std::string failed;
  uint64_t failed_bytes = get("/fail-late", &failed);
  EXPECT_EQ(failed.substr(0, 12), "HTTP/1.1 200") << failed;
  EXPECT_GE(failed_bytes, kPiece);
  EXPECT_LT(failed_bytes, kPiece + 4096) << "cut, never padded to its length";
  std::string pooled;
  get("/throw-blocking", &pooled);
  EXPECT_EQ(pooled.substr(0, 12), "HTTP/1.1 500") << pooled;
  // Output filters that fail midway (an error; an exception) cut the response after what
  // they passed on.
  for (const char* path : {"/fail.bin", "/throw.bin"}) {
    std::string head;
    uint64_t n = get(path, &head);
    EXPECT_EQ(head.substr(0, 12), "HTTP/1.1 200") << path << ": " << head;
    EXPECT_GE(n, kPiece) << path;
    EXPECT_LT(n, kPiece + 4096) << path << ": cut, never padded to its length";
  }
  int status = 0;
  EXPECT_LT(TimedGet(port_, &status), 5.0);
  EXPECT_EQ(status, 200) << "the worker goes on serving";
  std::vector<std::string> want = {"log /throw 500",          "cleanup /throw",
                                   "log /throw-late 200 cut", "cleanup /throw-late",
                                   "log /fail-late 200 cut",  "cleanup /fail-late",
                                   "log /throw-blocking 500", "log /fail.bin 200 cut",
                                   "log /throw.bin 200 cut"};
  for (int i = 0; i < 500 && Ran().size() < want.size(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Ran(), want);
}

}  // namespace
}  // namespace brigade::server
