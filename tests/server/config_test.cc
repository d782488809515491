#include "server/config.h"

#include <cstdlib>
#include <string>

#include "builtin/modules.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace brigade::server {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(builtin::RegisterBuiltins(registries_).ok()); }
  [[nodiscard]] absl::StatusOr<ServerConfig> Parse(const std::string& text) {
    return ParseConfig(text, "test.conf", registries_);
  }
  modules::Registries registries_;
  std::string tmp_ = std::getenv("TEST_TMPDIR");
};

TEST_F(ConfigTest, ReadsEveryDirective) {
  absl::StatusOr<ServerConfig> c = Parse(
      "# comment\n"
      "Listen 127.0.0.1:8080\nListen 127.0.0.1:9000 echo-socket\nWorkers 4\n"
      "DocumentRoot " + tmp_ + "\nTimeout 30\nKeepAliveTimeout 2\n"
      "MaxKeepAliveRequests 7\nLimitRequestLine 4096\nLimitRequestFields 50\n"
      "LimitRequestFieldSize 4000\nLimitRequestBody 1000\nDeflateCompressionLevel 9\n"
      "DeflateInflateLimitRequestBody 5000\nDeflateInflateRatioLimit 50\n"
      "GracefulShutdownTimeout 3\nRequestBodyBufferSize 4096\nRequestBodyTempDir " + tmp_ +
      "\nBlockingPoolThreads 2\nSendBufferSize 65536\n"
      "<Location /api>\n  SetHandler echo\n  SetInputFilter INFLATE\n  RequestBodyBufferSize 9\n"
      "  SetOutputFilter REVERSE;DEFLATE:level=2\n  AddOutputFilterByType DEFLATE text/html text/css\n"
      "</Location>\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listens.size(), 2u);
  EXPECT_EQ(c->listens[1].protocol, "echo-socket");
  EXPECT_EQ(c->workers, 4);
  EXPECT_EQ(c->max_keepalive_requests, 7);
  EXPECT_EQ(c->limit_request_body, 1000u);
  EXPECT_EQ(c->graceful_shutdown_timeout_s, 3);
  EXPECT_EQ(c->body_buffer_size, 4096u);
  EXPECT_EQ(c->body_temp_dir, tmp_);
  EXPECT_EQ(c->blocking_pool_threads, 2);
  EXPECT_EQ(c->send_buffer_size, 65536);
  ASSERT_EQ(c->locations.size(), 1u);
  const LocationConfig& api = c->locations[0];
  EXPECT_EQ(api.prefix, "/api");
  ASSERT_EQ(api.handlers.size(), 1u);
  EXPECT_EQ(api.handlers[0].phase, handlers::Phase::kResponse);
  EXPECT_EQ(api.handlers[0].name, "echo");
  EXPECT_EQ(api.output_filters, (std::vector<std::string>{"REVERSE", "DEFLATE:level=2"}));
  EXPECT_EQ(api.filters_by_type[0].second, (std::vector<std::string>{"text/html", "text/css"}));
  EXPECT_EQ(api.body_buffer_size, std::optional<uint64_t>(9));
  EXPECT_FALSE(api.body_temp_dir.has_value()) << "unset: the server's applies";
}

TEST_F(ConfigTest, PerPhaseHandlerDirectivesStackInTheOrderNamed) {
  ASSERT_TRUE(registries_.handlers.Add(handlers::Phase::kAccess, "a1", nullptr).ok());
  ASSERT_TRUE(registries_.handlers.Add(handlers::Phase::kAccess, "a2", nullptr).ok());
  ASSERT_TRUE(registries_.handlers.Add(handlers::Phase::kCleanup, "c", nullptr).ok());
  absl::StatusOr<ServerConfig> c = Parse(
      "Listen 127.0.0.1:0\nAccessHandler a2\nAccessHandler a1 a2\nResponseHandler echo\n"
      "<Location /x>\nCleanupHandler c c\nAccessHandler a1\nSetHandler status\n</Location>\n");
  ASSERT_TRUE(c.ok()) << c.status();
  auto names = [](const std::vector<HandlerRef>& refs) {
    std::vector<std::string> out;
    for (const HandlerRef& r : refs) out.push_back(absl::StrCat(handlers::PhaseName(r.phase), ":", r.name));
    return out;
  };
  EXPECT_EQ(names(c->handlers),
            (std::vector<std::string>{"access:a2", "access:a1", "access:a2", "response:echo"}));
  EXPECT_EQ(names(c->locations[0].handlers),
            (std::vector<std::string>{"cleanup:c", "cleanup:c", "access:a1", "response:status"}));
}

TEST_F(ConfigTest, QuotedWordsKeepTheirSpacesAndEscapes) {
  ASSERT_TRUE(registries_.handlers.Add(handlers::Phase::kAccess, "two words", nullptr).ok());
  absl::StatusOr<ServerConfig> c = Parse("Listen 127.0.0.1:0\nAccessHandler \"two words\"\n");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->handlers.size(), 1u);
  EXPECT_EQ(c->handlers[0].name, "two words");
  for (const auto& [text, want] : std::vector<std::pair<std::string, std::string>>{
           {"AccessHandler \"open\n", "test.conf:2: the quote at column 15 is never closed"},
           {"AccessHandler \"a\"b\n", "test.conf:2: a quoted word ends at column 17 without a space after it"},
       }) {
    absl::StatusOr<ServerConfig> bad = Parse("Listen 127.0.0.1:0\n" + text);
    EXPECT_EQ(bad.status().message(), want);
  }
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
           {"Listen 127.0.0.1:0\n<Location /a>\nSetHandler nope\n</Location>\n",
            "test.conf:3: SetHandler: no response handler named nope (known: echo, echo-stream, "
            "static, status)"},
           {"Listen 127.0.0.1:0\nAccessHandler static\n",
            "test.conf:2: AccessHandler: static is a handler for response, not for access"},
           {"Listen 127.0.0.1:0\nTransHandler\n",
            "test.conf:2: TransHandler takes one or more handler names"},
           {"Listen 127.0.0.1:0\n<Location /a>\nPreConnectionHandler x\n</Location>\n",
            "test.conf:3: PreConnectionHandler belongs outside <Location>"},
           {"Listen 127.0.0.1:0\nPreConnectionHandler echo-socket\n",
            "test.conf:2: PreConnectionHandler: echo-socket is a handler for process_connection, "
            "not for pre_connection (known: none)"},
           {"Listen 127.0.0.1:80 gopher\n", "(http, echo, echo-socket)"},
       }) {
    absl::StatusOr<ServerConfig> r = Parse(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().message().find(c.message), std::string::npos)
        << "got: " << r.status().message() << "\nwant: " << c.message;
  }
}

}  // namespace
}  // namespace brigade::server
