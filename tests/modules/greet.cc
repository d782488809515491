// The module docs/MODULES.md builds, step by step: a filter (ROT13), a response handler
// (greet) and the directive it reads (Greeting). Built here as a user would in their own
// package, with the macros of //:brigade.bzl.

#include <string>

#include "brigade/brigade.h"
#include "filters/options.h"
#include "filters/stream_filter.h"
#include "handlers/config_values.h"
#include "handlers/request.h"
#include "module/module.h"

namespace greet {

using brigade::handlers::Outcome;
using brigade::handlers::Request;

// --- the filter: ROT13, one byte at a time, so no state crosses buckets ---
std::string Rot13(absl::string_view in) {
  std::string out(in);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>('a' + (c - 'a' + 13) % 26);
    if (c >= 'A' && c <= 'Z') c = static_cast<char>('A' + (c - 'A' + 13) % 26);
  }
  return out;
}

struct NoOptions {
  static const brigade::filters::OptionTable<NoOptions>& Table() {
    static const auto* table = new brigade::filters::OptionTable<NoOptions>();
    return *table;
  }
};

std::unique_ptr<brigade::filters::OutputFilter> MakeRot13(const NoOptions&) {
  brigade::filters::StreamCallbacks cb;
  cb.on_data = [](absl::string_view data, brigade::filters::Emitter& out) {
    return out.EmitOwned(Rot13(data));
  };
  return brigade::filters::MakeStreamFilter("ROT13", brigade::filters::FilterKind::kResource,
                                            std::move(cb), {.needs_bytes = true});
}

// --- the directive and the handler ---
brigade::handlers::ConfigSlot<std::string> greeting;

Outcome Greet(Request& r) {
  std::string text = greeting.Get(r.config());
  if (text.empty()) text = "Hello";
  text += ", " + (r.args.empty() ? std::string("world") : r.args) + "!\n";
  r.response_headers.Set("Content-Type", "text/plain");
  brigade::Brigade bb(r.allocator());
  if (!bb.WriteOwned(std::move(text)).ok()) return Outcome::Status(500);
  bb.Append(brigade::Bucket::Eos(r.allocator()));
  return r.Pass(bb).ok() ? Outcome::Ok() : Outcome::Status(500);
}

// --- the module ---
brigade::modules::Module GreetModule() {
  return {"greet", [](brigade::modules::ModuleContext& ctx) -> absl::Status {
            greeting = ctx.Slot<std::string>();
            absl::Status s = ctx.AddDirective(
                {.name = "Greeting", .min_args = 1, .max_args = 1, .syntax = "WORD",
                 .parse = [](const brigade::modules::DirectiveArgs& a) {
                   greeting.Mutable(a.values) = a.args[0];
                   return absl::OkStatus();
                 }});
            if (s.ok()) {
              s = ctx.handlers().Add(brigade::handlers::Phase::kResponse, "greet", Greet);
            }
            if (s.ok()) {
              s = ctx.filters().RegisterOutput<NoOptions>(
                  {.name = "ROT13", .kind = brigade::filters::FilterKind::kResource,
                   .description = "rotate ASCII letters by 13"},
                  NoOptions::Table(), MakeRot13);
            }
            return s;
          }};
}
BRIGADE_MODULE(GreetModule);

}  // namespace greet
