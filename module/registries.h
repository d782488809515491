// Registries: everything the modules register before the configuration is read — filters,
// named handlers, hooks, protocols, directives and typed slots — and what a directive's parse
// callback is given. Modules fill it through ModuleContext (module/module.h); the
// configuration (server/config.h) and the server read it.
//
// Thread-safety: filled single-threaded at start-up; read-only afterwards.

#ifndef MODULE_REGISTRIES_H_
#define MODULE_REGISTRIES_H_

#include <any>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "filters/registry.h"
#include "handlers/config_values.h"
#include "handlers/named_handlers.h"
#include "handlers/phases.h"

namespace brigade::server {
class ConnectionBase;   // server/connection.h
struct ConnectionArgs;  // server/connection.h
}  // namespace brigade::server

namespace brigade::modules {

enum class DirectiveScope { kServer, kLocation, kBoth };

// What a module's directive is given: its words, where it stands, and that scope's values.
struct DirectiveArgs {
  const std::vector<std::string>& args;  // the words after the directive's name
  bool in_location;
  handlers::ConfigValues& values;        // the server's or the Location's
};

// A configuration directive a module adds. Its parse callback's error becomes
// "file:line: NAME: reason".
struct Directive {
  std::string name = "";
  DirectiveScope scope = DirectiveScope::kBoth;
  size_t min_args = 1;
  size_t max_args = static_cast<size_t>(-1);
  std::string syntax = "";  // for errors, e.g. "ADDRESS|CIDR..."
  std::function<absl::Status(const DirectiveArgs& args)> parse = nullptr;
  std::string module = "";  // set by ModuleContext
};

// A protocol that drives its connections itself, as HTTP/1.1 does: given a worker's accepted
// socket, it makes the task the worker resumes on readiness. Protocols written as
// process_connection handlers (handlers/named_handlers.h) need none: the server runs them.
using ProtocolFactory =
    std::function<std::unique_ptr<server::ConnectionBase>(const server::ConnectionArgs& args)>;

// What a filter's defaults callback is given for each spec naming the filter in the
// configuration: how a module's server-wide directives (DeflateCompressionLevel) reach the
// options of its filters. The callback sets defaults (FilterOptions::SetDefault), which the
// spec's own options override.
struct FilterDefaultsArgs {
  const handlers::ConfigValues& server;  // the modules' server-scope values
  filters::Direction direction;
  uint64_t limit_request_body;  // the core's LimitRequestBody
  filters::FilterOptions& options;
};
using FilterDefaults = std::function<void(const FilterDefaultsArgs& args)>;

struct Registries {
  filters::FilterRegistry filters;
  handlers::NamedHandlers handlers;
  handlers::Hooks hooks;
  std::map<std::string, ProtocolFactory> protocols;  // by the name Listen's third word gives
  std::map<std::string, std::vector<FilterDefaults>> filter_defaults;  // by filter name
  std::map<std::string, Directive> directives;
  // Per slot: how a Location's value combines with the server's; null: the Location's own
  // value wins, else the server's applies.
  std::vector<std::function<std::any(const std::any& server, const std::any& location)>> merges;
  size_t request_slots = 0;  // per-request StateSlots handed out
  size_t server_slots = 0;   // per-server StateSlots handed out
};

}  // namespace brigade::modules

#endif  // MODULE_REGISTRIES_H_
