#include "handlers/named_handlers.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace brigade::handlers {

absl::Status NamedHandlers::Add(Phase phase, std::string name, RequestHandler handler) {
  if (!IsRequestPhase(phase)) {
    return absl::InvalidArgumentError(
        absl::StrCat(PhaseName(phase), " is not a request phase (handler ", name, ")"));
  }
  auto key = std::make_pair(phase, name);
  if (request_.count(key) != 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("a ", PhaseName(phase), " handler named ", name, " is registered"));
  }
  request_.emplace(std::move(key), HandlerEntry<Request>{std::move(handler), std::move(name)});
  return absl::OkStatus();
}

absl::Status NamedHandlers::AddConnection(Phase phase, std::string name,
                                          ConnectionHandler handler) {
  if (phase != Phase::kPreConnection && phase != Phase::kProcessConnection) {
    return absl::InvalidArgumentError(
        absl::StrCat(PhaseName(phase), " is not a connection phase (handler ", name, ")"));
  }
  auto key = std::make_pair(phase, name);
  if (connection_.count(key) != 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("a ", PhaseName(phase), " handler named ", name, " is registered"));
  }
  connection_.emplace(std::move(key),
                      HandlerEntry<Connection>{std::move(handler), std::move(name)});
  return absl::OkStatus();
}

template <typename Arg>
absl::StatusOr<HandlerEntry<Arg>> NamedHandlers::Lookup(
    const std::map<std::pair<Phase, std::string>, HandlerEntry<Arg>>& table, Phase phase,
    const std::string& name) const {
  auto it = table.find(std::make_pair(phase, name));
  if (it != table.end()) return it->second;
  std::vector<std::string> other;
  for (const auto& [key, entry] : request_) {
    if (key.second == name) other.push_back(std::string(PhaseName(key.first)));
  }
  for (const auto& [key, entry] : connection_) {
    if (key.second == name) other.push_back(std::string(PhaseName(key.first)));
  }
  if (other.empty()) {
    return absl::NotFoundError(absl::StrCat("no ", PhaseName(phase), " handler named ", name));
  }
  return absl::NotFoundError(absl::StrCat(name, " is a handler for ", absl::StrJoin(other, ", "),
                                          ", not for ", PhaseName(phase)));
}

absl::StatusOr<HandlerEntry<Request>> NamedHandlers::Find(Phase phase,
                                                          const std::string& name) const {
  return Lookup(request_, phase, name);
}

absl::StatusOr<HandlerEntry<Connection>> NamedHandlers::FindConnection(
    Phase phase, const std::string& name) const {
  return Lookup(connection_, phase, name);
}

std::vector<std::string> NamedHandlers::Names(Phase phase) const {
  std::vector<std::string> names;
  for (const auto& [key, entry] : request_) {
    if (key.first == phase) names.push_back(key.second);
  }
  for (const auto& [key, entry] : connection_) {
    if (key.first == phase) names.push_back(key.second);
  }
  return names;
}

}  // namespace brigade::handlers
