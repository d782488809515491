#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "brigade/brigade.h"
#include "filters/chain.h"
#include "filters/exchange.h"
#include "gtest/gtest.h"
#include "server/http_filters.h"

namespace brigade::server {
namespace {

using filters::Flow;

// Keeps what reaches it, flattened.
class Capture : public filters::OutputFilter {
 public:
  Capture() : OutputFilter("CAPTURE", filters::FilterKind::kNetwork) {}
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override {
    absl::StatusOr<std::string> all = bb.FlattenToString(1 << 20);
    if (!all.ok()) return all.status();
    text += *all;
    bb.Clear();
    return Flow::kDone;
  }
  std::string text;
};

// The head HTTP_HEADER writes for a 200 response with `fields` and a 5-byte body.
std::string HeadFor(const std::vector<std::pair<std::string, std::string>>& fields) {
  filters::Exchange ex;
  ex.status = 200;
  for (const auto& [name, value] : fields) ex.response_headers.Add(name, value);
  ResponseFraming framing;
  filters::OutputChain chain(&ex);
  chain.Add(std::make_unique<HttpHeaderFilter>(&framing, "brigaded"));
  auto* capture = static_cast<Capture*>(chain.Add(std::make_unique<Capture>()));
  BucketAllocator* alloc = BucketAllocator::ForThisThread();
  Brigade bb(alloc);
  bb.Append(Bucket::Immortal(alloc, "hello"));
  bb.Append(Bucket::Eos(alloc));
  EXPECT_TRUE(chain.Pass(bb).ok());
  size_t end = capture->text.find("\r\n\r\n");
  EXPECT_NE(end, std::string::npos);
  EXPECT_EQ(capture->text.substr(end + 4), "hello");
  EXPECT_EQ(framing.header_bytes, end + 4);
  return capture->text.substr(0, end + 2);
}

int Count(const std::string& head, absl::string_view prefix) {
  int n = 0;
  for (absl::string_view line : absl::StrSplit(head, "\r\n")) n += absl::StartsWith(line, prefix);
  return n;
}

TEST(HttpHeaderFilterTest, AddsDateAndServerAfterTheResponsesFields) {
  std::string head = HeadFor({{"Content-Type", "text/plain"}, {"Content-Length", "5"}});
  EXPECT_TRUE(absl::StartsWith(head, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                     "Content-Length: 5\r\nDate: "))
      << head;
  EXPECT_TRUE(absl::EndsWith(head, " GMT\r\nServer: brigaded\r\n")) << head;
  EXPECT_EQ(Count(head, "Date: "), 1);
}

TEST(HttpHeaderFilterTest, ReplacesTheResponsesDateAndKeepsItsServer) {
  std::string head = HeadFor({{"date", "Thu, 01 Jan 1970 00:00:00 GMT"},
                              {"Server", "mine/1.0"},
                              {"Content-Length", "5"}});
  EXPECT_EQ(head.find("1970"), std::string::npos) << head;
  EXPECT_EQ(Count(head, "Date: "), 1) << head;
  EXPECT_EQ(Count(head, "date: "), 0) << head;
  EXPECT_EQ(Count(head, "Server: "), 1) << head;
  EXPECT_NE(head.find("Server: mine/1.0\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("brigaded"), std::string::npos) << head;
}

}  // namespace
}  // namespace brigade::server
