#include "server/location.h"

#include <string>

#include "builtin/modules.h"
#include "gtest/gtest.h"
#include "handlers/request.h"
#include "server/config.h"

namespace brigade::server {
namespace {

class LocationTest : public ::testing::Test {
 protected:
  LocationTest() { EXPECT_TRUE(builtin::RegisterBuiltins(registries_).ok()); }

  [[nodiscard]] absl::StatusOr<Locations> Compile(const std::string& text) {
    absl::StatusOr<ServerConfig> config =
        ParseConfig("Listen 127.0.0.1:0\n" + text, "test.conf", registries_);
    if (!config.ok()) return config.status();
    config_ = *std::move(config);
    return Locations::Compile(config_, registries_, {});
  }
  // The option `key` of the Location's output (or input) filter `name`, as compiled.
  std::string Option(const CompiledLocation& l, const std::string& name, const std::string& key,
                     bool input = false) {
    for (const PreparedFilter& f : input ? l.input_filters() : l.output_filters()) {
      if (f.name == name) {
        filters::FilterOptions options = f.options;
        return options.GetString(key, "<unset>");
      }
    }
    return "<no filter>";
  }

  modules::Registries registries_;
  ServerConfig config_;
};

TEST_F(LocationTest, DeflateCompressionLevelAppliesWhateverOtherOptionsTheSpecGives) {
  absl::StatusOr<Locations> l = Compile(
      "DeflateCompressionLevel 2\n"
      "<Location /a>\nSetOutputFilter DEFLATE:memlevel=9\n</Location>\n"
      "<Location /b>\nSetOutputFilter DEFLATE:level=7\n</Location>\n");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(Option(l->Match("/a/x"), "DEFLATE", "level"), "2");
  EXPECT_EQ(Option(l->Match("/a/x"), "DEFLATE", "memlevel"), "9");
  EXPECT_EQ(Option(l->Match("/b/x"), "DEFLATE", "level"), "7") << "the spec's own level wins";
}

TEST_F(LocationTest, InflateLimitsComeFromTheFiltersModulesDirectives) {
  absl::StatusOr<Locations> l = Compile(
      "LimitRequestBody 1000\nDeflateInflateRatioLimit 50\n"
      "<Location /a>\nSetInputFilter INFLATE\n</Location>\n"
      "<Location /b>\nSetInputFilter INFLATE:ratio=7\n</Location>\n");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(Option(l->Match("/a/x"), "INFLATE", "limit", true), "1000") << "LimitRequestBody";
  EXPECT_EQ(Option(l->Match("/a/x"), "INFLATE", "ratio", true), "50");
  EXPECT_EQ(Option(l->Match("/b/x"), "INFLATE", "ratio", true), "7");
  l = Compile("DeflateInflateLimitRequestBody 5000\n<Location /a>\nSetInputFilter INFLATE\n"
              "</Location>\n");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(Option(l->Match("/a/x"), "INFLATE", "limit", true), "5000");
  EXPECT_EQ(Option(l->Match("/a/x"), "INFLATE", "ratio", true), "200") << "the default";
  absl::StatusOr<Locations> bad = Compile("DeflateCompressionLevel 12\n");
  EXPECT_EQ(bad.status().message(),
            "test.conf:2: DeflateCompressionLevel: 12: expected a number from 1 to 9");
  bad = Compile("<Location /a>\nDeflateCompressionLevel 3\n</Location>\n");
  EXPECT_FALSE(bad.ok()) << "server scope only";
}

TEST_F(LocationTest, DeflateBackendIsTheDefaultOfDeflateAndInflate) {
  absl::StatusOr<Locations> l = Compile(
      "DeflateBackend isal\n"
      "<Location /a>\nSetOutputFilter DEFLATE\nSetInputFilter INFLATE\n</Location>\n"
      "<Location /b>\nSetOutputFilter DEFLATE:backend=zlib\n</Location>\n");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(Option(l->Match("/a/x"), "DEFLATE", "backend"), "isal");
  EXPECT_EQ(Option(l->Match("/b/x"), "DEFLATE", "backend"), "zlib") << "the spec's own wins";
  EXPECT_FALSE(Compile("DeflateBackend lz4\n").ok());
}

TEST_F(LocationTest, RequestBodyValuesMergeWithTheLocationsOwnWinning) {
  absl::StatusOr<Locations> l = Compile(
      "RequestBodyBufferSize 1000\n"
      "<Location /own>\nRequestBodyBufferSize 5\nRequestBodyTempDir /tmp\n</Location>\n"
      "<Location /inherits>\nSetHandler echo\n</Location>\n");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->Match("/own").body_buffer_size(), 5u);
  EXPECT_EQ(l->Match("/own").body_temp_dir(), "/tmp");
  EXPECT_EQ(l->Match("/inherits").body_buffer_size(), 1000u);
  EXPECT_EQ(l->Match("/inherits").handler(), "echo");
  EXPECT_EQ(l->Match("/elsewhere").handler(), "static");
  EXPECT_EQ(l->Match("/elsewhere").body_buffer_size(), 1000u);
}

TEST_F(LocationTest, TheLongestPrefixOfTheNormalisedPathWinsWhateverTheOrder) {
  absl::StatusOr<Locations> l = Compile(
      "<Location />\nSetHandler static\n</Location>\n"
      "<Location /a/b>\nSetHandler status\n</Location>\n<Location /a>\nSetHandler echo\n</Location>\n"
      "<Location /reverse/>\nSetOutputFilter REVERSE\n</Location>\n");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->Match("/a/b/c").handler(), "status");
  EXPECT_EQ(l->Match("/a/x").handler(), "echo");
  EXPECT_EQ(l->Match("/z").handler(), "static");
  EXPECT_EQ(l->Match("/reverse/x").prefix(), "/reverse/");
}

TEST_F(LocationTest, AddFiltersInstantiatesTheCompiledFiltersOnARequest) {
  absl::StatusOr<Locations> l = Compile(
      "<Location /r>\nSetOutputFilter REVERSE;DEFLATE\nSetInputFilter INFLATE\n</Location>\n");
  ASSERT_TRUE(l.ok()) << l.status();
  handlers::Connection connection;
  handlers::Request r(&connection);
  l->Match("/r").AddFilters(r);
  EXPECT_EQ(r.output().Names(), (std::vector<std::string>{"REVERSE", "DEFLATE"}));
  EXPECT_EQ(r.input().Names(), (std::vector<std::string>{"INFLATE"}));
}

TEST_F(LocationTest, ALocationsHandlersFollowTheServersAndStaticIsTheDefaultResponse) {
  ASSERT_TRUE(registries_.handlers.Add(handlers::Phase::kAccess, "s", nullptr).ok());
  ASSERT_TRUE(registries_.handlers.Add(handlers::Phase::kAccess, "l", nullptr).ok());
  absl::StatusOr<Locations> l = Compile(
      "AccessHandler s\n<Location /a>\nAccessHandler l\nSetHandler echo\n</Location>\n");
  ASSERT_TRUE(l.ok()) << l.status();
  const CompiledLocation& a = l->Match("/a/x");
  EXPECT_EQ(a.HandlerNames(handlers::Phase::kAccess), (std::vector<std::string>{"s", "l"}));
  EXPECT_EQ(a.HandlerNames(handlers::Phase::kResponse), (std::vector<std::string>{"echo"}));
  const CompiledLocation& other = l->Match("/b");
  EXPECT_EQ(other.HandlerNames(handlers::Phase::kAccess), (std::vector<std::string>{"s"}));
  EXPECT_EQ(other.HandlerNames(handlers::Phase::kResponse), (std::vector<std::string>{"static"}));
  EXPECT_EQ(other.handler(), "static");
  // The request's phases get the compiled lists.
  handlers::Connection connection;
  handlers::Request r(&connection);
  a.Apply(r);
  EXPECT_EQ(r.handler, "echo");
  handlers::Hooks hooks;
  EXPECT_EQ(hooks.request(handlers::Phase::kAccess).Names(&r.stack(handlers::Phase::kAccess)),
            (std::vector<std::string>{"s", "l"}));
}

TEST_F(LocationTest, AFilterSpecItsFactoryRefusesFailsAtLoadTime) {
  absl::StatusOr<Locations> l = Compile("<Location /x>\nSetOutputFilter DEFLATE:level=42\n</Location>\n");
  EXPECT_FALSE(l.ok());
}

}  // namespace
}  // namespace brigade::server
