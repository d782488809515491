// The example modules' handlers driven through the request cycle, as a server drives them but
// without one: a configuration parsed against the modules, a request given its Location's
// handlers and values, the cycle run, and what reached the connection checked.

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "examples/examples.h"
#include "filters/core_input.h"
#include "gtest/gtest.h"
#include "handlers/phases.h"
#include "handlers/request.h"
#include "builtin/modules.h"
#include "server/config.h"
#include "server/location.h"
#include "module/module.h"
#include "tests/handlers/test_doubles.h"

namespace brigade::examples {
namespace {

using handlers::CycleState;
using handlers::Outcome;
using handlers::Request;

class ExamplesCycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = ::testing::TempDir() + "/stacked_cycle.log";
    std::remove(log_.c_str());
    std::vector<modules::Module> all = builtin::BuiltinModules();
    for (auto make : {BasicAuthModule, CountModule, DenyFromModule, HelloModule, StackedModule}) {
      all.push_back(make());
    }
    ASSERT_TRUE(modules::RegisterModules(registries_, all).ok());
    absl::StatusOr<server::ServerConfig> config = server::ParseConfig(
        absl::StrCat("Listen 127.0.0.1:0\n"
                     "<Location /hello>\nSetHandler hello\n</Location>\n"
                     "<Location /deny>\nSetHandler hello\nAccessHandler deny-from\n"
                     "DenyFrom 10.0.0.0/8\n</Location>\n"
                     "<Location /auth>\nSetHandler hello\nAuthenHandler basic-auth\n"
                     "AuthzHandler require-user\nAuthName Club\nAuthUser alice pw1\n"
                     "AuthUser bob pw2\nRequireUser alice\n</Location>\n"
                     "<Location /stacked>\nSetHandler stacked\nStackedLog ", log_,
                     "\n</Location>\n<Location /count>\nSetHandler count\n</Location>\n"),
        "cycle.conf", registries_);
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = *std::move(config);
    absl::StatusOr<server::Locations> l = server::Locations::Compile(config_, registries_, {});
    ASSERT_TRUE(l.ok()) << l.status();
    locations_ = std::make_unique<server::Locations>(*std::move(l));
    connection_.output().Add(std::make_unique<filters::CollectFilter>(&wire_));
  }

  // A request for `uri` from `peer`, with its Location's handlers and values.
  std::unique_ptr<Request> Make(const std::string& uri, const std::string& peer = "127.0.0.1:1") {
    connection_.peer = peer;
    auto r = std::make_unique<Request>(&connection_);
    size_t q = uri.find('?');
    r->uri = uri.substr(0, q);
    r->args = q == std::string::npos ? "" : uri.substr(q + 1);
    locations_->Match(r->uri).Apply(*r);
    return r;
  }
  std::string Body() {
    std::string out;
    for (Bucket& b : wire_) {
      if (!b.is_metadata()) out += std::string(*b.Read());
    }
    wire_.Clear();
    return out;
  }

  std::string log_;
  modules::Registries registries_;
  server::ServerConfig config_;
  std::unique_ptr<server::Locations> locations_;
  handlers::Connection connection_;
  Brigade wire_{connection_.allocator()};
};

TEST_F(ExamplesCycleTest, HelloAnswersPlainText) {
  std::unique_ptr<Request> r = Make("/hello");
  EXPECT_EQ(handlers::RunRequestCycle(registries_.hooks, *r), Outcome::Ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->response_headers.Get("Content-Type"), "text/plain");
  EXPECT_EQ(Body(), "Hello, world!\n");
}

TEST_F(ExamplesCycleTest, DenyFromRefusesListedPeersOnly) {
  std::unique_ptr<Request> denied = Make("/deny", "10.9.8.7:4000");
  EXPECT_EQ(handlers::RunRequestCycle(registries_.hooks, *denied), Outcome::Status(403));
  Body();
  std::unique_ptr<Request> other = Make("/deny", "192.168.0.1:4000");
  EXPECT_EQ(handlers::RunRequestCycle(registries_.hooks, *other), Outcome::Ok());
  EXPECT_EQ(Body(), "Hello, world!\n");
}

TEST_F(ExamplesCycleTest, BasicAuthChallengesAuthenticatesAndRequireUserAuthorizes) {
  std::unique_ptr<Request> none = Make("/auth");
  EXPECT_EQ(handlers::RunRequestCycle(registries_.hooks, *none), Outcome::Status(401));
  EXPECT_EQ(none->response_headers.Get("WWW-Authenticate"), "Basic realm=\"Club\"");
  Body();
  auto with = [&](const std::string& credentials) {
    std::unique_ptr<Request> r = Make("/auth");
    r->request_headers.Set("Authorization", "Basic " + absl::Base64Escape(credentials));
    Outcome o = handlers::RunRequestCycle(registries_.hooks, *r);
    Body();
    return std::make_pair(o, r->user);
  };
  EXPECT_EQ(with("alice:pw1"), std::make_pair(Outcome::Ok(), std::string("alice")));
  EXPECT_EQ(with("bob:pw2"), std::make_pair(Outcome::Status(403), std::string("bob")));
  EXPECT_EQ(with("alice:pw2").first, Outcome::Status(401));
  EXPECT_EQ(with("alice").first, Outcome::Status(401)) << "no colon";
}

TEST_F(ExamplesCycleTest, StackedCleanupsRunFifoAfterTheResponse) {
  std::unique_ptr<Request> r = Make("/stacked");
  EXPECT_EQ(handlers::RunRequestCycle(registries_.hooks, *r), Outcome::Ok());
  EXPECT_EQ(Body(), "stacked\n");
  std::ifstream in(log_);
  std::stringstream got;
  got << in.rdbuf();
  EXPECT_EQ(got.str(), "A /stacked\nB /stacked\nC /stacked\nA /stacked\n");
}

TEST_F(ExamplesCycleTest, CountStreamsLinesAndRefusesABadN) {
  std::unique_ptr<Request> r = Make("/count?n=12");
  EXPECT_EQ(handlers::RunRequestCycle(registries_.hooks, *r), Outcome::Ok());
  std::string want;
  for (int i = 1; i <= 12; ++i) absl::StrAppend(&want, i, "\n");
  EXPECT_EQ(Body(), want);
  for (const char* bad : {"/count", "/count?n=0", "/count?n=x", "/count?n=100000001"}) {
    std::unique_ptr<Request> b = Make(bad);
    EXPECT_EQ(handlers::RunRequestCycle(registries_.hooks, *b), Outcome::Status(400)) << bad;
    Body();
  }
}

// Against a sink that answers kAgain past 64 KiB, count parks instead of producing more.
TEST_F(ExamplesCycleTest, CountParksOnKAgainAndHoldsOnePiece) {
  handlers::Connection slow;
  Brigade wire(slow.allocator());
  auto* sink = static_cast<handlers::test::ThrottledSink*>(
      slow.output().Add(std::make_unique<handlers::test::ThrottledSink>(&wire, 64 * 1024)));
  auto r = std::make_unique<Request>(&slow);
  r->uri = "/count";
  r->args = "n=300000";
  locations_->Match("/count").Apply(*r);
  CycleState state = handlers::StartRequestCycle(registries_.hooks, *r);
  int resumptions = 0;
  while (state == CycleState::kSuspended && resumptions < 10000) {
    sink->Drain();
    state = handlers::ResumeRequestCycle(*r);
    ++resumptions;
  }
  ASSERT_EQ(state, CycleState::kResponded);
  sink->Drain();
  EXPECT_GT(resumptions, 10);
  EXPECT_LE(sink->most_held(), 2u * 64 * 1024) << "count held back on kAgain";
  std::string body;
  for (Bucket& b : wire) {
    if (!b.is_metadata()) body += std::string(*b.Read());
  }
  EXPECT_EQ(body.substr(body.size() - 7), "300000\n");
  handlers::EndRequestCycle(registries_.hooks, *r);
}

}  // namespace
}  // namespace brigade::examples
