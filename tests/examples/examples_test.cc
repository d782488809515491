// Unit tests of the example modules through the public API only: their directives against the
// configuration parser, UPPERCASE through the split-invariance harness.

#include <string>

#include "examples/examples.h"
#include "filters/testing/split_invariance.h"
#include "gtest/gtest.h"
#include "builtin/modules.h"
#include "server/config.h"
#include "module/module.h"

namespace brigade::examples {
namespace {

class ExamplesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<modules::Module> all = builtin::BuiltinModules();
    for (auto make : {BasicAuthModule, CountModule, DenyFromModule, HelloModule, StackedModule,
                      UppercaseModule}) {
      all.push_back(make());
    }
    ASSERT_TRUE(modules::RegisterModules(registries_, all).ok());
  }
  [[nodiscard]] absl::Status Parse(const std::string& text) {
    return server::ParseConfig("Listen 127.0.0.1:0\n" + text, "ex.conf", registries_).status();
  }
  modules::Registries registries_;
};

TEST_F(ExamplesTest, UppercaseIsSplitInvariantAndKeepsEveryOtherByte) {
  auto factory = [this] { return *registries_.filters.MakeOutput("UPPERCASE", {}); };
  std::string text;
  for (int c = 0; c < 256; ++c) text += static_cast<char>(c);
  EXPECT_TRUE(filters::testing::CheckSplitInvariance(factory, "aBc\xc3\xa9z\n").ok());
  EXPECT_TRUE(filters::testing::CheckSplitInvariance(factory, text + text).ok());
  EXPECT_EQ(registries_.filters.MakeOutput("UPPERCASE",
                                           filters::FilterOptions(std::map<std::string, std::string>{
                                               {"read", "0"}}))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ExamplesTest, DirectivesCheckTheirArgumentsWithFileAndLine) {
  EXPECT_TRUE(Parse("DenyFrom 10.0.0.0/8 192.168.1.7\n<Location /a>\nDenyFrom 0.0.0.0/0\n</Location>\n").ok());
  EXPECT_EQ(Parse("DenyFrom 10.0.0.300\n").message(),
            "ex.conf:2: DenyFrom: '10.0.0.300' is not an IPv4 address");
  EXPECT_EQ(Parse("DenyFrom 10.0.0.0/33\n").message(),
            "ex.conf:2: DenyFrom: '10.0.0.0/33': the prefix length is not from 0 to 32");
  EXPECT_EQ(Parse("DenyFrom\n").message(), "ex.conf:2: DenyFrom takes ADDRESS|CIDR...");
  EXPECT_EQ(Parse("AuthUser a:b pw\n").message(),
            "ex.conf:2: AuthUser: a user name cannot hold ':' (RFC 7617)");
  EXPECT_EQ(Parse("AuthUser alice\n").message(), "ex.conf:2: AuthUser takes NAME PASSWORD");
  EXPECT_EQ(Parse("StackedLog /tmp/x\n").message(), "ex.conf:2: StackedLog belongs inside <Location>");
  EXPECT_EQ(Parse("<Location /a>\nAccessHandler hello\n</Location>\n").message(),
            "ex.conf:3: AccessHandler: hello is a handler for response, not for access (known: "
            "deny-from)");
}

}  // namespace
}  // namespace brigade::examples
