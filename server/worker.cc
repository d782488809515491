#include "server/worker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "server/connection.h"
#include "server/event_loop.h"

namespace brigade::server {
namespace {

std::string AddressOf(const sockaddr_in& a) {
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a.sin_addr, ip, sizeof(ip));
  return absl::StrCat(ip, ":", ntohs(a.sin_port));
}

// Event-loop ids: the wake-up eventfd is 0, listener i is kListenBase + i, connections count
// up from kFirstConnection and are never reused.
constexpr uint64_t kListenBase = 1;
constexpr uint64_t kPauseTimer = uint64_t{1} << 20;
constexpr uint64_t kFirstConnection = uint64_t{1} << 32;
// How long accepting pauses when the process is out of descriptors (nginx waits 500 ms; a
// shorter pause notices freed descriptors sooner at a negligible cost).
constexpr int64_t kAcceptPauseMs = 100;
// The longest the loop sleeps: Stop wakes it, but a bound keeps the stop checks honest.
constexpr int kMaxWaitMs = 1000;
// Connections closed since the most there were, before freed memory goes back to the kernel.
// Otherwise that happens once the worker has nothing to do: a few heavy responses (a gzip stream
// holds 330 KiB) leave as much in the free lists as a crowd of light connections, whether or
// not their connections stay open.
constexpr size_t kTrimAfterClosed = 512;

class EpollWorker : public Worker {
 public:
  EpollWorker(Server* server, std::vector<int> listen_fds, std::unique_ptr<EventLoop> loop,
              handlers::ServerCounters* counters)
      : server_(server),
        listen_fds_(std::move(listen_fds)),
        loop_(std::move(loop)),
        counters_(counters) {
    for (size_t i = 0; i < listen_fds_.size(); ++i) {
      loop_->Add(listen_fds_[i], EPOLLIN, kListenBase + i);
    }
  }
  ~EpollWorker() override {
    conns_.clear();  // before the loop they are registered with
    for (int fd : listen_fds_) close(fd);
  }

  void Start() override { thread_ = std::thread([this] { Loop(); }); }
  void Join() override {
    if (thread_.joinable()) thread_.join();
  }
  void Wake() override { loop_->Wake(); }

 private:
  const ServerConfig& config() const { return server_->config(); }

  void Loop() {
    int64_t stop_deadline = 0;
    while (true) {
      if (server_->stopping() && !stopping_) {
        stopping_ = true;
        StopListening();
        stop_deadline = loop_->now_ms() + 1000 * int64_t{config().graceful_shutdown_timeout_s};
        for (auto& [id, c] : conns_) c->OnStop();
        Reap();
      }
      if (stopping_) {
        if (conns_.empty()) break;
        if (loop_->now_ms() >= stop_deadline) {
          for (auto& [id, c] : conns_) c->Cut();
          break;
        }
      }
      active_ = false;
      loop_->RunOnce(
          kMaxWaitMs,
          [this](uint64_t id, uint32_t events) {
            active_ = true;
            OnEvent(id, events);
          },
          [this](uint64_t id) {
            active_ = true;
            OnTimer(id);
          });
      Reap();
    }
    conns_.clear();
    records_.Clear();  // on the thread whose bucket allocator they used
  }

  void OnEvent(uint64_t id, uint32_t events) {
    if (id == EventLoop::kWakeId) return;
    if (id < kFirstConnection) return Accept(static_cast<size_t>(id - kListenBase));
    auto it = conns_.find(id);
    if (it == conns_.end() || it->second->closed()) return;  // closed earlier this round
    it->second->BeginRound();
    it->second->OnReady(events);
  }

  void OnTimer(uint64_t id) {
    if (id == kPauseTimer) return ResumeListening();
    auto it = conns_.find(id);
    if (it == conns_.end() || it->second->closed()) return;
    it->second->OnTimer();
  }

  void Reap() {
    size_t closed = 0;
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (it->second->closed()) {
        conns_.erase(it++);
        ++closed;
      } else {
        ++it;
      }
    }
    // What connections and responses allocated stays in malloc's free lists after they end;
    // once many connections have gone, or after some work the worker waited a whole round for
    // nothing, hand the free pages back to the kernel. Rare: malloc_trim walks the heap, and a
    // worker with anything under way, which reuses those pages, is never idle a whole round.
    uint64_t served = counters_->requests.load(std::memory_order_relaxed);
    if (closed > 0 || served != requests_seen_) {
      requests_seen_ = served;
      worked_since_trim_ = true;
    }
    high_water_ = std::max(high_water_, conns_.size());
    bool many = high_water_ - conns_.size() >= kTrimAfterClosed;
    bool quiet = worked_since_trim_ && !active_;
    if (many || quiet) {
      malloc_trim(0);
      high_water_ = conns_.size();
      worked_since_trim_ = false;
    }
  }

  void Accept(size_t index) {
    if (index >= listen_fds_.size() || paused_) return;
    const ListenSpec& spec = server_->bound()[index];
    while (true) {
      sockaddr_in peer{};
      socklen_t len = sizeof(peer);
      int fd = accept4(listen_fds_[index], reinterpret_cast<sockaddr*>(&peer), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          PauseListening(errno);
        }
        return;  // EAGAIN: drained
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      if (int sndbuf = server_->config().send_buffer_size; sndbuf > 0) {
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
      }
      sockaddr_in local{};
      socklen_t llen = sizeof(local);
      getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen);
      uint64_t id = next_id_++;
      std::unique_ptr<ConnectionBase> c = server_->protocol(index)(ConnectionArgs{
          .context = {server_, loop_.get(), counters_, &records_},
          .id = id,
          .fd = fd,
          .peer = AddressOf(peer),
          .local = AddressOf(local),
          .protocol = spec.protocol,
      });
      ConnectionBase* raw = c.get();
      conns_.emplace(id, std::move(c));
      raw->Start();
    }
  }

  // Out of descriptors: the listener stays readable, so keep it out of the loop for a moment
  // (the backlog holds the clients meanwhile) and say why, at most every few seconds.
  void PauseListening(int err) {
    paused_ = true;
    for (int fd : listen_fds_) loop_->Remove(fd);
    loop_->timers().Arm(pause_timer_, kAcceptPauseMs, loop_->now_ms());
    if (loop_->now_ms() - last_complaint_ms_ >= 5000) {
      last_complaint_ms_ = loop_->now_ms();
      fprintf(stderr, "brigaded: accept: %s; new connections wait %lld ms (%zu open here)\n",
              strerror(err), static_cast<long long>(kAcceptPauseMs), conns_.size());
    }
  }

  void ResumeListening() {
    if (!paused_ || stopping_) return;
    paused_ = false;
    for (size_t i = 0; i < listen_fds_.size(); ++i) {
      loop_->Add(listen_fds_[i], EPOLLIN, kListenBase + i);
    }
  }

  void StopListening() {
    loop_->timers().Cancel(pause_timer_);
    for (int fd : listen_fds_) {
      if (!paused_) loop_->Remove(fd);
      close(fd);
    }
    listen_fds_.clear();
  }

  Server* server_;
  std::vector<int> listen_fds_;
  std::unique_ptr<EventLoop> loop_;
  handlers::ServerCounters* counters_;
  std::thread thread_;
  RecordPool records_;  // the connections' idle records; goes after them
  absl::flat_hash_map<uint64_t, std::unique_ptr<ConnectionBase>> conns_;
  uint64_t next_id_ = kFirstConnection;
  size_t high_water_ = 0;  // the most connections open since the last malloc_trim
  uint64_t requests_seen_ = 0;      // the worker's request count at the last Reap
  bool worked_since_trim_ = false;  // a connection closed or a request ended since
  bool active_ = false;             // the last RunOnce dispatched an event or a timer
  TimerNode pause_timer_{kPauseTimer};
  bool paused_ = false;
  bool stopping_ = false;
  int64_t last_complaint_ms_ = -1000000;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Worker>> Worker::Create(Server* server, std::vector<int> listen_fds,
                                                       handlers::ServerCounters* counters) {
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  if (!loop.ok()) {
    for (int fd : listen_fds) close(fd);
    return loop.status();
  }
  return std::unique_ptr<Worker>(
      std::make_unique<EpollWorker>(server, std::move(listen_fds), *std::move(loop), counters));
}

}  // namespace brigade::server
