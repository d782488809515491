// The module's filter through the split-invariance harness, and its directive through the
// configuration parser.

#include "filters/testing/split_invariance.h"
#include "gtest/gtest.h"
#include "builtin/modules.h"
#include "server/config.h"
#include "module/module.h"

namespace greet {
brigade::modules::Module GreetModule();
namespace {

TEST(GreetTest, Rot13IsSplitInvariant) {
  brigade::modules::Registries registries;
  ASSERT_TRUE(brigade::modules::RegisterModules(registries, {GreetModule()}).ok());
  auto factory = [&] { return *registries.filters.MakeOutput("ROT13", {}); };
  EXPECT_TRUE(brigade::filters::testing::CheckSplitInvariance(factory, "Hello, World!").ok());
}

TEST(GreetTest, GreetingTakesOneWord) {
  brigade::modules::Registries registries;
  std::vector<brigade::modules::Module> modules = brigade::builtin::BuiltinModules();
  modules.push_back(GreetModule());
  ASSERT_TRUE(brigade::modules::RegisterModules(registries, modules).ok());
  EXPECT_EQ(brigade::server::ParseConfig("Listen 127.0.0.1:0\nGreeting a b\n", "g.conf", registries)
                .status()
                .message(),
            "g.conf:2: Greeting takes WORD");
}

}  // namespace
}  // namespace greet
