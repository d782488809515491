#include "server/protocol_connection.h"

#include <sys/epoll.h>

#include "handlers/phases.h"

namespace brigade::server {

ProtocolConnection::ProtocolConnection(
    const ConnectionArgs& args,
    const std::vector<handlers::HandlerEntry<handlers::Connection>>* handlers)
    : ConnectionBase(args) {
  record().stack(handlers::Phase::kProcessConnection).Configure(handlers);
}

void ProtocolConnection::Start() { Continue(handlers::RunConnection(server().hooks(), record())); }

void ProtocolConnection::OnReady(uint32_t events) {
  if (lingering()) return DrainLinger();
  if ((events & EPOLLOUT) && core_out().has_pending()) {
    if (!FlushOutput().ok()) return Close();
  }
  if (done_) return Finish();
  Continue(handlers::ResumeConnection(record()));
}

void ProtocolConnection::Continue(const handlers::Outcome& outcome) {
  if (closed()) return;
  if (!outcome.is_suspended()) {
    done_ = true;
    return Finish();
  }
  bool output = record().parked().suspension().wait() == handlers::Wait::kWritable;
  Want(output ? uint32_t{EPOLLOUT} : EPOLLIN | (core_out().has_pending() ? uint32_t{EPOLLOUT} : 0u));
  ArmTimer(1000 * int64_t{config().timeout_s}, output);
  CountOutput();
}

void ProtocolConnection::Finish() {
  if (!FlushOutput().ok()) return Close();
  if (core_out().has_pending()) {
    Want(EPOLLOUT);
    ArmTimer(1000 * int64_t{config().timeout_s}, /*for_output=*/true);
    return;
  }
  Linger();
}

void ProtocolConnection::OnTimer() {
  if (!lingering() && record().parked().suspension().wait() == handlers::Wait::kWritable &&
      SendQueueShrank()) {
    ArmTimer(1000 * int64_t{config().timeout_s}, /*for_output=*/true);
    return;
  }
  Cut();
}

void ProtocolConnection::OnStop() { Cut(); }

void ProtocolConnection::Cut() {
  record().parked().Drop();
  Close();
}

}  // namespace brigade::server
