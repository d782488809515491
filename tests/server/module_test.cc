#include "module/module.h"

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "builtin/modules.h"
#include "server/config.h"
#include "handlers/request.h"
#include "server/location.h"

namespace brigade::server {
namespace {

// A module with a list directive in both scopes (lists concatenate: the server's, then the
// Location's) and a single-valued one only in Locations.
handlers::ConfigSlot<std::vector<std::string>> allow;
handlers::ConfigSlot<std::string> realm;

modules::Module TestModule() {
  return {"test", [](modules::ModuleContext& ctx) -> absl::Status {
            allow = ctx.Slot<std::vector<std::string>>(
                [](const std::vector<std::string>& server, const std::vector<std::string>& loc) {
                  std::vector<std::string> all = server;
                  all.insert(all.end(), loc.begin(), loc.end());
                  return all;
                });
            realm = ctx.Slot<std::string>();
            absl::Status s = ctx.AddDirective(
                {.name = "Allow", .syntax = "NAME...", .parse = [](const modules::DirectiveArgs& a) {
                   for (const std::string& n : a.args) {
                     if (n == "bad") return absl::InvalidArgumentError("'bad' is not allowed");
                     allow.Mutable(a.values).push_back(n);
                   }
                   return absl::OkStatus();
                 }});
            if (!s.ok()) return s;
            return ctx.AddDirective({.name = "Realm",
                                     .scope = modules::DirectiveScope::kLocation,
                                     .min_args = 1,
                                     .max_args = 1,
                                     .syntax = "one name",
                                     .parse = [](const modules::DirectiveArgs& a) {
                                       realm.Mutable(a.values) = a.args[0];
                                       return absl::OkStatus();
                                     }});
          }};
}

class ModuleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<modules::Module> all = builtin::BuiltinModules();
    all.push_back(TestModule());
    ASSERT_TRUE(modules::RegisterModules(registries_, all).ok());
  }
  [[nodiscard]] absl::StatusOr<ServerConfig> Parse(const std::string& text) {
    return ParseConfig("Listen 127.0.0.1:0\n" + text, "m.conf", registries_);
  }
  modules::Registries registries_;
};

TEST_F(ModuleTest, DirectiveValuesLandInTheirScopeAndMergePerLocation) {
  absl::StatusOr<ServerConfig> c = Parse(
      "Allow a\n<Location /x>\nAllow b c\nRealm inner\n</Location>\n<Location /y>\n</Location>\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(allow.Get(c->values), (std::vector<std::string>{"a"}));
  EXPECT_FALSE(realm.IsSet(c->values));
  absl::StatusOr<Locations> l = Locations::Compile(*c, registries_, {});
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(allow.Get(l->Match("/x").values()), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(realm.Get(l->Match("/x").values()), "inner");
  EXPECT_EQ(allow.Get(l->Match("/y").values()), (std::vector<std::string>{"a"}));
  EXPECT_EQ(realm.Get(l->Match("/y").values()), "") << "unset: the default";
  EXPECT_EQ(allow.Get(l->Match("/elsewhere").values()), (std::vector<std::string>{"a"}));
}

TEST_F(ModuleTest, DirectiveErrorsNameFileLineAndReason) {
  for (const auto& [text, want] : std::vector<std::pair<std::string, std::string>>{
           {"Allow ok bad\n", "m.conf:2: Allow: 'bad' is not allowed"},
           {"Realm r\n", "m.conf:2: Realm belongs inside <Location>"},
           {"<Location /x>\nRealm a b\n</Location>\n", "m.conf:3: Realm takes one name"},
           {"Allow\n", "m.conf:2: Allow takes NAME..."},
       }) {
    absl::StatusOr<ServerConfig> c = Parse(text);
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.status().message(), want);
  }
}

TEST_F(ModuleTest, ADirectiveNameIsTakenOnce) {
  modules::ModuleContext ctx(registries_, "other");
  auto parse = [](const modules::DirectiveArgs&) { return absl::OkStatus(); };
  EXPECT_EQ(ctx.AddDirective({.name = "Allow", .parse = parse}).message(),
            "directive Allow is added by module test");
  EXPECT_EQ(ctx.AddDirective({.name = "Listen", .parse = parse}).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ctx.AddDirective({.name = "NoParser"}).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ModuleTest, RequestSlotsAreTypedPerRequestAndIndependent) {
  modules::ModuleContext ctx(registries_, "state");
  handlers::StateSlot<int> hits = ctx.RequestSlot<int>();
  handlers::StateSlot<std::string> who = ctx.RequestSlot<std::string>();
  handlers::Connection connection;
  handlers::Request a(&connection), b(&connection);
  EXPECT_EQ(hits.Find(a.state()), nullptr);
  ++hits.Mutable(a.state());
  ++hits.Mutable(a.state());
  who.Mutable(b.state()) = "b";
  EXPECT_EQ(*hits.Find(a.state()), 2);
  EXPECT_EQ(hits.Find(b.state()), nullptr);
  EXPECT_EQ(*who.Find(b.state()), "b");
  EXPECT_EQ(who.Find(a.state()), nullptr);
}

TEST_F(ModuleTest, AFailingSetupNamesItsModule) {
  modules::Registries r;
  absl::Status s = modules::RegisterModules(
      r, {{"broken", [](modules::ModuleContext&) { return absl::InternalError("no luck"); }}});
  EXPECT_EQ(s.message(), "module broken: no luck");
}

}  // namespace
}  // namespace brigade::server
