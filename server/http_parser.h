// Parsing of HTTP/1.1 request heads (RFC 9112 sections 2-3, 5-6), strictly: one line at a time
// as the connection's GETLINE reads return them.
//
// Refused, each with the status a client should see and a message saying what was wrong:
//   400  malformed request line or field line, bare LF, whitespace before a colon, obs-fold,
//        control characters, missing or repeated Host in HTTP/1.1, Content-Length that is not
//        a number or conflicts, Transfer-Encoding with Content-Length or in HTTP/1.0
//   414  request line over LimitRequestLine
//   431  a field over LimitRequestFieldSize, or more than LimitRequestFields fields
//   417  an Expect other than 100-continue
//   501  a transfer coding other than chunked, or CONNECT
//   505  an HTTP version other than 1.0 and 1.1
//
// Thread-safety: none; one parser per request.

#ifndef SERVER_HTTP_PARSER_H_
#define SERVER_HTTP_PARSER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "filters/exchange.h"
#include "server/request_slot.h"

namespace brigade::server {

struct HttpError {
  int status;
  std::string message;
};

struct HeadLimits {
  size_t request_line = 8190;
  size_t fields = 100;
  size_t field_size = 8190;
  bool operator==(const HeadLimits&) const = default;
};

struct RequestHead {
  std::string method;
  std::string target;    // as sent
  std::string path;      // the target's path, still percent-encoded
  std::string query;     // after '?', without it
  std::string protocol;  // "HTTP/1.1" or "HTTP/1.0"
  filters::HeaderMap headers;
  std::optional<uint64_t> content_length;
  bool chunked = false;
  bool expect_continue = false;
  bool keep_alive = true;  // what the request asks for (Connection, version)
};

// A request slot, so that a worker keeps parsers, and the room their fields took, for its next
// heads (HeadReader::TakeParser).
class RequestHeadParser final : public RequestSlot {
 public:
  explicit RequestHeadParser(const HeadLimits& limits) : limits_(limits) {}

  // Starts a new head within `limits`, keeping the room the last one's strings and fields took:
  // a connection parses one head after another without allocating.
  void Reset(const HeadLimits& limits);

  // Feeds one line including its terminator, or a part of an over-long line without one.
  // Returns an error, or nullopt; done() tells when the empty line ended the head.
  std::optional<HttpError> AddLine(absl::string_view line);
  bool done() const { return done_; }
  bool started() const { return started_; }
  const HeadLimits& limits() const { return limits_; }
  RequestHead& head() { return head_; }

 private:
  std::optional<HttpError> RequestLine(absl::string_view line);
  std::optional<HttpError> FieldLine(absl::string_view line);
  std::optional<HttpError> Finish();

  // The fields Finish checks, noted as they are added, so that it looks up only those sent.
  enum Known : uint8_t {
    kHost = 1,
    kContentLength = 2,
    kTransferEncoding = 4,
    kExpect = 8,
    kConnection = 16,
  };
  static uint8_t Classify(absl::string_view name);

  HeadLimits limits_;
  RequestHead head_;
  bool started_ = false;
  bool done_ = false;
  size_t fields_ = 0;
  size_t hosts_ = 0;
  uint8_t known_ = 0;  // Known bits of the fields sent
  std::optional<std::string> absolute_host_;  // the authority of an absolute-form target
};

}  // namespace brigade::server

#endif  // SERVER_HTTP_PARSER_H_
