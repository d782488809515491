// HeadReader: reads request heads from a connection's input chain without ever blocking —
// GETLINE reads (NONBLOCK) of at most the line limit, the parts of a line that arrives across
// several reads joined, each complete line fed to the strict RequestHeadParser.
//
// A head that is already whole in the input's first block (the usual case: one read brought
// it) is parsed where it lies in CORE_IN's buffer and consumed there (CoreInputFilter::
// PeekFront, ConsumeFront), instead of a GETLINE read per line. The parser sees the same lines
// either way, so the outcome is the same; only a chain of CORE_IN alone takes this path, since
// a connection filter above it (a TLS layer, a user's) changes what the bytes are.
//
// It is the worker's only way of reading a head (HttpConnection) and the unit the head fuzzer
// drives with input cut into reads at arbitrary points, so resumption across partial lines is
// tested the way it runs.
//
// Thread-safety: none; belongs to its connection.

#ifndef SERVER_HEAD_READER_H_
#define SERVER_HEAD_READER_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "brigade/allocator.h"
#include "brigade/requires.h"
#include "filters/chain.h"
#include "filters/core_input.h"
#include "server/http_parser.h"

namespace brigade::server {

class HeadReader {
 public:
  enum class Result {
    kLine,    // a line (or the blank lines before a head) was consumed; step again
    kWait,    // nothing more is ready: wait for the socket to become readable
    kHead,    // a complete head: head()
    kError,   // a malformed head: `*error` says why; the next step starts a new head
    kClosed,  // the client closed (between heads or inside one), or reading failed
  };

  // Makes one step of progress on the current head, within `limits` (the same for every step
  // of a head). `core_in`: the CORE_IN at the bottom of `in`, or null. `*bytes_in` grows by the
  // head bytes read; `*error` is set on kError. Kept small (72 bytes) because every idle
  // keep-alive connection holds one: the limits and the error are the caller's.
  Result Step(filters::InputChain& in, filters::CoreInputFilter* core_in, BucketAllocator* alloc,
              const HeadLimits& limits, uint64_t* bytes_in, HttpError* error);

  // True once any byte of a head arrived (what the header timeout answers with 408).
  bool mid_head() const {
    return !partial_.empty() || (parser_ != nullptr && parser_->started() && !parser_->done());
  }

  // After kHead: the parsed head, for the caller to take what it needs (its fields may be
  // moved out); valid until the next step, which starts a new head in the same parser, so
  // that its strings and fields keep their room. REQUIRES: the last step returned kHead.
  RequestHead& head() {
    BRIGADE_REQUIRES(parser_ != nullptr && parser_->done());
    return parser_->head();
  }
  // The current head's first line as sent (without its CRLF), for the log.
  absl::string_view request_line() const { return request_line_; }
  // The parser, between heads, for the caller to keep elsewhere while the connection is idle
  // (a worker's pool); null when there is none. REQUIRES: !mid_head().
  std::unique_ptr<RequestHeadParser> TakeParser() {
    BRIGADE_REQUIRES(!mid_head());
    return std::move(parser_);
  }
  // A parser for the next head, instead of one allocated. REQUIRES: the reader has none.
  void GiveParser(std::unique_ptr<RequestHeadParser> parser) {
    BRIGADE_REQUIRES(parser_ == nullptr);
    parser_ = std::move(parser);
  }
  bool has_parser() const { return parser_ != nullptr; }

  // Gives back the storage of a head's fields once its request is over, for the next head's;
  // dropped when the reader has no parser to give it to, or one that needs none.
  void ReturnFields(filters::HeaderMap fields) {
    if (parser_ == nullptr || !parser_->head().headers.empty()) return;
    fields.Clear();
    parser_->head().headers = std::move(fields);
  }

  // Frees the room kept for a partial line, the parser and its fields' storage. REQUIRES:
  // !mid_head().
  void ReleaseBuffers() {
    BRIGADE_REQUIRES(!mid_head());
    std::string().swap(partial_);
    std::string().swap(request_line_);
    parser_.reset();
  }

 private:
  // The most of the first block searched for a whole head.
  static constexpr size_t kWholeHeadProbe = 16 * 1024;

  // The whole-head path: the lines of a new head parsed where they lie in the first block.
  // nullopt when that block holds no whole line (the line path then reads it); otherwise the
  // step's result, kLine when the head goes on past the block (the line path reads the rest).
  // REQUIRES: a new head, its parser not started.
  std::optional<Result> StepWhole(filters::CoreInputFilter& core_in, uint64_t* bytes_in,
                                  HttpError* error);

  std::unique_ptr<RequestHeadParser> parser_;  // kept from head to head
  std::string partial_;       // a head line read in part
  std::string request_line_;  // the current head's first line
};

}  // namespace brigade::server

#endif  // SERVER_HEAD_READER_H_
