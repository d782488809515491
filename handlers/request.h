// The request and connection records handlers work on.
//
// Connection: peer and local addresses, per-connection notes, and the connection's input and
// output filter chains (CONNECTION and NETWORK filters: CORE_IN, CORE_OUT).
// Request: the HTTP exchange (filters::Exchange: method, URI, headers, status, notes), the
// request's own filter chains sitting above the connection's, its per-request handler stacks
// (push/set/get), a body reader, and the response bookkeeping that lets the request cycle
// guarantee exactly one response.
//
// Example (a response handler):
//   Outcome Hello(Request& r) {
//     r.response_headers.Set("Content-Type", "text/plain");
//     Brigade bb(r.allocator());
//     bb.Puts("hello\n");
//     bb.Append(Bucket::Eos(r.allocator()));
//     return r.Pass(bb).ok() ? Outcome::Ok() : Outcome::Status(500);
//   }
//
// Thread-safety: none; both records belong to the connection's worker thread.

#ifndef HANDLERS_REQUEST_H_
#define HANDLERS_REQUEST_H_

#include <array>
#include <cstddef>
#include <ctime>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "brigade/brigade.h"
#include "filters/chain.h"
#include "filters/exchange.h"
#include "handlers/hooks.h"
#include "handlers/phases.h"

namespace brigade::handlers {

class Connection {
 public:
  explicit Connection(BucketAllocator* allocator = BucketAllocator::ForThisThread())
      : allocator_(allocator) {
    output_.set_connection_level(true);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  BucketAllocator* allocator() const { return allocator_; }
  filters::OutputChain& output() { return output_; }
  filters::InputChain& input() { return input_; }

  std::string peer;   // "127.0.0.1:53412"
  std::string local;  // "127.0.0.1:8080"
  // The client socket, for protocol handlers that bypass the filters (mod_perl's
  // $c->client_socket); -1 when there is none.
  int socket = -1;
  absl::flat_hash_map<std::string, std::string> notes;
  // Handlers pushed for this connection's connection phases.
  HandlerStack<Connection>& stack(Phase phase);

 private:
  BucketAllocator* allocator_;
  filters::Exchange exchange_;  // what connection-level filters see
  filters::OutputChain output_{&exchange_};
  filters::InputChain input_{&exchange_};
  std::array<HandlerStack<Connection>, 2> stacks_;
};

class Request : public filters::Exchange {
 public:
  // REQUIRES: `connection` outlives the request.
  explicit Request(Connection* connection);
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  Connection& connection() const { return *connection_; }
  BucketAllocator* allocator() const { return connection_->allocator(); }

  // The request's filter chains, above the connection's.
  filters::OutputChain& output() { return output_; }
  filters::InputChain& input() { return input_; }

  // This request's handler stack for a request phase: push, set, and (with Hooks::Names) get.
  HandlerStack<Request>& stack(Phase phase);
  void PushHandler(Phase phase, std::function<Outcome(Request&)> handler,
                   std::string name = "");

  // Reads up to `max` bytes of the request body through the input chain (blocking) into `out`.
  // Returns the bytes read; 0 once the body has ended (the EOS is consumed here).
  // Errors: the input filters' Status (e.g. InvalidArgument for a malformed chunked body,
  // ResourceExhausted over a limit); HttpStatusFor() maps it to the response status.
  absl::StatusOr<size_t> ReadBody(Brigade& out, size_t max);
  bool body_done() const { return body_done_; }

  // Passes part of the response down the output chain. Marks the response started, and
  // finished once an EOS went through. Errors: the filters' Status.
  absl::StatusOr<filters::Flow> Pass(Brigade& bb);
  bool response_started() const { return response_started_; }
  bool response_finished() const { return response_finished_; }

  // Sends a complete response for `status` (a small HTML body naming it, and `detail` when
  // given), keeping fields such as Allow and Location that a handler set for it.
  // REQUIRES: !response_started().
  absl::Status SendErrorResponse(int status, absl::string_view detail = "");
  // Ends a response that is under way: EOS after a successful one; after a failure, an ERROR
  // bucket and `aborted` (no EOS: a chunked body must not look complete).
  absl::Status FinishResponse(bool failed, int status);

  std::string handler;    // SetHandler name chosen by the configuration ("static", "echo", ...)
  std::string filename;   // set by translate
  Ref<File> file;         // the file translate opened for it, when it did
  bool aborted = false;   // the response could not be completed; close the connection
  bool keep_alive = true;

 private:
  Connection* connection_;
  filters::OutputChain output_;
  filters::InputChain input_;
  std::array<HandlerStack<Request>, 11> stacks_;
  bool response_started_ = false;
  bool response_finished_ = false;
  bool body_done_ = false;
};

// "Not Found" for 404, "" for a status without a standard reason phrase.
absl::string_view ReasonPhrase(int status);

// "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 section 5.6.7).
std::string HttpDate(time_t t);

// The HTTP status for a failed Status from a filter or handler: InvalidArgument and DataLoss →
// 400, ResourceExhausted → 413, Unimplemented → 501, DeadlineExceeded → 408, NotFound → 404,
// PermissionDenied → 403, anything else → 500.
int HttpStatusFor(const absl::Status& status);

}  // namespace brigade::handlers

#endif  // HANDLERS_REQUEST_H_
