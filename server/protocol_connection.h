// ProtocolConnection: a connection whose Listen names a process_connection handler; the
// handlers (echo, echo-socket, ...) take it, usually as coroutines that the
// worker resumes on readiness — no thread per connection.
//
// When the handler returns, what CORE_OUT still holds goes out, then the connection closes with
// a lingering close. Timeout bounds each wait for the client (inactivity). SIGTERM ends the
// conversation at once: the client sees the connection close.
//
// Thread-safety: none; lives on one worker thread.

#ifndef SERVER_PROTOCOL_CONNECTION_H_
#define SERVER_PROTOCOL_CONNECTION_H_

#include <vector>

#include "handlers/named_handlers.h"
#include "server/connection.h"

namespace brigade::server {

class ProtocolConnection final : public ConnectionBase {
 public:
  // `handlers`: the process_connection handlers to run. REQUIRES: they outlive the connection.
  ProtocolConnection(const ConnectionArgs& args,
                     const std::vector<handlers::HandlerEntry<handlers::Connection>>* handlers);

  void Start() override;
  void OnReady(uint32_t events) override;
  void OnTimer() override;
  void OnStop() override;
  void Cut() override;

 private:
  // Acts on what the handler returned (or that it parked).
  void Continue(const handlers::Outcome& outcome);
  // The handler is done: the rest of the output, then the lingering close.
  void Finish();

  bool done_ = false;
};

}  // namespace brigade::server

#endif  // SERVER_PROTOCOL_CONNECTION_H_
