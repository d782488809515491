// hello: a response handler (SetHandler hello) answering 200, text/plain, "Hello, world!\n".
// HEAD gets the same head and no body (the server drops a HEAD response's body).

#include "brigade/brigade.h"
#include "handlers/request.h"
#include "examples/examples.h"
#include "module/module.h"

namespace brigade::examples {
namespace {

using handlers::Outcome;
using handlers::Request;

constexpr absl::string_view kHello = "Hello, world!\n";

Outcome Hello(Request& r) {
  r.status = 200;
  r.response_headers.Set("Content-Type", "text/plain");
  r.response_headers.Set("Content-Length", std::to_string(kHello.size()));
  Brigade bb(r.allocator());
  bb.Append(Bucket::Immortal(r.allocator(), kHello));
  bb.Append(Bucket::Eos(r.allocator()));
  return r.Pass(bb).ok() ? Outcome::Ok() : Outcome::Status(500);
}

}  // namespace

modules::Module HelloModule() {
  return {"hello", [](modules::ModuleContext& ctx) {
            return ctx.handlers().Add(handlers::Phase::kResponse, "hello", Hello);
          }};
}
BRIGADE_MODULE(HelloModule);

}  // namespace brigade::examples
