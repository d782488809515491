// Modules: how code — built in or a user's — becomes part of brigaded and brigade-filter.
//
// A module has a name and a setup function. Setup runs once, before the configuration is read,
// and registers through its ModuleContext any of:
//   - hooks on any server, connection or request phase (ctx.hooks(), with an Order);
//   - output and input filters by name with their option table (ctx.filters());
//   - handlers by name for a phase — what SetHandler and the per-phase directives select —
//     including process_connection handlers, which Listen's third word can name
//     (ctx.handlers());
//   - connection protocols that drive their sockets themselves, as HTTP/1.1 does
//     (ctx.AddProtocol);
//   - configuration directives with their scope and arguments (ctx.AddDirective), whose values
//     live in typed slots the module owns (ctx.Slot<T>()), merged per Location at load time;
//   - per-request and per-server state in typed slots (ctx.RequestSlot<T>(), ctx.ServerSlot<T>()).
// brigaded's main is a list of modules: BuiltinModules() and whatever a build adds.
//
// Example (a response handler with a directive):
//   handlers::ConfigSlot<std::string> greeting;
//   Module Hello() {
//     return {"hello", [](ModuleContext& ctx) -> absl::Status {
//       greeting = ctx.Slot<std::string>();
//       absl::Status s = ctx.AddDirective({.name = "Greeting", .min_args = 1, .max_args = 1,
//                                          .syntax = "TEXT", .parse = [](const DirectiveArgs& a) {
//         greeting.Mutable(a.values) = a.args[0];
//         return absl::OkStatus();
//       }});
//       if (!s.ok()) return s;
//       return ctx.handlers().Add(handlers::Phase::kResponse, "hello", SayHello);
//     }};
//   }
//
// Thread-safety: setup is single-threaded, at start-up; afterwards everything is read-only.

#ifndef MODULE_MODULE_H_
#define MODULE_MODULE_H_

#include <any>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "filters/registry.h"
#include "handlers/config_values.h"
#include "handlers/named_handlers.h"
#include "handlers/phases.h"
#include "module/registries.h"

namespace brigade::modules {

class ModuleContext {
 public:
  // REQUIRES: `registries` outlives the context.
  ModuleContext(Registries& registries, std::string module)
      : registries_(registries), module_(std::move(module)) {}

  const std::string& module() const { return module_; }
  filters::FilterRegistry& filters() { return registries_.filters; }
  handlers::NamedHandlers& handlers() { return registries_.handlers; }
  handlers::Hooks& hooks() { return registries_.hooks; }
  // A hook of this module on `phase`, placed by `placement` (its Order and the modules whose
  // hooks must run before or after it). A cycle is a start-up error naming the modules.
  void AddHook(handlers::Phase phase, std::string name,
               std::function<handlers::Outcome(handlers::Request&)> handler,
               handlers::HookPlacement placement = {}, handlers::HookNeeded needed = nullptr) {
    registries_.hooks.request(phase).Register(std::move(handler), std::move(placement),
                                              std::move(name), module_, std::move(needed));
  }
  void AddHook(handlers::Phase phase, std::string name,
               std::function<handlers::Outcome(handlers::Connection&)> handler,
               handlers::HookPlacement placement = {}, handlers::HookNeeded needed = nullptr) {
    registries_.hooks.connection(phase).Register(std::move(handler), std::move(placement),
                                                 std::move(name), module_, std::move(needed));
  }
  void AddHook(handlers::Phase phase, std::string name,
               std::function<handlers::Outcome(handlers::ServerRecord&)> handler,
               handlers::HookPlacement placement = {}) {
    registries_.hooks.server(phase).Register(std::move(handler), std::move(placement),
                                             std::move(name), module_);
  }

  // A new configuration slot for a T. `merge(server, location)` combines a Location's value
  // with the server's when both are set; without it the Location's own value wins.
  template <typename T>
  handlers::ConfigSlot<T> Slot(std::function<T(const T& server, const T& location)> merge = nullptr) {
    size_t index = registries_.merges.size();
    if (merge) {
      registries_.merges.push_back([merge](const std::any& server, const std::any& location) {
        return std::any(merge(*std::any_cast<T>(&server), *std::any_cast<T>(&location)));
      });
    } else {
      registries_.merges.push_back(nullptr);
    }
    return handlers::ConfigSlot<T>(index);
  }

  // A new per-request slot for a T (read and written through r.state()).
  template <typename T>
  handlers::StateSlot<T> RequestSlot() {
    return handlers::StateSlot<T>(registries_.request_slots++);
  }
  // A new per-server slot for a T (ServerRecord::state; a request reaches it through
  // r.connection().server()). Written by server-phase hooks, read by everything after.
  template <typename T>
  handlers::StateSlot<T> ServerSlot() {
    return handlers::StateSlot<T>(registries_.server_slots++);
  }

  // Defaults for the options of every configured spec of filter `name`, from the server's
  // values (module/registries.h). Several modules may add defaults to one filter; they run in
  // registration order.
  void AddFilterDefaults(std::string name, FilterDefaults defaults) {
    registries_.filter_defaults[std::move(name)].push_back(std::move(defaults));
  }

  // A protocol by name, for Listen's third word (module/registries.h). Errors: the name is
  // taken, by another protocol or a process_connection handler → AlreadyExists.
  [[nodiscard]] absl::Status AddProtocol(std::string name, ProtocolFactory factory);

  // Errors: a core directive's name, or one another module added → AlreadyExists;
  // no parse callback, or min_args > max_args → InvalidArgument.
  [[nodiscard]] absl::Status AddDirective(Directive directive);

 private:
  Registries& registries_;
  std::string module_;
};

struct Module {
  std::string name;
  std::function<absl::Status(ModuleContext& ctx)> setup;
};

// Runs every module's setup, in order. Errors are prefixed with the module's name; a protocol
// name that is also a process_connection handler's → AlreadyExists.
[[nodiscard]] absl::Status RegisterModules(Registries& registries,
                                           const std::vector<Module>& modules);

// The modules linked into this binary with BRIGADE_MODULE, in link order. brigaded and
// brigade-filter binaries made with brigaded_binary / brigade_filter_binary (brigade.bzl) run
// the built-in modules, then these.
std::vector<Module> LinkedModules();

namespace internal {
bool LinkModule(Module (*make)());
}  // namespace internal

// In a module's .cc file (its cc_library with alwayslink = True, as the Bazel macros expect):
//   Module HelloModule() { return {"hello", ...}; }
//   BRIGADE_MODULE(HelloModule);
// It records the module's factory when the binary starts; the module's own state stays in the
// slots and handlers its setup registers.
#define BRIGADE_MODULE(make)                                    \
  [[maybe_unused]] static const bool brigade_module_##make = \
      ::brigade::modules::internal::LinkModule(&make)

}  // namespace brigade::modules

#endif  // MODULE_MODULE_H_
