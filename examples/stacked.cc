// stacked: a response handler (SetHandler stacked) answering 200 "stacked\n" that pushes
// cleanup handlers at run time, as the Eagle book's push_handlers('PerlCleanupHandler', ...):
// A, then B, then C, then A again. Each appends its letter and the request's path ("A /x") to
// the file StackedLog names (Location scope). After the response has left, the file holds A, B,
// C, A in that order: pushed handlers run first in, first out, and one pushed twice runs twice.

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "brigade/brigade.h"
#include "handlers/request.h"
#include "examples/examples.h"
#include "module/module.h"

namespace brigade::examples {
namespace {

using handlers::Outcome;
using handlers::Phase;
using handlers::Request;

handlers::ConfigSlot<std::string> log_file;

// One short line appended with O_APPEND, as the access log writes its lines.
handlers::NamedHandlers::RequestHandler Appender(std::string letter) {
  return [letter](Request& r) {
    const std::string& path = log_file.Get(r.config());
    if (path.empty()) return Outcome::Ok();
    int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Outcome::Status(500);
    std::string line = absl::StrCat(letter, " ", r.uri, "\n");
    bool ok = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    close(fd);
    return ok ? Outcome::Ok() : Outcome::Status(500);
  };
}

Outcome Stacked(Request& r) {
  for (const char* letter : {"A", "B", "C", "A"}) {
    r.PushHandler(Phase::kCleanup, Appender(letter), letter);
  }
  r.status = 200;
  r.response_headers.Set("Content-Type", "text/plain");
  r.response_headers.Set("Content-Length", "8");
  Brigade bb(r.allocator());
  bb.Append(Bucket::Immortal(r.allocator(), "stacked\n"));
  bb.Append(Bucket::Eos(r.allocator()));
  return r.Pass(bb).ok() ? Outcome::Ok() : Outcome::Status(500);
}

}  // namespace

modules::Module StackedModule() {
  return {"stacked", [](modules::ModuleContext& ctx) -> absl::Status {
            log_file = ctx.Slot<std::string>();
            absl::Status s = ctx.AddDirective(
                {.name = "StackedLog", .scope = modules::DirectiveScope::kLocation, .min_args = 1,
                 .max_args = 1, .syntax = "FILE",
                 .parse = [](const modules::DirectiveArgs& a) {
                   log_file.Mutable(a.values) = a.args[0];
                   return absl::OkStatus();
                 }});
            if (!s.ok()) return s;
            return ctx.handlers().Add(Phase::kResponse, "stacked", Stacked);
          }};
}
BRIGADE_MODULE(StackedModule);

}  // namespace brigade::examples
