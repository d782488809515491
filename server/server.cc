#include "server/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "brigade/brigade.h"
#include "filters/builtin_filters.h"
#include "handlers/request.h"
#include "handlers/static_handler.h"
#include "server/uri.h"
#include "server/worker.h"

namespace brigade::server {

Server::Server(ServerConfig config) : config_(std::move(config)) {}

Server::~Server() {
  for (auto& w : workers_) w->Join();
  workers_.clear();  // closes what a worker that never ran still owns
  for (const auto& [root, fd] : root_fds_) close(fd);
  absl::MutexLock lock(&log_mu_);
  if (log_ != nullptr && log_ != stdout) fclose(log_);
}

absl::StatusOr<std::unique_ptr<Server>> Server::Create(ServerConfig config) {
  std::unique_ptr<Server> s(new Server(std::move(config)));
  if (absl::Status st = filters::RegisterBuiltinFilters(s->registry_); !st.ok()) return st;
  s->RegisterHandlers();
  if (absl::Status st = s->OpenRoots(); !st.ok()) return st;
  if (absl::Status st = s->Bind(); !st.ok()) return st;
  if (absl::Status st = s->OpenLog(); !st.ok()) return st;
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

absl::Status Server::OpenLog() {
  absl::MutexLock lock(&log_mu_);
  if (log_ != nullptr && log_ != stdout) fclose(log_);
  log_ = nullptr;
  if (config_.access_log.empty()) return absl::OkStatus();
  if (config_.access_log == "-") {
    log_ = stdout;
    return absl::OkStatus();
  }
  log_ = fopen(config_.access_log.c_str(), "ae");
  if (log_ == nullptr) {
    return internal::ErrnoStatus(errno, absl::StrCat("AccessLog ", config_.access_log));
  }
  return absl::OkStatus();
}

void Server::ReopenLogs() { (void)OpenLog(); }

void Server::Log(const std::string& line) {
  absl::MutexLock lock(&log_mu_);
  if (log_ == nullptr) return;
  fputs(line.c_str(), log_);
  fflush(log_);
}

std::vector<std::string> Server::Addresses() const {
  std::vector<std::string> out;
  for (const ListenSpec& l : bound_) out.push_back(absl::StrCat(l.address, ":", l.port, " ", l.protocol));
  return out;
}

void Server::RegisterHandlers() {
  using handlers::Outcome;
  using handlers::Phase;
  using handlers::Request;
  hooks_.request(Phase::kTranslate).Register(
      [this](Request& r) {
        if (r.handler != "static") return Outcome::Declined();
        absl::StatusOr<std::string> decoded = PercentDecode(r.uri);
        if (!decoded.ok()) return Outcome::Status(400);
        std::string path = RemoveDotSegments(*decoded);
        const std::string& root = r.notes["document_root"];
        r.filename = root + path;
        auto root_fd = root_fds_.find(root);
        if (root_fd != root_fds_.end()) {
          absl::StatusOr<Ref<File>> file = OpenBeneath(root_fd->second, path);
          if (file.ok()) {
            r.file = *std::move(file);
            return Outcome::Ok();
          }
          if (absl::IsPermissionDenied(file.status())) return Outcome::Status(403);
          if (absl::IsNotFound(file.status())) return Outcome::Status(404);
        }
        absl::StatusOr<std::string> file = MapToFile(root, path);  // kernels without openat2
        if (absl::IsPermissionDenied(file.status())) return Outcome::Status(403);
        if (!file.ok()) return Outcome::Status(404);
        r.filename = *file;
        return Outcome::Ok();
      },
      handlers::Order::kMiddle, "map-to-file");
  hooks_.request(Phase::kResponse).Register(
      [](Request& r) { return r.handler == "static" ? handlers::ServeStatic(r) : Outcome::Declined(); },
      handlers::Order::kMiddle, "static");
  hooks_.request(Phase::kResponse).Register(
      [](Request& r) { return r.handler == "echo" ? handlers::EchoBody(r) : Outcome::Declined(); },
      handlers::Order::kMiddle, "echo");
  hooks_.request(Phase::kResponse).Register(
      [this](Request& r) {
        if (r.handler != "status") return Outcome::Declined();
        CopyStats copies = GlobalCopyStats();
        std::string body = absl::StrCat(
            "brigaded status\n", "connections_open: ", stats_.connections_open.load(), "\n",
            "connections_total: ", stats_.connections_total.load(), "\n",
            "requests: ", stats_.requests.load(), "\n", "bytes_in: ", stats_.bytes_in.load(), "\n",
            "bytes_out: ", stats_.bytes_out.load(), "\n", "bytes_copied: ", copies.bytes_copied,
            "\n", "bytes_shared: ", copies.bytes_shared, "\n", "bytes_read: ", copies.bytes_read,
            "\n");
        r.status = 200;
        r.response_headers.Set("Content-Type", "text/plain; charset=utf-8");
        r.response_headers.Set("Cache-Control", "no-store");
        Brigade bb(r.allocator());
        if (!bb.WriteOwned(std::move(body)).ok()) return Outcome::Status(500);
        bb.Append(Bucket::Eos(r.allocator()));
        return r.Pass(bb).ok() ? Outcome::Ok() : Outcome::Status(500);
      },
      handlers::Order::kMiddle, "status");
  hooks_.connection(Phase::kProcessConnection).Register(
      [](handlers::Connection& c) {
        if (c.notes["protocol"] != "echo") return Outcome::Declined();
        (void)handlers::EchoLines(c);
        return Outcome::Ok();
      },
      handlers::Order::kMiddle, "echo");
  hooks_.connection(Phase::kProcessConnection).Register(
      [this](handlers::Connection& c) {
        if (c.notes["protocol"] != "echo-socket") return Outcome::Declined();
        (void)handlers::EchoLinesOnSocket(c.socket, config_.timeout_s * 1000);
        return Outcome::Ok();
      },
      handlers::Order::kMiddle, "echo-socket");
}

absl::Status Server::Run() {
  for (auto& w : workers_) w->Start();
  for (auto& w : workers_) w->Join();
  // Echo sessions were shut down by Stop; wait (bounded) for their threads to let go.
  absl::MutexLock lock(&echo_mu_);
  echo_mu_.AwaitWithTimeout(absl::Condition(
                                +[](std::set<int>* fds) { return fds->empty(); }, &echo_fds_),
                            absl::Seconds(config_.timeout_s));
  return absl::OkStatus();
}

void Server::Stop() {
  stopping_ = true;
  for (auto& w : workers_) w->Wake();
  absl::MutexLock lock(&echo_mu_);
  for (int fd : echo_fds_) shutdown(fd, SHUT_RDWR);  // their reads see the end at once
}

void Server::EchoStarted(int fd) {
  absl::MutexLock lock(&echo_mu_);
  echo_fds_.insert(fd);
  if (stopping_) shutdown(fd, SHUT_RDWR);
}

void Server::EchoEnded(int fd) {
  absl::MutexLock lock(&echo_mu_);
  echo_fds_.erase(fd);
}

}  // namespace brigade::server
