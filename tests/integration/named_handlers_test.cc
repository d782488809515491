// Modules end to end: a server in this process, built from the built-in modules and a test
// module (named handlers for several phases, a directive with a per-Location value, server
// phase hooks), configured from text, answering real HTTP on loopback.

#include <arpa/inet.h>
#include <netinet/in.h>
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
#include "handlers/request.h"
#include "builtin/modules.h"
#include "server/config.h"
#include "server/module.h"
#include "server/server.h"

namespace brigade::server {
namespace {

using handlers::Outcome;
using handlers::Phase;
using handlers::Request;

// One GET on a fresh connection; the whole response, or "" when it does not come in 10 s.
std::string Get(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    std::string req = absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return out;
}

class NamedHandlersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = ::testing::TempDir() + "/named_root";
    mkdir(root_.c_str(), 0755);
    std::ofstream(root_ + "/index.html") << "<p>index</p>\n";
    std::vector<Module> modules = BuiltinModules();
    modules.push_back({"test", [this](ModuleContext& ctx) { return Setup(ctx); }});
    ASSERT_TRUE(RegisterModules(registries_, modules).ok());
    absl::StatusOr<ServerConfig> config = ParseConfig(
        absl::StrCat("Listen 127.0.0.1:0\nWorkers 2\nDocumentRoot ", root_,
                     "\nPreConnectionHandler count\nTransHandler rewrite\nLogHandler record\n"
                     "<Location /private/>\nAccessHandler deny\n</Location>\n"
                     "<Location /hello>\nSetHandler hello\nGreeting Hello,\n</Location>\n"
                     "<Location /hello/there>\nSetHandler hello\nGreeting Hi\n</Location>\n"),
        "test.conf", registries_);
    ASSERT_TRUE(config.ok()) << config.status();
    absl::StatusOr<std::unique_ptr<Server>> server = Server::Create(*std::move(config), registries_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    port_ = server_->bound()[0].port;
    thread_ = std::thread([this] { (void)server_->Run(); });
  }

  absl::Status Setup(ModuleContext& ctx) {
    greeting_ = ctx.Slot<std::string>();
    absl::Status s = ctx.AddDirective({.name = "Greeting",
                                       .min_args = 1,
                                       .max_args = 1,
                                       .syntax = "WORD",
                                       .parse = [this](const DirectiveArgs& a) {
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
  Registries registries_;  // outlives server_
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

TEST_F(NamedHandlersTest, ServerPhasesRunOnceAndChildInitOncePerWorker) {
  // child_init runs on the serving thread as Run starts.
  for (int i = 0; i < 500 && ServerPhases().size() < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(ServerPhases(),
            (std::vector<std::string>{"open_logs", "post_config", "child_init", "child_init"}));
}

TEST(ServerPhasesTest, AFailingPostConfigStopsStartUp) {
  Registries registries;
  ASSERT_TRUE(RegisterModules(registries, BuiltinModules()).ok());
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
    return [after](ModuleContext& ctx) {
      ctx.AddHook(Phase::kPostReadRequest, "h",
                  std::function<Outcome(Request&)>([](Request&) { return Outcome::Ok(); }),
                  {.order = handlers::Order::kMiddle, .after = {after}, .before = {}});
      return absl::OkStatus();
    };
  };
  std::vector<Module> modules = BuiltinModules();
  modules.push_back({"x", hook("y")});
  modules.push_back({"y", hook("x")});
  Registries registries;
  ASSERT_TRUE(RegisterModules(registries, modules).ok());
  absl::StatusOr<ServerConfig> config =
      ParseConfig("Listen 127.0.0.1:0\nWorkers 1\n", "test.conf", registries);
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Create(*std::move(config), registries);
  EXPECT_EQ(server.status().message(),
            "post_read_request: hook ordering constraints form a cycle among modules x, y");
}

}  // namespace
}  // namespace brigade::server
