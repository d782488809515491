#include "server/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "brigade/brigade.h"
#include "filters/builtin_filters.h"
#include "handlers/request.h"
#include "handlers/echo_handler.h"
#include "handlers/static_handler.h"
#include "server/uri.h"
#include "server/worker.h"

namespace brigade::server {

namespace {
// The queue bound: requests waiting for a blocking thread beyond it are answered 503.
constexpr size_t kBlockingQueue = 64;
}  // namespace

Server::Server(ServerConfig config)
    : config_(std::move(config)), blocking_pool_(config_.blocking_pool_threads, kBlockingQueue) {}

Server::~Server() {
  for (auto& w : workers_) w->Join();
  workers_.clear();  // closes what a worker that never ran still owns
  for (const auto& [root, fd] : root_fds_) close(fd);
}

absl::StatusOr<std::unique_ptr<Server>> Server::Create(ServerConfig config) {
  signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<Server> s(new Server(std::move(config)));
  if (absl::Status st = filters::RegisterBuiltinFilters(s->registry_); !st.ok()) return st;
  s->RegisterHandlers();
  if (absl::Status st = s->OpenRoots(); !st.ok()) return st;
  absl::StatusOr<Locations> locations =
      Locations::Compile(s->config_, s->registry_, s->root_fds_);
  if (!locations.ok()) return locations.status();
  s->locations_ = *std::move(locations);
  if (absl::Status st = s->Bind(); !st.ok()) return st;
  if (absl::Status st = s->access_log_.Open(s->config_.access_log); !st.ok()) return st;
  for (auto& fds : s->listen_fds_) {
    absl::StatusOr<std::unique_ptr<Worker>> w = Worker::Create(s.get(), fds);
    if (!w.ok()) return w.status();
    s->workers_.push_back(*std::move(w));
  }
  s->listen_fds_.clear();  // the workers own them now
  return s;
}

absl::Status Server::Bind() {
  bound_ = config_.listens;
  listen_fds_.resize(static_cast<size_t>(config_.workers));
  for (size_t i = 0; i < bound_.size(); ++i) {
    for (int w = 0; w < config_.workers; ++w) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) return internal::ErrnoStatus(errno, "socket");
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(bound_[i].port));
      inet_pton(AF_INET, bound_[i].address.c_str(), &addr.sin_addr);
      if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 511) != 0) {
        int err = errno;
        close(fd);
        return internal::ErrnoStatus(err, absl::StrCat("Listen ", bound_[i].address, ":",
                                                       bound_[i].port));
      }
      if (bound_[i].port == 0) {  // the first worker's socket picked the port; the rest share it
        socklen_t len = sizeof(addr);
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
        bound_[i].port = ntohs(addr.sin_port);
      }
      listen_fds_[static_cast<size_t>(w)].push_back(fd);
    }
  }
  return absl::OkStatus();
}

absl::Status Server::OpenRoots() {
  std::vector<std::string> roots = {config_.document_root};
  for (const LocationConfig& l : config_.locations) roots.push_back(l.document_root);
  for (const std::string& root : roots) {
    if (root.empty() || root_fds_.count(root)) continue;
    int fd = open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return internal::ErrnoStatus(errno, absl::StrCat("DocumentRoot ", root));
    root_fds_[root] = fd;
  }
  return absl::OkStatus();
}

void Server::ReopenLogs() {
  if (absl::Status s = access_log_.Reopen(); !s.ok()) {
    fprintf(stderr, "brigaded: SIGHUP: %s; still logging to the file open before\n",
            std::string(s.message()).c_str());
  }
}

std::vector<std::string> Server::Addresses() const {
  std::vector<std::string> out;
  for (const ListenSpec& l : bound_) out.push_back(absl::StrCat(l.address, ":", l.port, " ", l.protocol));
  return out;
}

handlers::Outcome Server::MapToFile(handlers::Request& r) {
  using handlers::Outcome;
  if (r.handler != "static") return Outcome::Declined();
  std::string root(r.document_root);
  r.filename = root + r.uri;
  if (r.document_root_fd >= 0) {
    absl::StatusOr<Ref<File>> file = OpenBeneath(r.document_root_fd, r.uri);
    if (file.ok()) {
      r.file = *std::move(file);
      return Outcome::Ok();
    }
    if (absl::IsPermissionDenied(file.status())) return Outcome::Status(403);
    if (absl::IsNotFound(file.status())) return Outcome::Status(404);
    if (absl::IsUnavailable(file.status())) return Outcome::Status(503);
    if (!absl::IsUnimplemented(file.status())) return Outcome::Status(500);
  }
  absl::StatusOr<std::string> file = server::MapToFile(root, r.uri);  // kernels without openat2
  if (absl::IsPermissionDenied(file.status())) return Outcome::Status(403);
  if (!file.ok()) return Outcome::Status(404);
  r.filename = *file;
  return Outcome::Ok();
}

handlers::Outcome Server::ServeStatus(handlers::Request& r) {
  using handlers::Outcome;
  CopyStats copies = GlobalCopyStats();
  std::string body = absl::StrCat(
      "brigaded status\n", "connections_open: ", stats_.connections_open.load(), "\n",
      "connections_total: ", stats_.connections_total.load(), "\n",
      "requests: ", stats_.requests.load(), "\n", "bytes_in: ", stats_.bytes_in.load(), "\n",
      "bytes_out: ", stats_.bytes_out.load(), "\n", "bytes_copied: ", copies.bytes_copied, "\n",
      "bytes_shared: ", copies.bytes_shared, "\n", "bytes_read: ", copies.bytes_read, "\n");
  r.status = 200;
  r.response_headers.Set("Content-Type", "text/plain; charset=utf-8");
  r.response_headers.Set("Cache-Control", "no-store");
  Brigade bb(r.allocator());
  if (!bb.WriteOwned(std::move(body)).ok()) return Outcome::Status(500);
  bb.Append(Bucket::Eos(r.allocator()));
  return r.Pass(bb).ok() ? Outcome::Ok() : Outcome::Status(500);
}

void Server::RegisterHandlers() {
  using handlers::Connection;
  using handlers::Coroutine;
  using handlers::Order;
  using handlers::Outcome;
  using handlers::Phase;
  using handlers::Request;
  hooks_.request(Phase::kTranslate)
      .Register(&Server::MapToFile, Order::kMiddle, "map-to-file");
  hooks_.request(Phase::kResponse).Register(
      [](Request& r) { return r.handler == "static" ? handlers::ServeStatic(r) : Outcome::Declined(); },
      Order::kMiddle, "static");
  // The name is checked before a coroutine is made: other handlers' requests pay nothing.
  auto echo = Coroutine<Request>(handlers::EchoSpooled);
  hooks_.request(Phase::kResponse).Register(
      [echo](Request& r) { return r.handler == "echo" ? echo(r) : Outcome::Declined(); },
      Order::kMiddle, "echo");
  auto echo_stream = Coroutine<Request>(handlers::EchoStream);
  hooks_.request(Phase::kResponse).Register(
      [echo_stream](Request& r) {
        return r.handler == "echo-stream" ? echo_stream(r) : Outcome::Declined();
      },
      Order::kMiddle, "echo-stream");
  hooks_.request(Phase::kResponse).Register(
      [this](Request& r) { return r.handler == "status" ? ServeStatus(r) : Outcome::Declined(); },
      Order::kMiddle, "status");
  // The access log is the log phase's built-in handler.
  hooks_.request(Phase::kLog).Register(
      [this](Request& r) {
        access_log_.Write(r, r.keep_alive);
        return Outcome::Ok();
      },
      Order::kMiddle, "access-log");
  auto echo_lines = Coroutine<Connection>(handlers::EchoLines);
  hooks_.connection(Phase::kProcessConnection).Register(
      [echo_lines](Connection& c) {
        return c.notes["protocol"] == "echo" ? echo_lines(c) : Outcome::Declined();
      },
      Order::kMiddle, "echo");
  auto echo_socket = Coroutine<Connection>(handlers::EchoLinesOnSocket);
  hooks_.connection(Phase::kProcessConnection).Register(
      [echo_socket](Connection& c) {
        return c.notes["protocol"] == "echo-socket" ? echo_socket(c) : Outcome::Declined();
      },
      Order::kMiddle, "echo-socket");
}

absl::Status Server::Run() {
  for (auto& w : workers_) w->Start();
  for (auto& w : workers_) w->Join();
  return absl::OkStatus();
}

void Server::Stop() {
  stopping_ = true;
  for (auto& w : workers_) w->Wake();
}

}  // namespace brigade::server
