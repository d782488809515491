#include "handlers/request.h"

#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace brigade::handlers {
namespace {

// Request phases are stored from post_read_request on.
size_t RequestIndex(Phase phase) {
  return static_cast<size_t>(phase) - static_cast<size_t>(Phase::kPostReadRequest);
}

std::string HtmlEscape(absl::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// The inverse of HttpStatusFor, for ERROR buckets coming up the input chain.
[[nodiscard]] absl::Status StatusForHttp(int code, absl::string_view message) {
  switch (code) {
    case 400:
      return absl::InvalidArgumentError(message);
    case 408:
      return absl::DeadlineExceededError(message);
    case 413:
      return absl::ResourceExhaustedError(message);
    case 501:
      return absl::UnimplementedError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace

HandlerStack<Connection>& Connection::stack(Phase phase) {
  return stacks_[static_cast<size_t>(phase) - static_cast<size_t>(Phase::kPreConnection)];
}

Request::Request(Connection* connection)
    : connection_(connection),
      output_(this, &connection->output()),
      input_(this, &connection->input()) {}

// Reset must name every member: one it leaves out would carry a request's value into the next.
// Counting them by the record's size makes adding one without reset fail to build here.
static_assert(sizeof(Request) == 1064,
              "Request's members changed: reset the new ones in Request::Reset, then update this");

void Request::Reset() {
  // In the destructor's order: the parked coroutine and the stacks before the filters they
  // may use, the filters before the modules' state and the file.
  parked_.Drop();
  cycle_ = Cycle();
  for (HandlerStack<Request>& stack : stacks_) stack.Reset();
  response_started_ = false;
  response_finished_ = false;
  body_done_ = false;
  fault_reported_ = false;
  input_.Restart();
  output_.Restart();
  state_ = ConfigValues();
  config_ = nullptr;
  body_buffer_size = 64 * 1024;
  body_temp_dir.clear();
  document_root = absl::string_view();
  document_root_fd = -1;
  the_request.clear();
  bytes_sent = 0;
  request_time = 0;
  handler.clear();
  args.clear();
  user.clear();
  filename.clear();
  file = Ref<File>();
  file_status = 0;
  aborted = false;
  keep_alive = true;
  // The exchange. Most requests are GETs over HTTP/1.1, whose strings are already right.
  if (!filters::IsLiteral(method, "GET")) method.assign("GET");
  uri.clear();
  uri.push_back('/');
  if (!filters::IsLiteral(protocol, "HTTP/1.1")) protocol.assign("HTTP/1.1");
  status = 200;
  request_headers.Clear();
  response_headers.Clear();
  request_trailers.Clear();
  response_trailers.Clear();
  notes.clear();
}

void Request::Rebind(Connection* connection) {
  connection_ = connection;
  output_.set_below(&connection->output());
  input_.set_below(&connection->input());
}

HandlerStack<Request>& Request::stack(Phase phase) { return stacks_[RequestIndex(phase)]; }

void Request::PushHandler(Phase phase, std::function<Outcome(Request&)> handler,
                          std::string name) {
  stack(phase).Push({std::move(handler), std::move(name)});
}

absl::StatusOr<size_t> Request::TryReadBody(Brigade& out, size_t max) {
  if (body_done_ || max == 0) return 0;
  Brigade got(allocator());
  absl::Status s =
      input_.Read(got, filters::ReadMode::kReadBytes, BlockMode::kNonBlock, max);
  if (!s.ok()) {
    ReportFault(s);
    return s;
  }
  size_t n = 0;
  while (!got.empty()) {
    Bucket* b = got.front();
    if (b->is_eos()) {
      body_done_ = true;
      got.Delete(b);
      continue;
    }
    if (b->is_error()) return StatusForHttp(b->error_status(), b->error_message());
    if (!b->is_metadata()) n += b->length();
    out.Append(got.Remove(b));
  }
  return n;
}

absl::StatusOr<filters::Flow> Request::Pass(Brigade& bb) {
  if (response_finished_ && !bb.empty()) {
    return absl::FailedPreconditionError("response data passed after the response's EOS");
  }
  if (!bb.empty()) response_started_ = true;
  bool eos = bb.ends_with_eos();
  absl::StatusOr<filters::Flow> flow = output_.Pass(bb);
  if (eos) response_finished_ = true;
  if (!flow.ok()) ReportFault(flow.status());
  return flow;
}

void Request::ReportFault(const absl::Status& s) {
  if (s.code() != absl::StatusCode::kInternal || fault_reported_) return;
  fault_reported_ = true;
  fprintf(stderr, "brigaded: \"%s\": %s\n", the_request.c_str(),
          std::string(s.message()).c_str());
}

absl::Status Request::SendErrorResponse(int code, absl::string_view detail) {
  if (response_started_) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot send a ", code, " response: a response is already under way"));
  }
  status = code;
  // Fields describing another representation go; Allow, Location, Vary and the like stay.
  for (const char* field : {"Content-Type", "Content-Length", "Content-Encoding",
                            "Transfer-Encoding", "ETag", "Last-Modified"}) {
    response_headers.Remove(field);
  }
  response_headers.Set("Content-Type", "text/html; charset=utf-8");
  absl::string_view reason = ReasonPhrase(code);
  Brigade bb(allocator());
  std::string body = absl::StrFormat("<!DOCTYPE html>\n<title>%d %s</title>\n<h1>%d %s</h1>\n",
                                     code, reason, code, reason);
  if (!detail.empty()) absl::StrAppend(&body, "<p>", HtmlEscape(detail), "</p>\n");
  response_headers.Set("Content-Length", absl::StrCat(body.size()));
  if (!is_head()) {
    if (absl::Status s = bb.WriteOwned(std::move(body)); !s.ok()) return s;
  }
  bb.Append(Bucket::Eos(allocator()));
  absl::StatusOr<filters::Flow> flow = Pass(bb);
  return flow.status();
}

absl::Status Request::FinishResponse(bool failed, int code) {
  if (response_finished_) return absl::OkStatus();
  Brigade bb(allocator());
  if (failed) {
    aborted = true;
    keep_alive = false;
    bb.Append(Bucket::Error(allocator(), code, "response failed after it started"));
  } else {
    bb.Append(Bucket::Eos(allocator()));
  }
  return Pass(bb).status();
}

namespace {

// "Sun, 06 Nov 1994 08:49:37 GMT": always 29 bytes for the years 1000-9999.
void FormatHttpDate(time_t t, char out[29]) {
  static constexpr char kDays[] = "SunMonTueWedThuFriSat";
  static constexpr char kMonths[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  struct tm tm;
  gmtime_r(&t, &tm);
  auto two = [](char* p, int v) {
    p[0] = static_cast<char>('0' + v / 10 % 10);
    p[1] = static_cast<char>('0' + v % 10);
  };
  memcpy(out, kDays + 3 * tm.tm_wday, 3);
  out[3] = ',';
  out[4] = ' ';
  two(out + 5, tm.tm_mday);
  out[7] = ' ';
  memcpy(out + 8, kMonths + 3 * tm.tm_mon, 3);
  out[11] = ' ';
  int year = tm.tm_year + 1900;
  two(out + 12, year / 100);
  two(out + 14, year % 100);
  out[16] = ' ';
  two(out + 17, tm.tm_hour);
  out[19] = ':';
  two(out + 20, tm.tm_min);
  out[22] = ':';
  two(out + 23, tm.tm_sec);
  memcpy(out + 25, " GMT", 4);
}

}  // namespace

absl::string_view HttpDate(time_t t, char (&out)[29]) {
  // Per thread, the last two times formatted: a response asks for now (Date) and usually for
  // the same file's mtime (Last-Modified), second after second (nginx caches its time strings
  // for the same reason).
  struct Entry {
    time_t t = -1;
    char text[29];
  };
  thread_local Entry cache[2];
  thread_local unsigned next = 0;
  const Entry* hit = nullptr;
  for (const Entry& e : cache) {
    if (e.t == t) hit = &e;
  }
  if (hit == nullptr) {
    Entry& e = cache[next++ % 2];
    e.t = t;
    FormatHttpDate(t, e.text);
    hit = &e;
  }
  memcpy(out, hit->text, sizeof(out));
  return absl::string_view(out, sizeof(out));
}

absl::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "";
  }
}

int HttpStatusFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kDataLoss:
      return 400;
    case absl::StatusCode::kResourceExhausted:
      return 413;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kDeadlineExceeded:
      return 408;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    default:
      return 500;
  }
}

}  // namespace brigade::handlers
