#include "server/head_reader.h"

#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "filters/core_input.h"
#include "gtest/gtest.h"

namespace brigade::server {
namespace {

// CORE_IN over one end of a socket pair, as a connection has it; `Send` writes the client's
// bytes to the other end.
struct Wire {
  Wire() {
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    Brigade src(alloc);
    src.Append(Bucket::FromSource(alloc, Source::Adopt(Source::Kind::kSocket, fds[0], true)));
    core = static_cast<filters::CoreInputFilter*>(
        in.Add(std::make_unique<filters::CoreInputFilter>(std::move(src))));
  }
  ~Wire() { close(fds[1]); }
  void Send(const std::string& bytes) {
    EXPECT_EQ(write(fds[1], bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }

  BucketAllocator* alloc = BucketAllocator::ForThisThread();
  int fds[2] = {-1, -1};
  filters::Exchange ex;
  filters::InputChain in{&ex};
  filters::CoreInputFilter* core = nullptr;
};

// A head reader on a Wire.
class HeadReaderTest : public ::testing::Test {
 protected:
  void Send(const std::string& bytes) { wire_.Send(bytes); }
  // Steps until the reader stops for something other than another line.
  HeadReader::Result Run() {
    while (true) {
      HeadReader::Result r = reader_.Step(in_, wire_.core, alloc_, limits_, &bytes_, &error_);
      if (r != HeadReader::Result::kLine) return r;
    }
  }

  Wire wire_;
  BucketAllocator* alloc_ = wire_.alloc;
  filters::InputChain& in_ = wire_.in;
  HeadLimits limits_{.request_line = 64, .fields = 4, .field_size = 32};
  HeadReader reader_;
  uint64_t bytes_ = 0;
  HttpError error_;
};

TEST_F(HeadReaderTest, AHeadSentAByteAtATimeIsReadAsIfWhole) {
  const std::string head = "\r\nGET /a?b HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n";
  for (size_t i = 0; i + 1 < head.size(); ++i) {
    Send(head.substr(i, 1));
    ASSERT_EQ(Run(), HeadReader::Result::kWait) << "after byte " << i;
    EXPECT_EQ(reader_.mid_head(), i >= 2) << "after byte " << i;
  }
  Send(head.substr(head.size() - 1));
  ASSERT_EQ(Run(), HeadReader::Result::kHead);
  EXPECT_EQ(bytes_, head.size() - 2);  // the leading CRLF is skipped, not counted
  EXPECT_EQ(reader_.request_line(), "GET /a?b HTTP/1.1");
  EXPECT_EQ(reader_.head().path, "/a");
  EXPECT_EQ(reader_.head().query, "b");
  EXPECT_EQ(reader_.head().headers.Get("X-A"), "1");
  EXPECT_FALSE(reader_.mid_head());
}

TEST_F(HeadReaderTest, PipelinedHeadsComeOneAtATime) {
  Send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTT");
  std::vector<std::string> paths;
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(Run(), HeadReader::Result::kHead);
    paths.push_back(reader_.head().path);
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"/1", "/2"}));
  EXPECT_EQ(Run(), HeadReader::Result::kWait);
  EXPECT_TRUE(reader_.mid_head());
}

// The parser and its fields' storage are kept from head to head: nothing of one head shows in
// the next, whether the first's fields were moved out and given back or left in place.
TEST_F(HeadReaderTest, AHeadParsedAfterAnotherCarriesNothingOfIt) {
  Send("POST /1?q=1 HTTP/1.0\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n"
       "Expect: 100-continue\r\n\r\n"
       "GET /2 HTTP/1.1\r\nHost: y\r\n\r\n"
       "GET /3 HTTP/1.1\r\nHost: z\r\nTransfer-Encoding: chunked\r\n\r\n"
       "GET /4 HTTP/1.1\r\nHost: w\r\n\r\n");
  ASSERT_EQ(Run(), HeadReader::Result::kHead);
  EXPECT_EQ(reader_.head().content_length, 0u);
  EXPECT_FALSE(reader_.head().keep_alive);
  filters::HeaderMap taken = std::move(reader_.head().headers);
  EXPECT_EQ(taken.size(), 4u);
  reader_.ReturnFields(std::move(taken));

  ASSERT_EQ(Run(), HeadReader::Result::kHead);
  const RequestHead& second = reader_.head();
  EXPECT_EQ(reader_.request_line(), "GET /2 HTTP/1.1");
  EXPECT_EQ(second.method, "GET");
  EXPECT_EQ(second.path, "/2");
  EXPECT_EQ(second.query, "");
  EXPECT_EQ(second.protocol, "HTTP/1.1");
  EXPECT_FALSE(second.content_length.has_value());
  EXPECT_FALSE(second.expect_continue);
  EXPECT_TRUE(second.keep_alive);
  ASSERT_EQ(second.headers.size(), 1u);
  EXPECT_EQ(second.headers.Get("Host"), "y");

  ASSERT_EQ(Run(), HeadReader::Result::kHead);
  EXPECT_TRUE(reader_.head().chunked);
  ASSERT_EQ(Run(), HeadReader::Result::kHead);  // its fields were left in the parser
  EXPECT_FALSE(reader_.head().chunked);
  EXPECT_EQ(reader_.head().path, "/4");
  ASSERT_EQ(reader_.head().headers.size(), 1u);
  EXPECT_EQ(reader_.head().headers.Get("Host"), "w");
}

// A head cut off before its first line is whole (the header timeout's 408) has no request
// line yet: the log must not show the previous head's.
TEST_F(HeadReaderTest, AHeadWithoutItsFirstLineYetHasNoRequestLine) {
  Send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HT");
  ASSERT_EQ(Run(), HeadReader::Result::kHead);
  EXPECT_EQ(reader_.request_line(), "GET /1 HTTP/1.1");
  ASSERT_EQ(Run(), HeadReader::Result::kWait);
  EXPECT_TRUE(reader_.mid_head());
  EXPECT_EQ(reader_.request_line(), "");
}

TEST_F(HeadReaderTest, AnOverlongRequestLineIs414WhetherItArrivesWholeOrInParts) {
  Send("GET /" + std::string(40, 'a'));
  EXPECT_EQ(Run(), HeadReader::Result::kWait);
  Send(std::string(40, 'a') + " HTTP/1.1\r\n");
  ASSERT_EQ(Run(), HeadReader::Result::kError);
  EXPECT_EQ(error_.status, 414);
}

TEST_F(HeadReaderTest, AnOverlongFieldIs431) {
  Send("GET / HTTP/1.1\r\nX: " + std::string(40, 'v') + "\r\n\r\n");
  ASSERT_EQ(Run(), HeadReader::Result::kError);
  EXPECT_EQ(error_.status, 431);
}

TEST_F(HeadReaderTest, AClientClosingBetweenOrInsideHeadsIsClosed) {
  Send("GET / HTTP/1.1\r\nHo");
  EXPECT_EQ(Run(), HeadReader::Result::kWait);
  shutdown(wire_.fds[1], SHUT_WR);
  EXPECT_EQ(Run(), HeadReader::Result::kClosed);
}

TEST_F(HeadReaderTest, AnIdleConnectionThatClosesIsClosedNotAnError) {
  EXPECT_EQ(Run(), HeadReader::Result::kWait);
  EXPECT_FALSE(reader_.mid_head());
  shutdown(wire_.fds[1], SHUT_WR);
  EXPECT_EQ(Run(), HeadReader::Result::kClosed);
  EXPECT_EQ(bytes_, 0u);
}

TEST_F(HeadReaderTest, AWholeHeadIsReadInOneStepAndLeavesTheBodyUnread) {
  const std::string head = "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n";
  Send(head + "helloGET /2 HTTP/1.1\r\n");
  ASSERT_EQ(reader_.Step(in_, wire_.core, alloc_, limits_, &bytes_, &error_), HeadReader::Result::kHead);
  EXPECT_EQ(bytes_, head.size());
  EXPECT_EQ(reader_.request_line(), "POST /p HTTP/1.1");
  EXPECT_EQ(reader_.head().content_length, 5u);
  Brigade body(alloc_);
  ASSERT_TRUE(in_.Read(body, filters::ReadMode::kReadBytes, BlockMode::kNonBlock, 5).ok());
  EXPECT_EQ(body.FlattenToString(100).value(), "hello");
  EXPECT_EQ(Run(), HeadReader::Result::kWait);  // the next head has begun
  EXPECT_TRUE(reader_.mid_head());
}

// A first block that ends inside the head: its whole lines are parsed where they lie, and the
// rest of the head, a field cut in two included, comes by the line path.
TEST_F(HeadReaderTest, AHeadCutOffAfterItsFirstLinesGoesOnFromWhereTheBlockEnded) {
  const std::string head = "GET /c HTTP/1.1\r\nHost: x\r\nX-A: 12\r\nX-B: 3\r\n\r\n";
  const size_t cut = head.find("12") + 1;  // inside X-A's value
  Send("\r\n" + head.substr(0, cut));
  ASSERT_EQ(Run(), HeadReader::Result::kWait);
  EXPECT_TRUE(reader_.mid_head());
  EXPECT_EQ(reader_.request_line(), "GET /c HTTP/1.1");
  Send(head.substr(cut));
  ASSERT_EQ(Run(), HeadReader::Result::kHead);
  EXPECT_EQ(bytes_, head.size());
  EXPECT_EQ(reader_.head().path, "/c");
  EXPECT_EQ(reader_.head().headers.size(), 3u);
  EXPECT_EQ(reader_.head().headers.Get("X-A"), "12");
  EXPECT_EQ(reader_.head().headers.Get("X-B"), "3");
  EXPECT_FALSE(reader_.mid_head());
}

// Empty lines before a request line (a client's CRLF after a body) are taken with the head in
// the same step, not counted in it, and leave the body that follows unread.
TEST_F(HeadReaderTest, EmptyLinesBeforeAWholeHeadGoWithItInOneStep) {
  const std::string head = "PUT /q HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n";
  Send("\r\n\n\r\n" + head + "okGET");
  ASSERT_EQ(reader_.Step(in_, wire_.core, alloc_, limits_, &bytes_, &error_), HeadReader::Result::kHead);
  EXPECT_EQ(bytes_, head.size());
  EXPECT_EQ(reader_.request_line(), "PUT /q HTTP/1.1");
  Brigade body(alloc_);
  ASSERT_TRUE(in_.Read(body, filters::ReadMode::kReadBytes, BlockMode::kNonBlock, 2).ok());
  EXPECT_EQ(body.FlattenToString(100).value(), "ok");
  EXPECT_EQ(Run(), HeadReader::Result::kWait);
  EXPECT_TRUE(reader_.mid_head());
  // Empty lines alone are eaten and the reader waits, no head begun.
  Send(" / HTTP/1.1\r\nHost: x\r\n\r\n\r\n\r\n");
  ASSERT_EQ(Run(), HeadReader::Result::kHead);
  EXPECT_EQ(reader_.head().method, "GET");
  EXPECT_EQ(Run(), HeadReader::Result::kWait);
  EXPECT_FALSE(reader_.mid_head());
}

// A filter above CORE_IN that serves GETLINE and READBYTES but refuses SPECULATIVE, as a
// connection filter may: heads still come whole, a line per read.
class NoPeekFilter : public filters::InputFilter {
 public:
  NoPeekFilter() : InputFilter("NO_PEEK", filters::FilterKind::kConnection) {}
  absl::Status Read(Brigade& out, filters::ReadMode mode, BlockMode block,
                    size_t readbytes) override {
    if (mode == filters::ReadMode::kSpeculative) return absl::UnimplementedError("no peeking");
    ++reads;
    return ReadNext(out, mode, block, readbytes);
  }
  int reads = 0;
};

TEST_F(HeadReaderTest, UnderAConnectionFilterAHeadIsReadALinePerRead) {
  auto* filter = static_cast<NoPeekFilter*>(in_.Add(std::make_unique<NoPeekFilter>()));
  Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(Run(), HeadReader::Result::kHead);
  EXPECT_EQ(reader_.head().path, "/a");
  EXPECT_EQ(filter->reads, 4);  // the CRLFs before it, then three lines
}

// The error that reading `head`, written `piece` bytes at a time, ends in: on a Wire of its own.
HttpError ErrorOf(const std::string& head, size_t piece) {
  Wire wire;
  HeadReader reader;
  uint64_t bytes = 0;
  HttpError error;
  HeadReader::Result r = HeadReader::Result::kWait;
  for (size_t at = 0; at < head.size() && r == HeadReader::Result::kWait; at += piece) {
    wire.Send(head.substr(at, piece));
    do {
      r = reader.Step(wire.in, wire.core, wire.alloc,
                      HeadLimits{.request_line = 64, .fields = 4, .field_size = 32}, &bytes,
                      &error);
    } while (r == HeadReader::Result::kLine);
  }
  EXPECT_EQ(r, HeadReader::Result::kError) << head;
  return error;
}

// Whole in one read or a byte at a time, a malformed head fails with the same status and
// message.
TEST(HeadReaderPaths, MalformedHeadsFailAlikeWholeAndByteByByte) {
  const std::vector<std::string> heads = {
      "GET / HTTP/1.1\nHost: x\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\n\r\n",
      "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
      "GET / HTTP/1.1\r\n X: y\r\nHost: x\r\n\r\n",
      "GET / HTTP/2.0\r\nHost: x\r\n\r\n",
      "GET / HTTP/1.1\r\n\r\n",
      "GET /" + std::string(70, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET / HTTP/1.1\r\nX: " + std::string(40, 'v') + "\r\nHost: x\r\n\r\n",
      "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nHost: x\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\n",
      std::string("GET / HTTP/1.1\r\nHost: x\r\nX: a\x01") + "b\r\n\r\n",
  };
  for (const std::string& head : heads) {
    HttpError whole = ErrorOf(head, head.size());
    HttpError cut = ErrorOf(head, 1);
    EXPECT_EQ(whole.status, cut.status) << head;
    EXPECT_EQ(whole.message, cut.message) << head;
  }
}

}  // namespace
}  // namespace brigade::server
