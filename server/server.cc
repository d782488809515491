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
#include "handlers/request.h"
#include "server/protocol_connection.h"
#include "server/uri.h"
#include "server/worker.h"

namespace brigade::server {

namespace {
// The queue bound: requests waiting for a blocking thread beyond it are answered 503.
constexpr size_t kBlockingQueue = 64;
}  // namespace

Server::Server(ServerConfig config, const modules::Registries& registries)
    : config_(std::move(config)),
      registries_(registries),
      blocking_pool_(config_.blocking_pool_threads, kBlockingQueue) {}

Server::~Server() {
  for (auto& w : workers_) w->Join();
  workers_.clear();  // closes what a worker that never ran still owns
  for (const auto& [root, fd] : root_fds_) close(fd);
}

absl::StatusOr<std::unique_ptr<Server>> Server::Create(ServerConfig config,
                                                      const modules::Registries& registries) {
  signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<Server> s(new Server(std::move(config), registries));
  s->hooks_ = registries.hooks;
  if (absl::Status st = s->hooks_.Sort(); !st.ok()) return st;
  if (absl::Status st = s->CompileConnectionHandlers(); !st.ok()) return st;
  if (absl::Status st = s->OpenRoots(); !st.ok()) return st;
  absl::StatusOr<Locations> locations =
      Locations::Compile(s->config_, s->registries_, s->root_fds_);
  if (!locations.ok()) return locations.status();
  s->locations_ = *std::move(locations);
  if (absl::Status st = s->Bind(); !st.ok()) return st;
  for (std::vector<int>& fds : s->listen_fds_) {
    s->record_.counters.push_back(std::make_unique<handlers::ServerCounters>());
    absl::StatusOr<std::unique_ptr<Worker>> w =
        Worker::Create(s.get(), fds, s->record_.counters.back().get());
    if (!w.ok()) return w.status();
    s->workers_.push_back(*std::move(w));
  }
  s->listen_fds_.clear();  // the workers own them now
  s->record_.config = &s->config_.values;
  s->record_.blocking_pool = &s->blocking_pool_;
  s->hooks_.Prune(s->record_);
  if (absl::Status st = handlers::RunServerConfig(s->hooks_, s->record_); !st.ok()) return st;
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
  // As Apache on a graceful restart: the open_logs hooks run again (a log module reopens its
  // file, keeping the old one if that fails, and says so on stderr).
  record_.failure.clear();
  handlers::Outcome o = hooks_.server(handlers::Phase::kOpenLogs).Run(record_);
  if (!o.is_ok() && !o.is_declined()) {
    fprintf(stderr, "brigaded: SIGHUP: open_logs failed: a hook answered %d%s%s\n",
            o.http_status(), record_.failure.empty() ? "" : ": ", record_.failure.c_str());
  }
}

std::vector<std::string> Server::Addresses() const {
  std::vector<std::string> out;
  for (const ListenSpec& l : bound_) out.push_back(absl::StrCat(l.address, ":", l.port, " ", l.protocol));
  return out;
}


absl::Status Server::CompileConnectionHandlers() {
  using handlers::Phase;
  for (const HandlerRef& ref : config_.handlers) {
    if (ref.phase != Phase::kPreConnection) continue;
    absl::StatusOr<handlers::HandlerEntry<handlers::Connection>> e =
        registries_.handlers.FindConnection(ref.phase, ref.name);
    if (!e.ok()) return e.status();
    pre_connection_.push_back(*std::move(e));
  }
  connection_handlers_.resize(config_.listens.size());
  for (size_t i = 0; i < config_.listens.size(); ++i) {
    const std::string& name = config_.listens[i].protocol;
    if (auto it = registries_.protocols.find(name); it != registries_.protocols.end()) {
      protocols_.push_back(it->second);
      continue;
    }
    absl::StatusOr<handlers::HandlerEntry<handlers::Connection>> e =
        registries_.handlers.FindConnection(Phase::kProcessConnection, name);
    if (!e.ok()) return absl::NotFoundError(absl::StrCat("Listen: unknown protocol ", name));
    connection_handlers_[i].push_back(*std::move(e));
    const auto* stack = &connection_handlers_[i];
    protocols_.push_back([stack](const ConnectionArgs& args) -> std::unique_ptr<ConnectionBase> {
      return std::make_unique<ProtocolConnection>(args, stack);
    });
  }
  return absl::OkStatus();
}

absl::Status Server::Run() {
  // One child_init per worker (Apache runs it once per child process); void: results ignored.
  for (size_t i = 0; i < workers_.size(); ++i) handlers::RunChildInit(hooks_, record_);
  for (auto& w : workers_) w->Start();
  for (auto& w : workers_) w->Join();
  return absl::OkStatus();
}

void Server::Stop() {
  stopping_ = true;
  for (auto& w : workers_) w->Wake();
}

}  // namespace brigade::server
