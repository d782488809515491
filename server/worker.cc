#include "server/worker.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "brigade/brigade.h"
#include "filters/chunk_filter.h"
#include "filters/content_length_filter.h"
#include "filters/core_input.h"
#include "filters/dechunk_filter.h"
#include "handlers/request.h"
#include "server/http_filters.h"
#include "server/http_parser.h"

namespace brigade::server {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string AddressOf(const sockaddr_in& a) {
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a.sin_addr, ip, sizeof(ip));
  return absl::StrCat(ip, ":", ntohs(a.sin_port));
}

std::string LogTime() {
  time_t t = time(nullptr);
  struct tm tm;
  localtime_r(&t, &tm);
  char buf[64];
  strftime(buf, sizeof(buf), "%d/%b/%Y:%H:%M:%S %z", &tm);
  return buf;
}

// Quotes a request field for the access log: escapes '"', '\' and control bytes (Apache does).
std::string LogQuote(absl::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      out += absl::StrFormat("\\x%02x", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

// A request whose response is still going out: the event loop moves it along on EPOLLOUT.
struct InFlight {
  std::unique_ptr<handlers::Request> request;
  ResponseFraming framing;  // HTTP_HEADER points here: the struct must not move
  uint64_t bytes_before = 0;  // CORE_OUT's count when the request began
  uint64_t eos_before = 0;    // CORE_OUT's EOS count when the request began
  bool keep = false;          // the connection may carry another request afterwards
  std::string request_line;
};

// One client connection on a worker.
struct Conn {
  int fd = -1;
  std::string peer;
  std::string local;
  std::unique_ptr<handlers::Connection> record;
  Ref<Source> source;
  CoreOutputFilter* core_out = nullptr;
  std::unique_ptr<RequestHeadParser> parser;
  std::string partial;       // a head line read in part
  int64_t deadline_ms = 0;   // idle (keep-alive) or head-read deadline
  int requests = 0;
  bool lingering = false;    // response sent, write side shut: draining what the client sends
  std::unique_ptr<InFlight> in_flight;  // a response still going out (EPOLLOUT)
  std::string request_line;  // for the log, once known
};

class EpollWorker : public Worker {
 public:
  EpollWorker(Server* server, std::vector<int> listen_fds)
      : server_(server), listen_fds_(std::move(listen_fds)) {}
  ~EpollWorker() override {
    for (int fd : listen_fds_) close(fd);
    if (epoll_ >= 0) close(epoll_);
    if (wake_ >= 0) close(wake_);
  }

  absl::Status Init() {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_ < 0 || wake_ < 0) return internal::ErrnoStatus(errno, "epoll/eventfd");
    Watch(wake_, EPOLLIN, kWakeTag);
    for (size_t i = 0; i < listen_fds_.size(); ++i) Watch(listen_fds_[i], EPOLLIN, kListenTag + i);
    return absl::OkStatus();
  }
  void Start() override { thread_ = std::thread([this] { Loop(); }); }
  void Join() override {
    if (thread_.joinable()) thread_.join();
  }
  void Wake() override {
    uint64_t one = 1;
    (void)!write(wake_, &one, sizeof(one));
  }

 private:
  static constexpr uint64_t kWakeTag = 1;
  static constexpr uint64_t kListenTag = 2;  // + listen index; connections use their fd + 2^32
  static constexpr uint64_t kConnBase = uint64_t{1} << 32;
  static constexpr int64_t kLingerMs = 2000;

  void Watch(int fd, uint32_t events, uint64_t tag, int op = EPOLL_CTL_ADD) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = tag;
    epoll_ctl(epoll_, op, fd, &ev);
  }
  void Rearm(int fd, uint32_t events) {
    Watch(fd, events, kConnBase + static_cast<uint64_t>(fd), EPOLL_CTL_MOD);
  }

  const ServerConfig& config() const { return server_->config(); }

  void Loop() {
    epoll_event events[64];
    while (true) {
      if (server_->stopping()) {
        if (!stopped_listening_) StopListening();
        if (conns_.empty()) break;
        // Idle connections have no response in flight: close them now.
        std::vector<int> idle;
        for (auto& [fd, c] : conns_) {
          if (c->in_flight) continue;  // a response in flight: let it finish
          if (c->lingering || c->parser == nullptr || !c->parser->started()) idle.push_back(fd);
        }
        for (int fd : idle) CloseConn(fd);
        if (conns_.empty()) break;
      }
      int n = epoll_wait(epoll_, events, 64, 200);
      if (n < 0 && errno != EINTR) break;
      for (int i = 0; i < n; ++i) {
        uint64_t tag = events[i].data.u64;
        if (tag == kWakeTag) {
          uint64_t v;
          (void)!read(wake_, &v, sizeof(v));
        } else if (tag < kConnBase) {
          Accept(static_cast<size_t>(tag - kListenTag));
        } else {
          int fd = static_cast<int>(tag - kConnBase);
          auto it = conns_.find(fd);
          if (it == conns_.end()) continue;
          if (it->second->in_flight) {
            OnWritable(fd);
          } else {
            OnReadable(fd);
          }
        }
      }
      ExpireDeadlines();
    }
    for (auto& [fd, c] : conns_) close(fd);
    conns_.clear();
  }

  void StopListening() {
    stopped_listening_ = true;
    for (int fd : listen_fds_) {
      epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
      close(fd);
    }
    listen_fds_.clear();
  }

  void ExpireDeadlines() {
    int64_t now = NowMs();
    std::vector<int> expired;
    for (auto& [fd, c] : conns_) {
      if (c->deadline_ms != 0 && now >= c->deadline_ms) expired.push_back(fd);
    }
    for (int fd : expired) {
      Conn& c = *conns_[fd];
      if (!c.lingering && !c.in_flight && c.parser != nullptr && c.parser->started()) {
        SendError(c, {408, "the request head did not arrive in time"}, "-");
      }
      CloseConn(fd);
    }
  }

  void Accept(size_t index) {
    if (index >= listen_fds_.size()) return;
    const ListenSpec& spec = server_->bound()[index];
    while (true) {
      sockaddr_in peer{};
      socklen_t len = sizeof(peer);
      int fd = accept4(listen_fds_[index], reinterpret_cast<sockaddr*>(&peer), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN: drained; other errors: try again on the next event
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      sockaddr_in local{};
      socklen_t llen = sizeof(local);
      getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen);
      server_->stats().connections_total++;
      if (spec.protocol != "http") {
        StartEcho(fd, spec.protocol, AddressOf(peer), AddressOf(local));
        continue;
      }
      auto c = std::make_unique<Conn>();
      c->fd = fd;
      c->peer = AddressOf(peer);
      c->local = AddressOf(local);
      c->record = std::make_unique<handlers::Connection>();
      c->record->peer = c->peer;
      c->record->local = c->local;
      c->record->notes["protocol"] = "http";
      c->source = Source::Adopt(Source::Kind::kSocket, fd, /*take_ownership=*/false);
      c->source->set_timeout_ms(config().timeout_s * 1000);
      Brigade src(c->record->allocator());
      src.Append(Bucket::FromSource(c->record->allocator(), c->source));
      c->record->input().Add(std::make_unique<filters::CoreInputFilter>(std::move(src)));
      c->core_out = static_cast<CoreOutputFilter*>(c->record->output().Add(
          std::make_unique<CoreOutputFilter>(fd, config().timeout_s * 1000)));
      c->core_out->set_may_defer(true);
      handlers::Outcome pre = server_->hooks()
                                  .connection(handlers::Phase::kPreConnection)
                                  .Run(*c->record, &c->record->stack(handlers::Phase::kPreConnection));
      if (!pre.is_ok() && !pre.is_declined()) {
        close(fd);
        continue;
      }
      server_->stats().connections_open++;
      c->deadline_ms = NowMs() + config().timeout_s * 1000;
      Watch(fd, EPOLLIN, kConnBase + static_cast<uint64_t>(fd));
      conns_[fd] = std::move(c);
    }
  }

  // Closing at once while the client is still sending would make the kernel reset the
  // connection and discard the response it has not read yet. Shut the write side instead and
  // drain what arrives for a short while, as Apache's lingering close does.
  void Linger(int fd) {
    Conn& c = *conns_[fd];
    shutdown(fd, SHUT_WR);
    c.lingering = true;
    c.deadline_ms = NowMs() + kLingerMs;
    Drain(c);
  }

  void Drain(Conn& c) {
    char buf[16384];
    while (true) {
      ssize_t n = read(c.fd, buf, sizeof(buf));
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // more may come
      return CloseConn(c.fd);  // EOF or error: done
    }
  }

  void CloseConn(int fd) {
    auto it = conns_.find(fd);
    if (it == conns_.end()) return;
    epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
    it->second->source->Close();
    close(fd);
    conns_.erase(it);
    server_->stats().connections_open--;
  }

  // Reads head lines without blocking and serves every complete request, pipelined ones too.
  void OnReadable(int fd) {
    Conn& c = *conns_[fd];
    if (c.lingering) return Drain(c);
    while (true) {
      if (c.parser == nullptr) c.parser = std::make_unique<RequestHeadParser>(HeadLimits{
          config().limit_request_line, config().limit_request_fields,
          config().limit_request_field_size});
      filters::InputChain& in = c.record->input();
      if (!c.parser->started() && c.partial.empty()) {
        Brigade none(c.record->allocator());
        absl::Status s = in.Read(none, filters::ReadMode::kEatCrlf, BlockMode::kNonBlock, 0);
        if (absl::IsUnavailable(s)) return;  // nothing yet: wait for EPOLLIN
        if (!s.ok()) return CloseConn(fd);
      }
      size_t limit = c.parser->started() ? config().limit_request_field_size
                                         : config().limit_request_line;
      Brigade got(c.record->allocator());
      absl::Status s = in.Read(got, filters::ReadMode::kGetLine, BlockMode::kNonBlock,
                               limit + 2 - std::min(c.partial.size(), limit + 1));
      if (absl::IsUnavailable(s)) {
        if (c.parser->started() || !c.partial.empty()) {
          if (c.deadline_ms == 0) c.deadline_ms = NowMs() + config().timeout_s * 1000;
        }
        return;
      }
      if (!s.ok()) return CloseConn(fd);
      bool eos = got.ends_with_eos();
      absl::StatusOr<std::string> text = got.FlattenToString(limit + 2);
      if (!text.ok()) return CloseConn(fd);
      server_->stats().bytes_in += text->size();
      if (eos && text->empty()) return CloseConn(fd);  // the client closed
      c.partial += *text;
      if (!c.deadline_ms) c.deadline_ms = NowMs() + config().timeout_s * 1000;
      bool complete = !c.partial.empty() && c.partial.back() == '\n';
      if (!complete && !eos && c.partial.size() <= limit + 1) continue;
      if (!c.parser->started()) c.request_line = c.partial.substr(0, c.partial.find_first_of("\r\n"));
      std::optional<HttpError> err = c.parser->AddLine(c.partial);
      c.partial.clear();
      if (err.has_value()) {
        SendError(c, *err, c.request_line);
        return Linger(fd);
      }
      if (eos) return CloseConn(fd);
      if (!c.parser->done()) continue;
      c.deadline_ms = 0;
      bool keep = ServeRequest(c);
      c.parser.reset();
      c.request_line.clear();
      if (c.in_flight) {
        // The rest of the response goes out as the client reads it; the worker serves other
        // connections meanwhile.
        c.deadline_ms = NowMs() + config().timeout_s * 1000;
        return Rearm(fd, EPOLLOUT);
      }
      if (!keep) return Linger(fd);
      c.deadline_ms = NowMs() + config().keepalive_timeout_s * 1000;
    }
  }

  void OnWritable(int fd) {
    Conn& c = *conns_[fd];
    uint64_t before = c.core_out->bytes_written();
    absl::StatusOr<bool> done = Advance(c);
    server_->stats().bytes_out += c.core_out->bytes_written() - before;
    if (!done.ok()) {
      Complete(c);
      return CloseConn(fd);
    }
    if (!*done) {
      c.deadline_ms = NowMs() + config().timeout_s * 1000;  // it made progress
      return;
    }
    bool keep = c.in_flight->keep;
    Complete(c);
    Rearm(fd, EPOLLIN);
    if (!keep) return Linger(fd);
    c.deadline_ms = NowMs() + config().keepalive_timeout_s * 1000;
    OnReadable(fd);  // a pipelined request may be waiting already
  }

  // Moves the in-flight response along without blocking: writes what CORE_OUT holds and, when
  // that is out, resumes the request's chain (a filter that got kAgain kept the rest, e.g.
  // DEFLATE's set-aside input). True once the response's EOS went out.
  absl::StatusOr<bool> Advance(Conn& c) {
    InFlight& f = *c.in_flight;
    while (true) {
      if (absl::Status s = c.core_out->Flush(); !s.ok()) return s;
      if (c.core_out->has_pending()) return false;
      if (c.core_out->eos_count() > f.eos_before || f.request->aborted) return true;
      uint64_t written = c.core_out->bytes_written();
      Brigade resume(c.record->allocator());
      absl::StatusOr<filters::Flow> flow = f.request->output().Pass(resume);
      if (!flow.ok()) return flow.status();
      if (!c.core_out->has_pending() && c.core_out->eos_count() == f.eos_before &&
          c.core_out->bytes_written() == written) {
        return absl::InternalError("the response's chain made no progress");
      }
    }
  }

  // Logs the in-flight request and lets it go.
  void Complete(Conn& c) {
    InFlight& f = *c.in_flight;
    uint64_t body = c.core_out->bytes_written() - f.bytes_before;
    body = body > f.framing.header_bytes ? body - f.framing.header_bytes : 0;
    LogRequest(c, *f.request, f.request_line, body);
    c.in_flight.reset();
  }

  // The output chain every HTTP request gets below its Location's filters.
  void AddProtocolFilters(handlers::Request& r, ResponseFraming* framing) {
    r.output().Add(std::make_unique<filters::ContentLengthFilter>());
    r.output().Add(std::make_unique<filters::ChunkFilter>());
    r.output().Add(std::make_unique<HttpHeaderFilter>(framing, "brigaded"));
  }

  void SendError(Conn& c, const HttpError& err, const std::string& request_line) {
    handlers::Request r(c.record.get());
    r.protocol = "HTTP/1.1";
    ResponseFraming framing{.keep_alive = false};
    AddProtocolFilters(r, &framing);
    uint64_t before = c.core_out->bytes_written();
    // The connection closes after an error page, so it is written out here (waiting at most
    // Timeout) rather than handed to the event loop.
    c.core_out->set_may_defer(false);
    (void)r.SendErrorResponse(err.status, err.message);
    (void)c.core_out->Flush();
    c.core_out->set_may_defer(true);
    uint64_t sent = c.core_out->bytes_written() - before;
    LogRequest(c, r, request_line, sent > framing.header_bytes ? sent - framing.header_bytes : 0);
  }

  void LogRequest(Conn& c, const handlers::Request& r, const std::string& request_line,
                  uint64_t body_bytes) {
    server_->stats().requests++;
    server_->Log(absl::StrFormat(
        "%s - - [%s] \"%s\" %d %s \"%s\" \"%s\"\n", c.peer.substr(0, c.peer.rfind(':')), LogTime(),
        LogQuote(request_line), r.status, body_bytes == 0 ? "-" : absl::StrCat(body_bytes),
        LogQuote(r.request_headers.Get("Referer").value_or("-")),
        LogQuote(r.request_headers.Get("User-Agent").value_or("-"))));
  }

  // Runs one request; returns whether the connection may carry another.
  // Runs one request. Returns whether the connection may carry another; when the response
  // is still going out, leaves it in c.in_flight for the event loop.
  bool ServeRequest(Conn& c) {
    RequestHead& head = c.parser->head();
    ++c.requests;
    auto f = std::make_unique<InFlight>();
    f->request = std::make_unique<handlers::Request>(c.record.get());
    f->request_line = c.request_line;
    handlers::Request& r = *f->request;
    r.method = head.method;
    r.uri = head.path;
    r.protocol = head.protocol;
    r.request_headers = head.headers;
    const LocationConfig& loc = config().Match(head.path);
    r.handler = loc.handler;
    r.notes["document_root"] = loc.document_root.empty() ? config().document_root : loc.document_root;
    bool may_keep = head.keep_alive && !server_->stopping() &&
                    (config().max_keepalive_requests == 0 ||
                     c.requests < config().max_keepalive_requests);
    ResponseFraming& framing = f->framing;
    framing.keep_alive = may_keep;
    f->bytes_before = c.core_out->bytes_written();
    f->eos_before = c.core_out->eos_count();

    if (head.content_length.has_value() && *head.content_length > config().limit_request_body &&
        config().limit_request_body != 0) {
      SendError(c, {413, absl::StrCat("request body of ", *head.content_length,
                                      " bytes exceeds the limit of ", config().limit_request_body)},
                c.request_line);
      return false;
    }

    // Input: body framing, then the Location's filters.
    std::function<absl::Status()> send_continue;
    if (head.expect_continue) {
      send_continue = [&c] {
        Brigade bb(c.record->allocator());
        bb.Append(Bucket::Immortal(c.record->allocator(), "HTTP/1.1 100 Continue\r\n\r\n"));
        bb.Append(Bucket::Flush(c.record->allocator()));
        return c.record->output().Pass(bb).status();
      };
    }
    std::optional<uint64_t> length = head.chunked ? std::nullopt
                                                  : std::optional<uint64_t>(head.content_length.value_or(0));
    if (head.chunked) {
      filters::DechunkOptions o;
      o.max_body = config().limit_request_body;
      r.input().Add(std::make_unique<filters::DechunkFilter>(o));
    }
    auto* http_in = static_cast<HttpInFilter*>(
        r.input().Add(std::make_unique<HttpInFilter>(length, std::move(send_continue))));
    for (const std::string& spec : loc.input_filters) AddFilter(r, spec, /*output=*/false);

    // Output: the Location's filters, then the protocol's.
    for (const std::string& spec : loc.output_filters) AddFilter(r, spec, /*output=*/true);
    for (const auto& [filter, types] : loc.filters_by_type) {
      r.output().Add(std::make_unique<TypeGateFilter>(&server_->registry(), &r.output(), filter,
                                                      DefaultOptions(filter), types));
    }
    AddProtocolFilters(r, &framing);

    handlers::RunRequestCycle(server_->hooks(), r);

    bool keep = framing.keep_alive && r.keep_alive && !r.aborted;
    if (keep && !http_in->finished()) keep = DiscardBody(r, *http_in, head);
    f->keep = keep;
    c.in_flight = std::move(f);
    uint64_t before = c.core_out->bytes_written();
    absl::StatusOr<bool> done = Advance(c);
    server_->stats().bytes_out += c.core_out->bytes_written() - before;
    if (done.ok() && !*done) return keep;  // the event loop finishes it
    keep = keep && done.ok();
    Complete(c);
    return keep;
  }

  // Reads and drops what the handler left of the body, so the next request can be read.
  bool DiscardBody(handlers::Request& r, HttpInFilter& http_in, const RequestHead& head) {
    if (head.expect_continue && !http_in.continue_sent()) return false;  // never asked for it
    while (true) {
      Brigade bb(r.allocator());
      absl::StatusOr<size_t> n = r.ReadBody(bb, 64 * 1024);
      if (!n.ok()) return false;
      if (*n == 0) return r.body_done();
    }
  }

  std::string DefaultOptions(const std::string& filter) {
    if (filter == "DEFLATE") return absl::StrCat(":level=", config().deflate_level);
    return "";
  }

  void AddFilter(handlers::Request& r, const std::string& text, bool output) {
    absl::StatusOr<filters::FilterSpec> spec = filters::ParseFilterSpec(text);
    if (!spec.ok()) return;  // validated when the configuration was loaded
    if (spec->name == "DEFLATE" && output && text.find("level=") == std::string::npos) {
      spec->options.Set("level", absl::StrCat(config().deflate_level));
    }
    if (spec->name == "INFLATE" && !output) {
      uint64_t limit = config().inflate_limit != 0 ? config().inflate_limit
                                                   : config().limit_request_body;
      if (text.find("limit=") == std::string::npos) spec->options.Set("limit", absl::StrCat(limit));
      if (text.find("ratio=") == std::string::npos) {
        spec->options.Set("ratio", absl::StrCat(config().inflate_ratio));
      }
    }
    if (output) {
      (void)server_->registry().AddOutput(r.output(), spec->name, spec->options);
    } else {
      (void)server_->registry().AddInput(r.input(), spec->name, spec->options);
    }
  }

  // Echo protocols hold a conversation: each connection gets a thread of its own, which the
  // server tracks so that Stop can end it and Run can wait for it.
  void StartEcho(int fd, const std::string& protocol, std::string peer, std::string local) {
    server_->stats().connections_open++;
    server_->EchoStarted(fd);
    Server* server = server_;
    std::thread([server, fd, protocol, peer, local] {
      int timeout_ms = server->config().timeout_s * 1000;
      {
        handlers::Connection conn;
        conn.peer = peer;
        conn.local = local;
        conn.socket = fd;
        conn.notes["protocol"] = protocol;
        Ref<Source> source = Source::Adopt(Source::Kind::kSocket, fd, false);
        source->set_timeout_ms(timeout_ms);
        Brigade src(conn.allocator());
        src.Append(Bucket::FromSource(conn.allocator(), source));
        conn.input().Add(std::make_unique<filters::CoreInputFilter>(std::move(src)));
        conn.output().Add(std::make_unique<CoreOutputFilter>(fd, timeout_ms));
        handlers::RunConnection(server->hooks(), conn);
        source->Close();
      }
      close(fd);
      server->stats().connections_open--;
      server->EchoEnded(fd);  // last: the server may be destroyed right after
    }).detach();
  }

  Server* server_;
  std::vector<int> listen_fds_;
  int epoll_ = -1;
  int wake_ = -1;
  std::thread thread_;
  std::map<int, std::unique_ptr<Conn>> conns_;
  bool stopped_listening_ = false;
};

absl::StatusOr<std::unique_ptr<Worker>> Worker::Create(Server* server, std::vector<int> listen_fds) {
  auto w = std::make_unique<EpollWorker>(server, std::move(listen_fds));
  if (absl::Status s = w->Init(); !s.ok()) return s;
  return std::unique_ptr<Worker>(std::move(w));
}

}  // namespace brigade::server
