#include "server/connection.h"

#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "filters/core_input.h"

namespace brigade::server {

ConnectionBase::ConnectionBase(const ConnectionArgs& args)
    : context_(args.context),
      fd_(args.fd),
      protocol_(args.protocol),
      peer_(args.peer),
      local_(args.local),
      timer_(args.id) {
  source_ = Source::Adopt(Source::Kind::kSocket, fd_, /*take_ownership=*/false);
  BuildRecord();
  handlers::ServerCounters::Add(stats().connections_open, 1);
  handlers::ServerCounters::Add(stats().connections_total, 1);
}

void ConnectionBase::BuildRecord() {
  Brigade src(BucketAllocator::ForThisThread());
  src.Append(Bucket::FromSource(src.allocator(), source_));
  RecordPool* pool = context_.records;
  if (pool != nullptr) pool->in_use_++;
  if (pool != nullptr && !pool->entries_.empty()) {
    RecordPool::Entry& e = pool->entries_.back();
    record_ = std::move(e.record);
    core_in_ = e.core_in;
    core_out_ = e.core_out;
    pool->entries_.pop_back();
    core_in_->Rebind(std::move(src));
    core_out_->Rebind(fd_);
    record_->notes["protocol"] = protocol_;
  } else {
    record_ = std::make_unique<handlers::Connection>();
    record_->notes["protocol"] = protocol_;
    record_->set_server(&server().record());
    record_->stack(handlers::Phase::kPreConnection).Configure(&server().pre_connection());
    core_in_ = static_cast<filters::CoreInputFilter*>(
        record_->input().Add(std::make_unique<filters::CoreInputFilter>(std::move(src))));
    core_out_ = static_cast<CoreOutputFilter*>(
        record_->output().Add(std::make_unique<CoreOutputFilter>(fd_)));
  }
  record_->peer = std::move(peer_);
  record_->local = std::move(local_);
  record_->socket = fd_;
  EventLoop* loop = context_.loop;
  uint64_t id = timer_.id();
  record_->set_waker([loop, id] { loop->Post(id); });
  counted_out_ = 0;
}

handlers::Connection& ConnectionBase::record() {
  if (record_ == nullptr) BuildRecord();
  return *record_;
}

CoreOutputFilter& ConnectionBase::core_out() {
  if (record_ == nullptr) BuildRecord();
  return *core_out_;
}

bool ConnectionBase::OutputPending() const {
  return core_out_ != nullptr && core_out_->has_pending();
}

bool ConnectionBase::ReleaseIdleRecord() {
  handlers::Connection* c = record_.get();
  RecordPool* pool = context_.records;
  if (c == nullptr || closed() || OutputPending() || InputBuffered()) return false;
  if (pool == nullptr || pool->in_use_ <= RecordPool::kKeptRecords) return false;
  auto it = c->notes.find("protocol");
  bool as_built = c->input().size() == 1 && c->output().size() == 1 &&
                  !c->input().eos_delivered() && c->notes.size() == 1 &&
                  it != c->notes.end() && it->second == protocol_ &&
                  c->socket == fd_ && c->parked().task() == nullptr &&
                  !c->stack(handlers::Phase::kPreConnection).modified() &&
                  !c->stack(handlers::Phase::kProcessConnection).modified();
  if (!as_built) return false;
  CountOutput();
  handlers::ServerCounters::Add(stats().idle_records_released, 1);
  peer_ = std::move(c->peer);
  local_ = std::move(c->local);
  pool->in_use_--;
  if (pool->entries_.size() < RecordPool::kMaxPooled) {
    // Pooled as built: the same server, pre_connection list and filters serve any connection
    // of this worker. Only what names this connection is dropped.
    core_in_->Rebind(Brigade(c->allocator()));
    c->set_waker(nullptr);
    pool->entries_.push_back({std::move(record_), core_in_, core_out_});
  }
  core_in_ = nullptr;
  core_out_ = nullptr;
  record_.reset();
  return true;
}

std::unique_ptr<RequestSlot> ConnectionBase::TakeRequestSlot(const void* kind) {
  RecordPool* pool = context_.records;
  if (pool == nullptr) return nullptr;
  for (size_t i = pool->slots_.size(); i-- > 0;) {
    if (pool->slots_[i].first != kind) continue;
    std::unique_ptr<RequestSlot> slot = std::move(pool->slots_[i].second);
    pool->slots_.erase(pool->slots_.begin() + static_cast<ptrdiff_t>(i));
    return slot;
  }
  return nullptr;
}

void ConnectionBase::GiveRequestSlot(const void* kind, std::unique_ptr<RequestSlot> slot) {
  RecordPool* pool = context_.records;
  if (pool != nullptr && pool->slots_.size() < RecordPool::kMaxPooled) {
    pool->slots_.emplace_back(kind, std::move(slot));
  }
}

bool ConnectionBase::InputBuffered() const {
  if (core_in_ == nullptr) return false;
  const Bucket* front = core_in_->pending().front();
  return front != nullptr && !front->is_source();
}

ConnectionBase::~ConnectionBase() {
  Close();
  // The record's parked coroutines and filters go before the socket source they may read.
  if (record_ != nullptr && context_.records != nullptr) context_.records->in_use_--;
  record_.reset();
}

void ConnectionBase::Want(uint32_t events) {
  if (closed() || (registered_ && events == interest_)) return;
  if (!registered_) {
    loop().Add(fd_, events, id());
    registered_ = true;
  } else {
    loop().Modify(fd_, events, id());
  }
  interest_ = events;
}

void ConnectionBase::ArmTimer(int64_t ms, bool for_output) {
  loop().timers().Arm(timer_, ms, loop().now_ms());
  send_queue_ = -1;
  int queued = 0;
  if (for_output && ioctl(fd_, SIOCOUTQ, &queued) == 0) send_queue_ = queued;
}

bool ConnectionBase::SendQueueShrank() {
  int queued = 0;
  if (send_queue_ < 0 || ioctl(fd_, SIOCOUTQ, &queued) != 0) return false;
  return queued < send_queue_;
}

void ConnectionBase::CountOutput() {
  if (core_out_ == nullptr) return;
  uint64_t written = core_out_->bytes_written();
  handlers::ServerCounters::Add(stats().bytes_out, written - counted_out_);
  counted_out_ = written;
}

absl::Status ConnectionBase::FlushOutput() {
  if (core_out_ == nullptr) return absl::OkStatus();
  absl::Status s = core_out_->Flush();
  CountOutput();
  return s;
}

void ConnectionBase::Close() {
  if (closed()) return;
  CountOutput();  // what left since the last wait, e.g. the last response before a close
  loop().timers().Cancel(timer_);
  if (registered_) loop().Remove(fd_);
  registered_ = false;
  interest_ = 0;
  source_->Close();
  close(fd_);
  fd_ = -1;
  handlers::ServerCounters::Sub(stats().connections_open, 1);
}

void ConnectionBase::Linger() {
  if (closed()) return;
  shutdown(fd_, SHUT_WR);
  lingering_ = true;
  loop().timers().Arm(timer_, kLingerMs, loop().now_ms());
  Want(EPOLLIN);
  DrainLinger();
}

void ConnectionBase::DrainLinger() {
  char buf[16384];
  while (!closed()) {
    ssize_t n = read(fd_, buf, sizeof(buf));
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // more may come
    Close();  // EOF or error: done
  }
}

}  // namespace brigade::server
