#include "server/config.h"

#include <cstdlib>
#include <string>

#include "filters/builtin_filters.h"
#include "gtest/gtest.h"

namespace brigade::server {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(filters::RegisterBuiltinFilters(registry_).ok()); }
  absl::StatusOr<ServerConfig> Parse(const std::string& text) {
    return ParseConfig(text, "test.conf", registry_);
  }
  filters::FilterRegistry registry_;
  std::string tmp_ = std::getenv("TEST_TMPDIR");
};

TEST_F(ConfigTest, ReadsEveryDirective) {
  absl::StatusOr<ServerConfig> c = Parse(
      "# comment\n"
      "Listen 127.0.0.1:8080\nListen 127.0.0.1:9000 echo-socket\nWorkers 4\n"
      "DocumentRoot " + tmp_ + "\nAccessLog -\nTimeout 30\nKeepAliveTimeout 2\n"
      "MaxKeepAliveRequests 7\nLimitRequestLine 4096\nLimitRequestFields 50\n"
      "LimitRequestFieldSize 4000\nLimitRequestBody 1000\nDeflateCompressionLevel 9\n"
      "DeflateInflateLimitRequestBody 5000\nDeflateInflateRatioLimit 50\n"
      "GracefulShutdownTimeout 3\nRequestBodyBufferSize 4096\nRequestBodyTempDir " + tmp_ +
      "\nBlockingPoolThreads 2\n"
      "<Location /api>\n  SetHandler echo\n  SetInputFilter INFLATE\n  RequestBodyBufferSize 9\n"
      "  SetOutputFilter REVERSE;DEFLATE:level=2\n  AddOutputFilterByType DEFLATE text/html text/css\n"
      "</Location>\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listens.size(), 2u);
  EXPECT_EQ(c->listens[1].protocol, "echo-socket");
  EXPECT_EQ(c->workers, 4);
  EXPECT_EQ(c->max_keepalive_requests, 7);
  EXPECT_EQ(c->limit_request_body, 1000u);
  EXPECT_EQ(c->inflate_ratio, 50);
  EXPECT_EQ(c->graceful_shutdown_timeout_s, 3);
  EXPECT_EQ(c->body_buffer_size, 4096u);
  EXPECT_EQ(c->body_temp_dir, tmp_);
  EXPECT_EQ(c->blocking_pool_threads, 2);
  ASSERT_EQ(c->locations.size(), 1u);
  const LocationConfig& api = c->locations[0];
  EXPECT_EQ(api.prefix, "/api");
  EXPECT_EQ(api.handler, "echo");
  EXPECT_EQ(api.output_filters, (std::vector<std::string>{"REVERSE", "DEFLATE:level=2"}));
  EXPECT_EQ(api.filters_by_type[0].second, (std::vector<std::string>{"text/html", "text/css"}));
  EXPECT_EQ(api.body_buffer_size, std::optional<uint64_t>(9));
  EXPECT_FALSE(api.body_temp_dir.has_value()) << "unset: the server's applies";
}

TEST_F(ConfigTest, ErrorsNameFileLineAndReason) {
  struct Case {
    std::string text;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"Listen 127.0.0.1:0\nBogus 1\n", "test.conf:2: unknown directive Bogus"},
           {"Listen localhost:80\n", "test.conf:1: Listen localhost:80: expected an IPv4 address"},
           {"Listen 127.0.0.1:80 gopher\n", "test.conf:1: Listen: unknown protocol gopher"},
           {"Listen 127.0.0.1:0\nWorkers 0\n", "test.conf:2: Workers 0: expected a number from 1 to 256"},
           {"Listen 127.0.0.1:0\nDocumentRoot /no/such/dir\n", "is not a directory"},
           {"Listen 127.0.0.1:0\nSetHandler echo\n", "test.conf:2: SetHandler belongs inside <Location>"},
           {"Listen 127.0.0.1:0\n<Location /a>\nSetOutputFilter DEFLATE:level=0\n</Location>\n",
            "test.conf:3: DEFLATE: option level=0"},
           {"Listen 127.0.0.1:0\n<Location /a>\nSetInputFilter CHUNK\n</Location>\n",
            "test.conf:3: no input filter named CHUNK"},
           {"Listen 127.0.0.1:0\n<Location /a>\n<Location /b>\n", "test.conf:3: <Location> sections do not nest"},
           {"Listen 127.0.0.1:0\n</Location>\n", "test.conf:2: </Location> without <Location>"},
           {"Workers 2\n", "no Listen directive"},
       }) {
    absl::StatusOr<ServerConfig> r = Parse(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().message().find(c.message), std::string::npos)
        << "got: " << r.status().message() << "\nwant: " << c.message;
  }
}

}  // namespace
}  // namespace brigade::server
