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
      record_(std::make_unique<handlers::Connection>()),
      timer_(args.id) {
  int fd = args.fd;
  uint64_t id = args.id;
  record_->peer = args.peer;
  record_->local = args.local;
  record_->socket = fd;
  record_->notes["protocol"] = args.protocol;
  record_->set_server(&server().record());
  record_->stack(handlers::Phase::kPreConnection).Configure(&server().pre_connection());
  EventLoop* loop = context_.loop;
  record_->set_waker([loop, id] { loop->Post(id); });
  source_ = Source::Adopt(Source::Kind::kSocket, fd, /*take_ownership=*/false);
  Brigade src(record_->allocator());
  src.Append(Bucket::FromSource(record_->allocator(), source_));
  core_in_ = static_cast<const filters::CoreInputFilter*>(
      record_->input().Add(std::make_unique<filters::CoreInputFilter>(std::move(src))));
  core_out_ = static_cast<CoreOutputFilter*>(
      record_->output().Add(std::make_unique<CoreOutputFilter>(fd)));
  server().stats().connections_open++;
  server().stats().connections_total++;
}

bool ConnectionBase::InputBuffered() const {
  const Bucket* front = core_in_->pending().front();
  return front != nullptr && !front->is_source();
}

ConnectionBase::~ConnectionBase() {
  Close();
  // The record's parked coroutines and filters go before the socket source they may read.
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
  uint64_t written = core_out_->bytes_written();
  server().stats().bytes_out += written - counted_out_;
  counted_out_ = written;
}

absl::Status ConnectionBase::FlushOutput() {
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
  server().stats().connections_open--;
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
