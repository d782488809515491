// count: a coroutine response handler (SetHandler count) answering GET /...?n=N
// (1 <= N <= 100000000; anything else is 400) with the lines "1\n" ... "N\n", text/plain,
// chunked, passed on in pieces of at most 64 KiB. It suspends whenever the chain answers kAgain
// (co_await r.Send), so a client that stops reading holds one piece of server memory, and the
// worker serves everyone else meanwhile.

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "brigade/brigade.h"
#include "handlers/request.h"
#include "handlers/task.h"
#include "examples/examples.h"
#include "module/module.h"

namespace brigade::examples {
namespace {

using handlers::Outcome;
using handlers::Request;
using handlers::Task;

constexpr uint64_t kMaxN = 100000000;
constexpr size_t kPiece = 64 * 1024;  // passed on at a time
constexpr size_t kLines = 4096;       // formatted at a time

// N from "n=N" among the query's parameters; 0 when absent or out of range.
uint64_t CountOf(absl::string_view args) {
  for (absl::string_view param : absl::StrSplit(args, '&')) {
    uint64_t n = 0;
    if (absl::ConsumePrefix(&param, "n=") && absl::SimpleAtoi(param, &n) && n >= 1 &&
        n <= kMaxN && param.find_first_not_of("0123456789") == absl::string_view::npos) {
      return n;
    }
  }
  return 0;
}

Task<Outcome> Count(Request& r) {
  if (r.method != "GET" && r.method != "HEAD") co_return Outcome::Status(405);
  uint64_t n = CountOf(r.args);
  if (n == 0) co_return Outcome::Status(400);
  r.status = 200;
  r.response_headers.Set("Content-Type", "text/plain");
  uint64_t next = 1;
  std::string lines;  // reused: one allocation for the whole response
  lines.reserve(kLines + 10);
  while (next <= n) {
    // The pieces are copied into the allocator's pooled blocks, which come back to the pool as
    // the socket takes them: a stalled client costs one piece, and no heap grows per client.
    Brigade bb(r.allocator());
    while (next <= n && bb.Length().value_or(0) + kLines <= kPiece) {
      lines.clear();
      // The longest line is 10 bytes: "100000000\n".
      while (next <= n && lines.size() + 10 <= kLines) absl::StrAppend(&lines, next++, "\n");
      if (!bb.WriteCopy(lines).ok()) co_return Outcome::Status(500);
    }
    if (absl::Status s = co_await r.Send(bb); !s.ok()) co_return Outcome::Status(500);
  }
  co_return Outcome::Ok();  // the cycle ends the response with EOS
}

}  // namespace

modules::Module CountModule() {
  return {"count", [](modules::ModuleContext& ctx) {
            return ctx.handlers().Add(handlers::Phase::kResponse, "count",
                                      handlers::Coroutine<Request>(Count));
          }};
}
BRIGADE_MODULE(CountModule);

}  // namespace brigade::examples
