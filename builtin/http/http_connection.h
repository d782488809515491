// HttpConnection: one HTTP/1.1 client connection, as a task the worker resumes on readiness.
//
//   head ──► request ──► (response on the wire) ──► head (keep-alive, pipelining) … ──► linger
//
// head:    request-head lines are read without blocking (HeadReader: GETLINE, NONBLOCK) and
//          fed to the strict parser; a malformed head becomes an error request.
// request: the head's target is decoded and normalised once (Location matching, translate and
//          handlers all see that path; the log keeps the line as sent), the compiled Location's
//          filters are instantiated, and the request cycle runs. A coroutine handler that parks
//          is resumed when the socket is readable (body) or writable (room for output). Once the
//          response's end was passed, CORE_OUT's held bytes and filters' set-aside input are
//          moved out as the socket drains. When the response's EOS has left the socket, what
//          the handler left of the body is discarded (without blocking) so that the connection
//          can carry another request, then log and cleanup run.
// linger:  after a response that closes the connection.
//
// Timeouts (one timer): Timeout for a whole head from when the wait for it began (408), Timeout
// re-armed on progress while a body trickles in (408 when nothing was sent yet) or while output
// waits (the response is cut, and its log line says so), KeepAliveTimeout between requests.
// Output that has waited a second with the client taking none of it is stalled: the filters are
// told (OnStalled), so that DEFLATE gives its compressor's memory back while the client does not
// read. Between requests the connection may let its record go
// (ConnectionBase::ReleaseIdleRecord), so that an idle keep-alive connection of a busy worker
// costs a few hundred bytes.
//
// Thread-safety: none; lives on one worker thread.

#ifndef BUILTIN_HTTP_HTTP_CONNECTION_H_
#define BUILTIN_HTTP_HTTP_CONNECTION_H_

#include <memory>
#include <optional>
#include <string>

#include "builtin/filters/chunk_filter.h"
#include "builtin/filters/content_length_filter.h"
#include "server/connection.h"
#include "server/http_filters.h"
#include "server/head_reader.h"
#include "server/http_parser.h"

namespace brigade::server {

class HttpConnection final : public ConnectionBase {
 public:
  using ConnectionBase::ConnectionBase;
  ~HttpConnection() override;

  void Start() override;
  void OnReady(uint32_t events) override;
  void OnTimer() override;
  void OnStop() override;
  void Cut() override;

 private:
  // What a step of the connection leaves it waiting for.
  enum class Step { kNext, kWaitRead, kWaitWrite, kWaitWoken, kClosed };

  // A request under way, with what the protocol filters and CORE_OUT tell about its response.
  // A request slot: the record and its protocol filters are built once, and between requests
  // the slot is reset (Request::Reset, the filters' Restart) and goes back to the worker's pool
  // for its next request, keeping the room its strings and fields took, so that a request
  // neither builds nor allocates its record.
  struct InFlight final : RequestSlot {
    explicit InFlight(handlers::Connection* connection);
    // The request's output chain borrows them (in it from the start) and its input chain
    // HTTP_IN: declared before `request`, so that they outlive its chains.
    ResponseFraming framing;    // HTTP_HEADER points here
    ResponseProgress progress;  // CORE_OUT counts here
    filters::ContentLengthFilter content_length;
    filters::ChunkFilter chunk;
    HttpHeaderFilter header{&framing, "brigaded"};
    HttpInFilter http_in_filter{std::nullopt, nullptr};
    handlers::Request request;
    // HTTP_IN, once it delimits this request's body; null for a request refused before that,
    // whose input then goes without it.
    HttpInFilter* http_in = nullptr;
    bool expect_continue = false;
    bool keep = false;  // decided once the response is on the wire
    bool keep_decided = false;

    // Ends the request and readies the slot for the next one.
    void Reset();
  };

  // Makes all the progress possible now, then waits (interest and timer) for what it needs.
  void Advance();
  Step ReadHead();
  // Builds the request from the parsed head; an error found here becomes its response.
  void StartRequest(RequestHead& head);
  // A request that is only an error response (a malformed head).
  void StartErrorRequest(int status, const std::string& message);
  // Sets up a request record with the protocol filters; the rest is up to the caller.
  InFlight& NewRequest(bool keep_alive);
  // A request refused before its body was delimited: only its error response.
  void Refuse(InFlight& f, int status, absl::string_view message);
  Step StepRequest();
  Step FinishResponse(InFlight& f);
  Step DiscardBody(InFlight& f);
  // The response is over (complete or cut): counts it, runs log and cleanup, and gives the
  // slot back.
  void EndRequest(InFlight& f);
  // The response cannot be completed: logs it as cut. `linger`: the client may still be
  // reading (an error after the head went out), so the connection closes with a lingering
  // close; otherwise (the client went away, output failed, it was cut) at once.
  Step Abort(bool linger = false);
  bool WaitingForOutput() const;

  bool MidHead() const { return head_reader_.mid_head(); }

  HeadReader head_reader_;
  int requests_ = 0;
  bool head_deadline_set_ = false;  // the timer runs for the head being read, not re-armed
  bool stall_check_ = false;  // the timer runs for the output's stall, then for Timeout
  std::unique_ptr<InFlight> in_flight_;
  Step waiting_ = Step::kWaitRead;
};

}  // namespace brigade::server

#endif  // BUILTIN_HTTP_HTTP_CONNECTION_H_
