// Modules end to end: a server in this process, built from the built-in modules and a test
// module (named handlers for several phases, a directive with a per-Location value, server
// phase hooks), configured from text, answering real HTTP on loopback.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/integration/loopback.h"
#include "handlers/request.h"
#include "builtin/modules.h"
#include "server/config.h"
#include "module/module.h"
#include "server/connection.h"
#include "server/server.h"

namespace brigade::server {
namespace {

using handlers::Outcome;
using handlers::Phase;
using handlers::Request;

// A connection to the server on loopback, reads bounded to 10 s; -1 when it cannot connect.
int Connect(int port) {
  return test::ConnectLoopback(port, [](int fd) {
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  });
}

// Sends `request` on a fresh connection and returns all the server sends before it closes.
std::string Exchange(int port, const std::string& request) {
  int fd = Connect(port);
  if (fd < 0) return "";
  std::string out;
  if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

// One GET on a fresh connection; the whole response, or "" when it does not come in 10 s.
std::string Get(int port, const std::string& path) {
  return Exchange(port,
                  absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
}

// Reads one response with a Content-Length body from a keep-alive connection; "" on failure.
std::string ReadResponse(int fd) {
  std::string got;
  char buf[4096];
  while (true) {
    size_t end = got.find("\r\n\r\n");
    if (end != std::string::npos) {
      size_t at = got.find("Content-Length: ");
      if (at == std::string::npos || at > end) return "";
      size_t length = std::stoul(got.substr(at + 16));
      if (got.size() >= end + 4 + length) return got.substr(0, end + 4 + length);
    }
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) return "";
    got.append(buf, static_cast<size_t>(n));
  }
}

std::string Body(const std::string& response) {
  size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

Outcome Reply(Request& r, const std::string& text) {
  r.response_headers.Set("Content-Type", "text/plain");
  Brigade bb(r.allocator());
  if (!bb.Write(text).ok()) return Outcome::Status(500);
  bb.Append(Bucket::Eos(r.allocator()));
  return r.Pass(bb).ok() ? Outcome::Ok() : Outcome::Status(500);
}

class NamedHandlersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = ::testing::TempDir() + "/named_root";
    mkdir(root_.c_str(), 0755);
    std::ofstream(root_ + "/index.html") << "<p>index</p>\n";
    std::vector<modules::Module> all = builtin::BuiltinModules();
    all.push_back({"test", [this](modules::ModuleContext& ctx) { return Setup(ctx); }});
    ASSERT_TRUE(modules::RegisterModules(registries_, all).ok());
    absl::StatusOr<ServerConfig> config = ParseConfig(
        absl::StrCat("Listen 127.0.0.1:0\nWorkers ", workers(), "\nDocumentRoot ", root_,
                     "\nPreConnectionHandler count\nTransHandler rewrite\nLogHandler record\n"
                     "<Location /private/>\nAccessHandler deny\n</Location>\n"
                     "<Location /hello>\nSetHandler hello\nGreeting Hello,\n</Location>\n"
                     "<Location /hello/there>\nSetHandler hello\nGreeting Hi\n</Location>\n"
                     "<Location /visit>\nSetHandler visit\n</Location>\n"
                     "<Location /peer>\nSetHandler peer\n</Location>\n"
                     "<Location /server-status>\nSetHandler status\n</Location>\n"),
        "test.conf", registries_);
    ASSERT_TRUE(config.ok()) << config.status();
    absl::StatusOr<std::unique_ptr<Server>> server = Server::Create(*std::move(config), registries_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    port_ = server_->bound()[0].port;
    thread_ = std::thread([this] { EXPECT_TRUE(server_->Run().ok()); });
  }

  [[nodiscard]] absl::Status Setup(modules::ModuleContext& ctx) {
    greeting_ = ctx.Slot<std::string>();
    absl::Status s = ctx.AddDirective({.name = "Greeting",
                                       .min_args = 1,
                                       .max_args = 1,
                                       .syntax = "WORD",
                                       .parse = [this](const modules::DirectiveArgs& a) {
                                         greeting_.Mutable(a.values) = a.args[0];
                                         return absl::OkStatus();
                                       }});
    if (!s.ok()) return s;
    for (Phase p : {Phase::kOpenLogs, Phase::kPostConfig, Phase::kChildInit}) {
      ctx.hooks().server(p).Register([this, p](handlers::ServerRecord&) {
        std::lock_guard<std::mutex> lock(mu_);
        server_phases_.push_back(std::string(handlers::PhaseName(p)));
        return Outcome::Ok();
      });
    }
    handlers::NamedHandlers& named = ctx.handlers();
    if (s.ok()) s = named
                    .Add(Phase::kTranslate, "rewrite",
                         [](Request& r) {
                           if (r.uri == "/old") r.uri = "/index.html";
                           return Outcome::Declined();  // map-to-file maps what it left
                         });
    if (s.ok()) s = named.Add(Phase::kAccess, "deny", [](Request&) { return Outcome::Status(403); });
    if (s.ok()) s = named
                    .Add(Phase::kResponse, "hello",
                         [this](Request& r) {
                           r.response_headers.Set("Content-Type", "text/plain");
                           Brigade bb(r.allocator());
                           std::string text = absl::StrCat(greeting_.Get(r.config()), " world!\n");
                           if (!bb.Write(text).ok()) return Outcome::Status(500);
                           bb.Append(Bucket::Eos(r.allocator()));
                           return r.Pass(bb).ok() ? Outcome::Ok() : Outcome::Status(500);
                         });
    // Counts its visits in a connection note: state that must outlive each request.
    if (s.ok()) s = named
                    .Add(Phase::kResponse, "visit",
                         [](Request& r) {
                           std::string& visits = r.connection().notes["visits"];
                           visits = std::to_string(visits.empty() ? 1 : std::stoi(visits) + 1);
                           return Reply(r, absl::StrCat("visit ", visits, "\n"));
                         });
    // Leaves the connection as it found it, so that it can let its record go between requests.
    if (s.ok()) s = named
                    .Add(Phase::kResponse, "peer",
                         [](Request& r) { return Reply(r, r.connection().peer + "\n"); });
    if (s.ok()) s = named
                    .Add(Phase::kLog, "record",
                         [this](Request& r) {
                           std::lock_guard<std::mutex> lock(mu_);
                           logged_.push_back(absl::StrCat(r.uri, " ", r.status));
                           return Outcome::Ok();
                         });
    if (s.ok()) s = named
                    .AddConnection(Phase::kPreConnection, "count",
                                   [this](handlers::Connection&) {
                                     ++connections_;
                                     return Outcome::Ok();
                                   });
    return s;
  }
  virtual int workers() const { return 2; }
  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
  }
  std::vector<std::string> ServerPhases() {
    std::lock_guard<std::mutex> lock(mu_);
    return server_phases_;
  }
  std::vector<std::string> Logged() {
    std::lock_guard<std::mutex> lock(mu_);
    return logged_;
  }

  std::string root_;
  modules::Registries registries_;  // outlives server_
  std::unique_ptr<Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;  // the log handler runs on the worker thread
  std::vector<std::string> logged_;
  std::vector<std::string> server_phases_;
  handlers::ConfigSlot<std::string> greeting_;
  std::atomic<int> connections_{0};
};

TEST_F(NamedHandlersTest, EachPhaseRunsTheHandlersItsConfigurationNames) {
  std::string rewritten = Get(port_, "/old");
  EXPECT_EQ(rewritten.substr(0, 12), "HTTP/1.1 200") << rewritten;
  EXPECT_NE(rewritten.find("<p>index</p>"), std::string::npos) << "TransHandler ran before map-to-file";
  std::string denied = Get(port_, "/private/x");
  EXPECT_EQ(denied.substr(0, 12), "HTTP/1.1 403") << denied;
  std::string hello = Get(port_, "/hello");
  EXPECT_EQ(hello.substr(0, 12), "HTTP/1.1 200") << hello;
  EXPECT_NE(hello.find("\r\n\r\nHello, world!\n"), std::string::npos) << hello;
  // A directive's value is per Location: the longer prefix has its own.
  std::string hi = Get(port_, "/hello/there");
  EXPECT_NE(hi.find("\r\n\r\nHi world!\n"), std::string::npos) << hi;
  // The log phase runs after the response has gone; poll for the third line.
  for (int i = 0; i < 200 && Logged().size() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (int i = 0; i < 200 && Logged().size() < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Logged(), (std::vector<std::string>{"/index.html 200", "/private/x 403", "/hello 200",
                                                "/hello/there 200"}));
  EXPECT_EQ(connections_.load(), 4);
}

class OneWorkerTest : public NamedHandlersTest {
 protected:
  int workers() const override { return 1; }
};

// The status page's count of idle records let go; -1 when it cannot be read.
long RecordsReleased(int port) {
  std::string status = Get(port, "/server-status");
  size_t at = status.find("idle_records_released: ");
  return at == std::string::npos ? -1 : std::stol(status.substr(at + 23));
}

// Past the worker's first RecordPool::kKeptRecords connections, an idle connection lets its
// record go between keep-alive requests. What a handler put in the record stays (the record is
// kept), the addresses stay, and pre_connection runs once per connection.
TEST_F(OneWorkerTest, AConnectionsStateLastsAcrossItsIdleTimes) {
  auto ask = [](int fd, const std::string& path) {
    std::string request = absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: x\r\n\r\n");
    if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
      return std::string();
    }
    return Body(ReadResponse(fd));
  };
  std::vector<int> crowd;
  for (int i = 0; i < 300; ++i) {
    int c = Connect(port_);
    ASSERT_GE(c, 0);
    crowd.push_back(c);
    ASSERT_NE(ask(c, "/peer"), "");
  }
  long before = RecordsReleased(port_);
  EXPECT_GT(before, 0);
  int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  sockaddr_in self{};
  socklen_t len = sizeof(self);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&self), &len), 0);
  std::string me = absl::StrCat("127.0.0.1:", ntohs(self.sin_port), "\n");
  EXPECT_EQ(ask(fd, "/peer"), me);
  EXPECT_EQ(ask(fd, "/peer"), me);
  EXPECT_EQ(ask(fd, "/visit"), "visit 1\n");
  EXPECT_EQ(ask(fd, "/peer"), me);
  EXPECT_EQ(ask(fd, "/visit"), "visit 2\n");
  EXPECT_EQ(ask(fd, "/visit"), "visit 3\n");
  // Let go after each of the first two requests; from the first visit on, the note keeps it.
  EXPECT_EQ(RecordsReleased(port_) - before, 2);
  close(fd);
  // Another connection starts with no visits.
  int other = Connect(port_);
  ASSERT_GE(other, 0);
  EXPECT_EQ(ask(other, "/visit"), "visit 1\n");
  close(other);
  for (int c : crowd) close(c);
  EXPECT_EQ(connections_.load(), 300 + 1 + 1 + 2);  // with the two status requests
}

TEST_F(NamedHandlersTest, ServerPhasesRunOnceAndChildInitOncePerWorker) {
  // child_init runs on the serving thread as Run starts.
  for (int i = 0; i < 500 && ServerPhases().size() < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(ServerPhases(),
            (std::vector<std::string>{"open_logs", "post_config", "child_init", "child_init"}));
}

TEST(ServerPhasesTest, AFailingPostConfigStopsStartUp) {
  modules::Registries registries;
  ASSERT_TRUE(modules::RegisterModules(registries, builtin::BuiltinModules()).ok());
  registries.hooks.server(Phase::kPostConfig).Register([](handlers::ServerRecord&) {
    return Outcome::Status(500);
  });
  absl::StatusOr<ServerConfig> config =
      ParseConfig("Listen 127.0.0.1:0\nWorkers 1\n", "test.conf", registries);
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Create(*std::move(config), registries);
  EXPECT_EQ(server.status().message(), "post_config failed: a hook answered 500");
}

TEST(ServerPhasesTest, ACycleOfHookConstraintsStopsStartUpNamingTheModules) {
  auto hook = [](std::string after) {
    return [after](modules::ModuleContext& ctx) {
      ctx.AddHook(Phase::kPostReadRequest, "h",
                  std::function<Outcome(Request&)>([](Request&) { return Outcome::Ok(); }),
                  {.order = handlers::Order::kMiddle, .after = {after}, .before = {}});
      return absl::OkStatus();
    };
  };
  std::vector<modules::Module> all = builtin::BuiltinModules();
  all.push_back({"x", hook("y")});
  all.push_back({"y", hook("x")});
  modules::Registries registries;
  ASSERT_TRUE(modules::RegisterModules(registries, all).ok());
  absl::StatusOr<ServerConfig> config =
      ParseConfig("Listen 127.0.0.1:0\nWorkers 1\n", "test.conf", registries);
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Create(*std::move(config), registries);
  EXPECT_EQ(server.status().message(),
            "post_read_request: hook ordering constraints form a cycle among modules x, y");
}

// The access log's hook is in a server's log phase only when an AccessLog is configured:
// without one, no request runs it.
TEST(ServerPhasesTest, TheAccessLogHookRunsOnlyWhereALogIsConfigured) {
  modules::Registries registries;
  ASSERT_TRUE(modules::RegisterModules(registries, builtin::BuiltinModules()).ok());
  auto log_hooks = [&registries](const std::string& text) {
    absl::StatusOr<ServerConfig> config = ParseConfig(text, "test.conf", registries);
    EXPECT_TRUE(config.ok()) << config.status();
    absl::StatusOr<std::unique_ptr<Server>> server =
        Server::Create(*std::move(config), registries);
    EXPECT_TRUE(server.ok()) << server.status();
    return (*server)->hooks().request(Phase::kLog).Names();
  };
  EXPECT_EQ(log_hooks("Listen 127.0.0.1:0\nWorkers 1\n"), std::vector<std::string>{});
  std::string log = ::testing::TempDir() + "/access_hook.log";
  EXPECT_EQ(log_hooks("Listen 127.0.0.1:0\nWorkers 1\nAccessLog " + log + "\n"),
            std::vector<std::string>{"access-log"});
}

// A protocol of a module's own, driving its socket itself as HTTP/1.1 does: it greets the
// client with its address and closes.
class BannerConnection final : public ConnectionBase {
 public:
  using ConnectionBase::ConnectionBase;
  void Start() override {
    Brigade bb(record().allocator());
    if (!bb.WriteOwned(absl::StrCat("banner for ", record().peer, "\n")).ok()) return Close();
    bb.Append(Bucket::Eos(record().allocator()));
    if (!record().output().Pass(bb).ok()) return Close();
    Drain();
  }
  void OnReady(uint32_t) override {
    if (lingering()) return DrainLinger();
    Drain();
  }
  void OnTimer() override { Close(); }
  void OnStop() override { Close(); }
  void Cut() override { Close(); }

 private:
  void Drain() {
    if (!FlushOutput().ok()) return Close();
    if (!core_out().has_pending()) return Linger();
    Want(EPOLLOUT);
    ArmTimer(1000, /*for_output=*/true);
  }
};

modules::Module BannerModule() {
  return {"banner", [](modules::ModuleContext& ctx) {
            return ctx.AddProtocol("banner", [](const ConnectionArgs& args) {
              return std::unique_ptr<ConnectionBase>(std::make_unique<BannerConnection>(args));
            });
          }};
}

TEST(ProtocolModuleTest, AModulesProtocolServesItsListenBesideHttp) {
  std::vector<modules::Module> all = builtin::BuiltinModules();
  all.push_back(BannerModule());
  modules::Registries registries;
  ASSERT_TRUE(modules::RegisterModules(registries, all).ok());
  std::string root = ::testing::TempDir() + "/banner_root";
  mkdir(root.c_str(), 0755);
  std::ofstream(root + "/index.html") << "<p>index</p>\n";
  absl::StatusOr<ServerConfig> config = ParseConfig(
      absl::StrCat("Listen 127.0.0.1:0\nListen 127.0.0.1:0 banner\nWorkers 1\nDocumentRoot ",
                   root, "\n"),
      "test.conf", registries);
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Create(*std::move(config), registries);
  ASSERT_TRUE(server.ok()) << server.status();
  std::thread thread([&] { EXPECT_TRUE((*server)->Run().ok()); });
  std::string banner = Exchange((*server)->bound()[1].port, "");
  std::string http = Get((*server)->bound()[0].port, "/");
  (*server)->Stop();
  thread.join();
  EXPECT_TRUE(banner.rfind("banner for 127.0.0.1:", 0) == 0) << banner;
  EXPECT_EQ(banner.back(), '\n');
  EXPECT_TRUE(http.rfind("HTTP/1.1 200 OK\r\n", 0) == 0) << http;
  EXPECT_NE(http.find("<p>index</p>"), std::string::npos);
}

TEST(ProtocolModuleTest, HttpIsTheHttpModulesProtocol) {
  // Without the http module, a Listen (http by default) names a protocol no module gave.
  modules::Registries registries;
  ASSERT_TRUE(modules::RegisterModules(registries, {BannerModule()}).ok());
  absl::StatusOr<ServerConfig> config =
      ParseConfig("Listen 127.0.0.1:0\n", "test.conf", registries);
  EXPECT_EQ(config.status().message(), "test.conf:1: Listen: unknown protocol http (banner)");
  EXPECT_TRUE(ParseConfig("Listen 127.0.0.1:0 banner\n", "test.conf", registries).ok());
}

TEST(ProtocolModuleTest, AProtocolNameIsTakenOnce) {
  modules::Registries registries;
  ASSERT_TRUE(modules::RegisterModules(registries, builtin::BuiltinModules()).ok());
  auto claim = [](std::string name) {
    return modules::Module{"claim", [name](modules::ModuleContext& ctx) {
                             return ctx.AddProtocol(name, [](const ConnectionArgs& args) {
                               return std::unique_ptr<ConnectionBase>(
                                   std::make_unique<BannerConnection>(args));
                             });
                           }};
  };
  // http is the http module's; echo is a process_connection handler of the echo module.
  absl::Status http = modules::RegisterModules(registries, {claim("http")});
  EXPECT_EQ(http.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(http.message(), "module claim: protocol http is already registered");
  EXPECT_EQ(modules::RegisterModules(registries, {claim("echo")}).code(),
            absl::StatusCode::kAlreadyExists);
  // A process_connection handler registered after a protocol of its name.
  modules::Registries later;
  std::vector<modules::Module> claim_first = {claim("echo")};
  for (modules::Module& m : builtin::BuiltinModules()) claim_first.push_back(std::move(m));
  EXPECT_EQ(modules::RegisterModules(later, claim_first).message(),
            "protocol echo is both a module's protocol and a process_connection handler");
  EXPECT_EQ(modules::RegisterModules(registries, {modules::Module{"empty", [](modules::ModuleContext& ctx) {
                                                    return ctx.AddProtocol("x", nullptr);
                                                  }}})
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace brigade::server
