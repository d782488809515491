#include "server/http_parser.h"

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace brigade::server {
namespace {

// Feeds `head` line by line; returns the first error or nullopt.
std::optional<HttpError> Parse(const std::string& head, RequestHead* out = nullptr,
                               HeadLimits limits = HeadLimits()) {
  RequestHeadParser p(limits);
  size_t pos = 0;
  while (pos < head.size() && !p.done()) {
    size_t lf = head.find('\n', pos);
    size_t end = lf == std::string::npos ? head.size() : lf + 1;
    if (std::optional<HttpError> e = p.AddLine(head.substr(pos, end - pos))) return e;
    pos = end;
  }
  if (out != nullptr) *out = p.head();
  return std::nullopt;
}

TEST(HttpParserTest, ParsesAnOrdinaryRequest) {
  RequestHead h;
  ASSERT_FALSE(Parse("GET /a/b?x=1 HTTP/1.1\r\nHost: example.test\r\nAccept: */*\r\n\r\n", &h));
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.path, "/a/b");
  EXPECT_EQ(h.query, "x=1");
  EXPECT_EQ(h.protocol, "HTTP/1.1");
  EXPECT_EQ(h.headers.Get("host"), "example.test");
  EXPECT_TRUE(h.keep_alive);
}

TEST(HttpParserTest, BodyFramingAndConnectionOptions) {
  RequestHead h;
  ASSERT_FALSE(Parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\nConnection: close\r\n\r\n", &h));
  EXPECT_EQ(h.content_length, 12u);
  EXPECT_FALSE(h.keep_alive);
  ASSERT_FALSE(Parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\nExpect: 100-continue\r\n\r\n", &h));
  EXPECT_TRUE(h.chunked);
  EXPECT_TRUE(h.expect_continue);
  ASSERT_FALSE(Parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &h));
  EXPECT_TRUE(h.keep_alive);
  ASSERT_FALSE(Parse("GET / HTTP/1.0\r\n\r\n", &h));
  EXPECT_FALSE(h.keep_alive);
}

TEST(HttpParserTest, AbsoluteFormSetsHost) {
  RequestHead h;
  ASSERT_FALSE(Parse("GET http://example.test:8080/p?q HTTP/1.1\r\n\r\n", &h));
  EXPECT_EQ(h.path, "/p");
  EXPECT_EQ(h.query, "q");
  EXPECT_EQ(h.headers.Get("Host"), "example.test:8080");
  ASSERT_FALSE(Parse("GET http://example.test?q HTTP/1.1\r\n\r\n", &h));
  EXPECT_EQ(h.path, "/");
}

TEST(HttpParserTest, RefusesWithTheRightStatus) {
  struct Case {
    std::string head;
    int status;
  };
  std::vector<Case> cases = {
      {"GET / HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505},
      {"GET / HTTP/1.1\nHost: x\n\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: br\r\n\r\n", 501},
      {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n", 417},
      {"CONNECT a:1 HTTP/1.1\r\nHost: a\r\n\r\n", 501},
      {"GET /" + std::string(100, 'a') + " HTTP/1.1\r\n", 414},
      {"GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(100, 'v') + "\r\n\r\n", 431},
      {"GET / HTTP/1.1\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\n\r\n", 431},
  };
  HeadLimits small{.request_line = 64, .fields = 3, .field_size = 64};
  for (const Case& c : cases) {
    std::optional<HttpError> e = Parse(c.head, nullptr, small);
    ASSERT_TRUE(e.has_value()) << c.head;
    EXPECT_EQ(e->status, c.status) << c.head << ": " << e->message;
    EXPECT_FALSE(e->message.empty());
  }
}

}  // namespace
}  // namespace brigade::server
