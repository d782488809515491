#include "builtin/http/http_connection.h"

#include <sys/epoll.h>

#include <ctime>

#include "absl/strings/str_cat.h"
#include "builtin/filters/dechunk_filter.h"
#include "handlers/phases.h"
#include "server/location.h"
#include "server/uri.h"

namespace brigade::server {
namespace {

// What name HTTP's request slots and head parsers in the worker's pool.
constexpr char kSlotKind = 0;
constexpr char kParserKind = 0;

constexpr absl::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// The most one read of a discarded body asks for.
constexpr size_t kDiscardPiece = 64 * 1024;
// How long output waits with the client taking none of it before the filters are told it is
// stalled (OutputFilter::OnStalled) and may give back memory they can rebuild.
constexpr int64_t kStalledOutputMs = 1000;

}  // namespace

HttpConnection::~HttpConnection() {
  // A request still here when the worker lets go of the connection (a stop past its limit) is
  // cut: its log line and cleanups still run, once.
  if (in_flight_) Abort();
}

void HttpConnection::Start() {
  handlers::Outcome pre = server().hooks()
                              .connection(handlers::Phase::kPreConnection)
                              .Run(record(), &record().stack(handlers::Phase::kPreConnection));
  if (!pre.is_ok() && !pre.is_declined()) return Close();
  Advance();
}

void HttpConnection::OnReady(uint32_t events) {
  if ((events & EPOLLOUT) && OutputPending()) {
    if (absl::Status s = FlushOutput(); !s.ok()) {
      Abort();
      return;
    }
  }
  Advance();
}

void HttpConnection::Advance() {
  while (!closed()) {
    if (lingering()) return DrainLinger();
    Step step = in_flight_ ? StepRequest() : ReadHead();
    if (step == Step::kNext) continue;
    if (step == Step::kClosed) return;
    waiting_ = step;
    bool output = step == Step::kWaitWrite;
    bool idle = !in_flight_ && requests_ > 0 && !MidHead();
    // Between heads the parser waits in the worker's pool, not with the connection.
    if (!in_flight_ && !MidHead()) {
      if (std::unique_ptr<RequestHeadParser> parser = head_reader_.TakeParser()) {
        GiveRequestSlot(&kParserKind, std::move(parser));
      }
    }
    // Nothing of the last request is needed until the next one arrives: with the record, the
    // room for the longest head line goes too.
    if (idle && ReleaseIdleRecord()) head_reader_.ReleaseBuffers();
    uint32_t flush = OutputPending() ? uint32_t{EPOLLOUT} : 0u;
    // Woken: another thread (the blocking pool) posts to the loop; the socket matters only
    // for what CORE_OUT holds.
    Want(output ? uint32_t{EPOLLOUT} : step == Step::kWaitWoken ? flush : EPOLLIN | flush);
    // A head gets Timeout in all from when the wait for it began, as nginx's
    // client_header_timeout: a client trickling it a byte at a time (slowloris) does not push
    // the deadline back. A body and output re-arm it on progress.
    bool head = !in_flight_ && !idle;
    if (!head || !head_deadline_set_) {
      int64_t ms = 1000 * int64_t{idle ? config().keepalive_timeout_s : config().timeout_s};
      // Output first waits kStalledOutputMs, then the rest of Timeout (OnTimer).
      stall_check_ = output && in_flight_ != nullptr && ms > kStalledOutputMs;
      ArmTimer(stall_check_ ? kStalledOutputMs : ms, output);
    }
    head_deadline_set_ = head;
    CountOutput();
    return;
  }
}

HttpConnection::Step HttpConnection::ReadHead() {
  if (!head_reader_.has_parser()) {
    if (std::unique_ptr<RequestSlot> parser = TakeRequestSlot(&kParserKind)) {
      head_reader_.GiveParser(
          std::unique_ptr<RequestHeadParser>(static_cast<RequestHeadParser*>(parser.release())));
    }
  }
  uint64_t bytes = 0;
  HttpError error;
  handlers::Connection& c = record();  // built again first if it was let go, with CORE_IN
  HeadReader::Result result = head_reader_.Step(
      c.input(), core_in(), c.allocator(),
      HeadLimits{config().limit_request_line, config().limit_request_fields,
                 config().limit_request_field_size},
      &bytes, &error);
  handlers::ServerCounters::Add(stats().bytes_in, bytes);
  switch (result) {
    case HeadReader::Result::kLine:
      return Step::kNext;
    case HeadReader::Result::kWait:
      return Step::kWaitRead;
    case HeadReader::Result::kHead:
      StartRequest(head_reader_.head());
      return Step::kNext;
    case HeadReader::Result::kError:
      StartErrorRequest(error.status, error.message);
      return Step::kNext;
    case HeadReader::Result::kClosed:
      break;
  }
  Close();
  return Step::kClosed;
}

HttpConnection::InFlight::InFlight(handlers::Connection* connection) : request(connection) {
  request.output().AddBorrowed(&content_length);
  request.output().AddBorrowed(&chunk);
  request.output().AddBorrowed(&header);
  request.input().AddBorrowed(&http_in_filter);
}

void HttpConnection::InFlight::Reset() {
  request.Reset();
  chunk.Restart();
  header.Restart();
  http_in_filter.Restart(std::nullopt, nullptr);
  framing = ResponseFraming();
  progress = ResponseProgress();
  http_in = nullptr;
  expect_continue = false;
  keep = false;
  keep_decided = false;
}

HttpConnection::InFlight& HttpConnection::NewRequest(bool keep_alive) {
  if (std::unique_ptr<RequestSlot> slot = TakeRequestSlot(&kSlotKind)) {
    in_flight_.reset(static_cast<InFlight*>(slot.release()));
    in_flight_->request.Rebind(&record());
  } else {
    in_flight_ = std::make_unique<InFlight>(&record());
  }
  InFlight& f = *in_flight_;
  handlers::Request& r = f.request;
  absl::string_view line = head_reader_.request_line();
  r.the_request.assign(line.data(), line.size());
  r.request_time = time(nullptr);
  f.framing.keep_alive = keep_alive;
  core_out().set_progress(&f.progress);
  return f;
}

void HttpConnection::StartErrorRequest(int status, const std::string& message) {
  Refuse(NewRequest(/*keep_alive=*/false), status, message);
}

void HttpConnection::Refuse(InFlight& f, int status, absl::string_view message) {
  // What follows the head is not this request's body: its input goes without HTTP_IN.
  f.request.input().Remove(&f.http_in_filter);
  handlers::AbandonRequestCycle(f.request, status, message);
}

void HttpConnection::StartRequest(RequestHead& head) {
  ++requests_;
  bool keep_alive = head.keep_alive && !server().stopping() &&
                    (config().max_keepalive_requests == 0 ||
                     requests_ < config().max_keepalive_requests);
  InFlight& f = NewRequest(keep_alive);
  handlers::Request& r = f.request;
  // The record's own are mostly the same already (a reset record's are GET and HTTP/1.1).
  if (r.method != head.method) r.method = head.method;
  if (r.protocol != head.protocol) r.protocol = head.protocol;
  r.request_headers = std::move(head.headers);

  if (absl::Status s = NormalizePathInto(head.path, &r.uri); !s.ok()) {
    r.uri.assign("/");  // not the last request's
    Refuse(f, 400, s.message());
    return;
  }
  r.args = head.query;
  const CompiledLocation& loc = server().locations().Match(r.uri);
  loc.Apply(r);

  uint64_t limit = config().limit_request_body;
  if (head.content_length.has_value() && limit != 0 && *head.content_length > limit) {
    Refuse(f, 413,
           absl::StrCat("request body of ", *head.content_length,
                        " bytes exceeds the limit of ", limit));
    return;
  }
  // Input: body framing, then the Location's filters.
  std::function<absl::Status()> send_continue;
  f.expect_continue = head.expect_continue;
  if (head.expect_continue) {
    send_continue = [this] {
      Brigade bb(record().allocator());
      bb.Append(Bucket::Immortal(record().allocator(), kContinue));
      bb.Append(Bucket::Flush(record().allocator()));
      return record().output().Pass(bb).status();
    };
  }
  std::optional<uint64_t> length =
      head.chunked ? std::nullopt : std::optional<uint64_t>(head.content_length.value_or(0));
  if (head.chunked) {
    filters::DechunkOptions o;
    o.max_body = limit;
    r.input().Add(std::make_unique<filters::DechunkFilter>(o));
  }
  f.http_in_filter.Restart(length, std::move(send_continue));
  f.http_in = &f.http_in_filter;
  loc.AddFilters(r);
  // Otherwise the phases run on the next step.
}

HttpConnection::Step HttpConnection::StepRequest() {
  InFlight& f = *in_flight_;
  handlers::Request& r = f.request;
  if (!r.cycle().responded) {
    // A cycle that has started and not responded has a parked handler.
    handlers::CycleState state = r.parked().task() != nullptr
                                     ? handlers::ResumeRequestCycle(r)
                                     : handlers::StartRequestCycle(server().hooks(), r);
    if (state == handlers::CycleState::kSuspended) {
      switch (r.parked().suspension().wait()) {
        case handlers::Wait::kReadable:
          return Step::kWaitRead;
        case handlers::Wait::kWoken:
          return Step::kWaitWoken;
        default:
          return Step::kWaitWrite;
      }
    }
  }
  return FinishResponse(f);
}

HttpConnection::Step HttpConnection::FinishResponse(InFlight& f) {
  handlers::Request& r = f.request;
  // An error after the head went out: no last chunk, and the connection closes.
  if (r.aborted) return Abort(/*linger=*/true);
  while (!f.progress.eos_written) {
    if (absl::Status s = FlushOutput(); !s.ok()) return Abort();
    if (core_out().has_pending() || core_out().round_spent()) return Step::kWaitWrite;
    if (f.progress.eos_written) break;
    // Filters above CORE_OUT may still hold input they set aside on kAgain (DEFLATE): an
    // empty pass lets them go on.
    uint64_t before = core_out().bytes_written();
    Brigade resume(record().allocator());
    absl::StatusOr<filters::Flow> flow = r.output().Pass(resume);
    if (!flow.ok()) return Abort();
    if (!core_out().has_pending() && !f.progress.eos_written &&
        core_out().bytes_written() == before) {
      return Abort();  // the chain made no progress: a filter lost the end of the response
    }
  }
  if (!f.keep_decided) {
    f.keep_decided = true;
    // Without HTTP_IN (a request refused before its body was delimited) the stream cannot be
    // trusted for another request.
    f.keep = f.http_in != nullptr && f.framing.keep_alive && r.keep_alive && !server().stopping();
    // A body never asked for (no 100 Continue was sent) may never come: do not wait for it.
    if (f.keep && f.expect_continue && !f.http_in->finished() && !f.http_in->continue_sent()) {
      f.keep = false;
    }
  }
  if (f.keep && !f.http_in->finished()) {
    Step step = DiscardBody(f);
    if (step != Step::kNext) return step;
  }
  bool keep = f.keep;
  EndRequest(f);
  if (!keep) {
    Linger();
    return Step::kNext;
  }
  // The next request waits for the loop's next round, so that a client that answers each
  // response at once cannot keep the worker from the other connections ready meanwhile: as
  // the socket's readiness, or, pipelined (already read), deferred to the end of that round.
  if (!InputBuffered()) return Step::kWaitRead;
  loop().Defer(id());
  return Step::kWaitWoken;
}

HttpConnection::Step HttpConnection::DiscardBody(InFlight& f) {
  while (!f.request.body_done()) {
    Brigade bb(record().allocator());
    absl::StatusOr<size_t> n = f.request.TryReadBody(bb, kDiscardPiece);
    if (absl::IsUnavailable(n.status())) return Step::kWaitRead;
    if (!n.ok()) {
      f.keep = false;
      break;
    }
  }
  return Step::kNext;
}

void HttpConnection::EndRequest(InFlight& f) {
  handlers::Request& r = f.request;
  uint64_t overhead = f.framing.header_bytes;
  if (f.http_in != nullptr && f.http_in->continue_sent()) overhead += kContinue.size();
  r.bytes_sent = f.progress.bytes_written > overhead ? f.progress.bytes_written - overhead : 0;
  r.keep_alive = f.keep && !r.aborted;
  handlers::ServerCounters::Add(stats().requests, 1);
  core_out().set_progress(nullptr);
  handlers::EndRequestCycle(server().hooks(), r);
  head_reader_.ReturnFields(std::move(r.request_headers));
  f.Reset();
  GiveRequestSlot(&kSlotKind, std::move(in_flight_));
}

HttpConnection::Step HttpConnection::Abort(bool linger) {
  if (in_flight_) {
    in_flight_->request.aborted = true;
    in_flight_->keep = false;
    absl::Status flushed = FlushOutput();  // best effort: what is held may still go out
    linger = linger && flushed.ok();
    EndRequest(*in_flight_);
  }
  if (!linger) {
    Close();
    return Step::kClosed;
  }
  Linger();
  return Step::kNext;
}

bool HttpConnection::WaitingForOutput() const { return waiting_ == Step::kWaitWrite; }

void HttpConnection::OnTimer() {
  if (lingering()) return Close();
  if (!in_flight_) {
    if (!MidHead()) return Close();  // idle keep-alive connection
    StartErrorRequest(408, "the request head did not arrive in time");
    return Advance();
  }
  if (WaitingForOutput()) {
    if (stall_check_) {
      // A client still reading, however slowly, is not stalled: check again a second on.
      if (SendQueueShrank()) {
        ArmTimer(kStalledOutputMs, /*for_output=*/true);
        return;
      }
      stall_check_ = false;
      in_flight_->request.output().NotifyStalled();
      ArmTimer(1000 * int64_t{config().timeout_s} - kStalledOutputMs, /*for_output=*/true);
      return;
    }
    // Still reading, only slowly: the send queue shrank even though the socket never became
    // writable enough to wake the loop.
    if (SendQueueShrank()) {
      ArmTimer(1000 * int64_t{config().timeout_s}, /*for_output=*/true);
      return;
    }
    Abort();
    return;
  }
  handlers::Request& r = in_flight_->request;
  if (!r.cycle().responded) {
    in_flight_->keep = false;
    if (waiting_ == Step::kWaitWoken) {
      handlers::AbandonRequestCycle(r, 503, "the handler did not answer in time");
    } else {
      handlers::AbandonRequestCycle(r, 408, "the request body did not arrive in time");
    }
    return Advance();
  }
  in_flight_->keep = false;  // a discarded body that stopped arriving
  EndRequest(*in_flight_);
  Close();
}

void HttpConnection::OnStop() {
  if (lingering()) return Close();
  if (!in_flight_ && !MidHead()) Close();
}

void HttpConnection::Cut() { Abort(); }

}  // namespace brigade::server
