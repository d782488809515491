// NamedHandlers: the handlers a configuration selects by name — request handlers for one phase
// each (what SetHandler and the per-phase directives TransHandler, AccessHandler, ... name) and
// connection handlers (PreConnectionHandler; a Listen's PROTOCOL names a process_connection
// handler). Hooks (phases.h) always run; a named handler runs only where the configuration
// names it, after the phase's hooks, in the order named (mod_perl's Perl*Handler lists).
//
// Example:
//   NamedHandlers named;
//   named.Add(Phase::kResponse, "hello", [](Request& r) { return SayHello(r); });
//   named.Add(Phase::kAccess, "deny-from", DenyFrom);
//   // In the configuration: "SetHandler hello", "AccessHandler deny-from".
//
// Thread-safety: registration at start-up, single-threaded; then read-only and shared.

#ifndef HANDLERS_NAMED_HANDLERS_H_
#define HANDLERS_NAMED_HANDLERS_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "handlers/hooks.h"
#include "handlers/phases.h"

namespace brigade::handlers {

class NamedHandlers {
 public:
  using RequestHandler = std::function<Outcome(Request&)>;
  using ConnectionHandler = std::function<Outcome(Connection&)>;

  // Errors: `phase` is not a request phase → InvalidArgument; the name is taken for that
  // phase → AlreadyExists.
  [[nodiscard]] absl::Status Add(Phase phase, std::string name, RequestHandler handler);
  // `phase`: kPreConnection, or kProcessConnection for a protocol. Errors as Add.
  [[nodiscard]] absl::Status AddConnection(Phase phase, std::string name,
                                           ConnectionHandler handler);

  // The handler `name` registered for `phase`, or NotFound saying which phases it has (or
  // that there is none), for a configuration error.
  [[nodiscard]] absl::StatusOr<HandlerEntry<Request>> Find(Phase phase,
                                                           const std::string& name) const;
  [[nodiscard]] absl::StatusOr<HandlerEntry<Connection>> FindConnection(
      Phase phase, const std::string& name) const;

  // Names registered for `phase`, sorted.
  std::vector<std::string> Names(Phase phase) const;

 private:
  template <typename Arg>
  [[nodiscard]] absl::StatusOr<HandlerEntry<Arg>> Lookup(
      const std::map<std::pair<Phase, std::string>, HandlerEntry<Arg>>& table, Phase phase,
      const std::string& name) const;

  std::map<std::pair<Phase, std::string>, HandlerEntry<Request>> request_;
  std::map<std::pair<Phase, std::string>, HandlerEntry<Connection>> connection_;
};

}  // namespace brigade::handlers

#endif  // HANDLERS_NAMED_HANDLERS_H_
