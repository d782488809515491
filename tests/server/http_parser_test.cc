#include "server/http_parser.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
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

// Each byte is looked at once, by the part of the line it is in; the message still names what
// was wrong, wherever in the line it is.
TEST(HttpParserTest, NamesWhatIsWrongWhereverItIs) {
  struct Case {
    std::string head;
    std::string message;
  };
  using namespace std::string_literals;
  std::vector<Case> cases = {
      {"G\0T / HTTP/1.1\r\n"s, "CR, LF or NUL inside a line of the request head"},
      {"GET /a\rb HTTP/1.1\r\n", "CR, LF or NUL inside a line of the request head"},
      {"GET / HTTP/1.\r\r\n", "CR, LF or NUL inside a line of the request head"},
      {"GET / HTTP/1.1\r\nHo\rst: x\r\n", "CR, LF or NUL inside a line of the request head"},
      {"GET / HTTP/1.1\r\nHost: a\0b\r\n"s, "CR, LF or NUL inside a line of the request head"},
      {"G(T / HTTP/1.1\r\n", "request method is not a token"},
      {"GET /a\tb HTTP/1.1\r\n", "invalid character in request target"},
      {"GET  HTTP/1.1\r\n", "empty request target"},
      {" / HTTP/1.1\r\n", "request line is not METHOD SP TARGET SP VERSION"},
      {"GET /\r\n", "request line is not METHOD SP TARGET SP VERSION"},
      {"GET / HTTP/1.1 \r\n", "request line is not METHOD SP TARGET SP VERSION"},
      {"GET / HTTP/1.1 x\r\n", "request line is not METHOD SP TARGET SP VERSION"},
      {"GET / HTTP/1x1\r\n", "malformed HTTP version"},
      {"GET /a#b HTTP/1.1\r\n", "fragment in request target"},
      {"GET / HTTP/1.1\r\nHost\r\n", "header field without a colon"},
      {"GET / HTTP/1.1\r\nHost\t: x\r\n", "whitespace or nothing before a header field's colon"},
      {"GET / HTTP/1.1\r\n: x\r\n", "whitespace or nothing before a header field's colon"},
      {"GET / HTTP/1.1\r\nHo st: x\r\n", "invalid header field name"},
      {"GET / HTTP/1.1\r\nHo(st: x\r\n", "invalid header field name"},
      {"GET / HTTP/1.1\r\nX: a\x7f\r\n", "control character in a header value"},
      // OWS is SP and HTAB: a vertical tab or form feed at a value's end is not trimmed away.
      {"GET / HTTP/1.1\r\nX: a\v\r\n", "control character in a header value"},
      {"GET / HTTP/1.1\r\nX: \fa\r\n", "control character in a header value"},
      {"GET / HTTP/1.1\r\nHost: a@b\r\n", "invalid Host value"},
      {"GET / HTTP/1.1\r\nHost: a/b\r\n", "invalid Host value"},
      {"GET http://a@b/ HTTP/1.1\r\n\r\n", "invalid Host value"},
  };
  for (const Case& c : cases) {
    std::optional<HttpError> e = Parse(c.head);
    ASSERT_TRUE(e.has_value()) << absl::CEscape(c.head);
    EXPECT_EQ(e->status, 400) << absl::CEscape(c.head);
    EXPECT_EQ(e->message, c.message) << absl::CEscape(c.head);
  }
}

TEST(HttpParserTest, FieldValuesAndNamesAsSent) {
  RequestHead h;
  ASSERT_FALSE(Parse("GET /p?a=1#x HTTP/1.0\r\nhOsT: \t h:1 \t\r\nX-Y:\r\n"
                     "Z: caf\xc3\xa9 \"q\"\r\nContent-LENGTH: 3\r\n\r\n",
                     &h));
  EXPECT_EQ(h.protocol, "HTTP/1.0");
  EXPECT_FALSE(h.keep_alive);
  EXPECT_EQ(h.path, "/p");
  EXPECT_EQ(h.query, "a=1#x");
  EXPECT_EQ(h.content_length, 3u);
  ASSERT_EQ(h.headers.size(), 4u);
  EXPECT_EQ(h.headers.begin()[0].first, "hOsT");
  EXPECT_EQ(h.headers.Get("host"), "h:1");
  EXPECT_EQ(h.headers.Get("x-y"), "");
  EXPECT_EQ(h.headers.Get("Z"), "caf\xc3\xa9 \"q\"");
  // A bad Host field is ignored, not refused, where an absolute-form target names the host.
  ASSERT_FALSE(Parse("OPTIONS http://good:80 HTTP/1.1\r\nHost: b@d\r\n\r\n", &h));
  EXPECT_EQ(h.headers.Get("Host"), "good:80");
  EXPECT_EQ(h.path, "/");
  // Names are compared in any case, and only names of the same length and letters match.
  ASSERT_FALSE(Parse("GET / HTTP/1.1\r\nHost: x\r\nCONNECTION: Close\r\n\r\n", &h));
  EXPECT_FALSE(h.keep_alive);
  ASSERT_FALSE(Parse("GET / HTTP/1.1\r\nHost: x\r\nConnection_: close\r\n"
                     "Content-Lengt: x\r\n\r\n",
                     &h));
  EXPECT_TRUE(h.keep_alive);
  EXPECT_FALSE(h.content_length.has_value());
}

}  // namespace
}  // namespace brigade::server
