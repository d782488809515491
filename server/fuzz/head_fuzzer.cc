// libFuzzer target: bytes as a client's side of a connection, read by HeadReader through
// CORE_IN from a real socket, exactly as the worker reads heads. The input is written to the
// socket in pieces cut where the fuzzer chooses, and read after each piece until the reader
// waits, so every resumption across partial lines and partial CRLFs is exercised.
//
// Input: byte 0 picks the limits (small, so 414 and 431 are reachable), byte 1 seeds the cut
// points, the rest is the wire.
//
// Oracle:
//  - every head ends in exactly one of "a head" or "one error status" (or is still waiting
//    when the input ends, which the header timeout answers with 408); after an error nothing
//    more is read, as the connection closes;
//  - an error status is one the parser documents, with a message;
//  - a head is well formed: HTTP/1.0 or 1.1, a path, never both chunked and a length, one
//    Host in HTTP/1.1, at most the field limit (and the Host an absolute-form target sets),
//    no CR, LF or NUL in a value;
//  - the outcome is the same whether the wire arrives in one piece or cut: resumption never
//    changes what a request means;
//  - every step makes progress (no hang).

#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "filters/chain.h"
#include "filters/core_input.h"
#include "server/head_reader.h"

namespace {

using namespace brigade;
using namespace brigade::server;

bool ValidHead(const RequestHead& h, const HeadLimits& limits) {
  if (h.protocol != "HTTP/1.0" && h.protocol != "HTTP/1.1") return false;
  if (h.method.empty() || h.path.empty()) return false;
  if (h.path[0] != '/' && h.path != "*") return false;
  if (h.chunked && h.content_length.has_value()) return false;
  // An absolute-form target's authority becomes the Host field, which may add one.
  if (h.headers.size() > limits.fields + 1) return false;
  if (h.protocol == "HTTP/1.1" && h.headers.GetAll("Host").size() != 1) return false;
  for (const auto& [name, value] : h.headers) {
    if (name.empty()) return false;
    for (char c : value) {
      if (c == '\r' || c == '\n' || c == '\0') return false;
    }
  }
  return true;
}

bool DocumentedStatus(int status) {
  switch (status) {
    case 400: case 414: case 417: case 431: case 501: case 505:
      return true;
    default:
      return false;
  }
}

// Steps the reader until it waits or the connection is over; appends each head's outcome.
// Returns false when the connection is over (an error, a close, or a head with a body, whose
// framing is past what this target reads).
bool Drain(HeadReader& reader, filters::InputChain& in, filters::CoreInputFilter* core_in,
           BucketAllocator* alloc, const HeadLimits& limits, size_t budget,
           std::string* outcome) {
  uint64_t bytes = 0;
  HttpError e;
  for (size_t steps = 0;; ++steps) {
    if (steps > budget) abort();  // a step that makes no progress
    switch (reader.Step(in, core_in, alloc, limits, &bytes, &e)) {
      case HeadReader::Result::kLine:
        continue;
      case HeadReader::Result::kWait:
        return true;
      case HeadReader::Result::kClosed:
        absl::StrAppend(outcome, "closed;");
        return false;
      case HeadReader::Result::kError: {
        if (!DocumentedStatus(e.status) || e.message.empty()) abort();
        absl::StrAppend(outcome, "error ", e.status, ";");
        return false;
      }
      case HeadReader::Result::kHead: {
        absl::string_view line = reader.request_line();
        const RequestHead& h = reader.head();
        if (!ValidHead(h, limits)) abort();
        absl::StrAppend(outcome, "head ", line, " ", h.path, "?", h.query, " ", h.headers.size(),
                        " ", h.content_length.value_or(~0ull), h.chunked ? " chunked" : "",
                        h.keep_alive ? " keep" : "", ";");
        if (h.chunked || h.content_length.value_or(0) > 0) return false;
        continue;
      }
    }
  }
}

// Feeds `wire` to a fresh reader in pieces of the sizes `cut` gives, then closes the client's
// side. Returns the outcome of every head.
template <typename Cut>
std::string Run(std::string_view wire, const HeadLimits& limits, Cut cut) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) abort();
  BucketAllocator* alloc = BucketAllocator::ForThisThread();
  Brigade src(alloc);
  src.Append(Bucket::FromSource(alloc, Source::Adopt(Source::Kind::kSocket, fds[0], true)));
  filters::Exchange ex;
  filters::InputChain in(&ex);
  auto* core_in = static_cast<filters::CoreInputFilter*>(
      in.Add(std::make_unique<filters::CoreInputFilter>(std::move(src))));
  HeadReader reader;
  std::string outcome;
  size_t budget = 4 * wire.size() + 16;
  bool open = true;
  for (size_t at = 0; open && at < wire.size();) {
    size_t n = std::min<size_t>(cut(), wire.size() - at);
    if (write(fds[1], wire.data() + at, n) != static_cast<ssize_t>(n)) abort();
    at += n;
    open = Drain(reader, in, core_in, alloc, limits, budget, &outcome);
  }
  if (open) {
    absl::StrAppend(&outcome, reader.mid_head() ? "waiting mid-head;" : "idle;");
    shutdown(fds[1], SHUT_WR);
    if (Drain(reader, in, core_in, alloc, limits, budget, &outcome)) abort();  // EOF must end it
  }
  close(fds[1]);
  return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size > 16384) return 0;  // the socket buffer takes a whole input
  HeadLimits limits{.request_line = 24 + (data[0] & 0x1f) * 8u,
                    .fields = 1 + ((data[0] >> 5) & 0x7u) * 3,
                    .field_size = 16 + ((data[0] >> 2) & 0x7u) * 24};
  uint32_t state = data[1] * 2654435761u + 1;
  std::string_view wire(reinterpret_cast<const char*>(data + 2), size - 2);
  std::string whole = Run(wire, limits, [&] { return wire.size(); });
  std::string cut = Run(wire, limits, [&] {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return 1 + state % (1 + data[1] % 17);
  });
  if (whole != cut) {
    fprintf(stderr, "whole: %s\ncut:   %s\n", whole.c_str(), cut.c_str());
    abort();
  }
  return 0;
}
