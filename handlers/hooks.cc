#include "handlers/hooks.h"

#include <cstdio>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace brigade::handlers {

std::string Outcome::DebugString() const {
  switch (code_) {
    case Code::kOk:
      return "OK";
    case Code::kDeclined:
      return "DECLINED";
    case Code::kDone:
      return "DONE";
    case Code::kHttpStatus:
      return absl::StrCat(http_status_);
    case Code::kSuspended:
      return "SUSPENDED";
  }
  return "?";
}

absl::string_view RunTypeName(RunType type) {
  switch (type) {
    case RunType::kVoid:
      return "VOID";
    case RunType::kRunAll:
      return "RUN_ALL";
    case RunType::kRunFirst:
      return "RUN_FIRST";
  }
  return "?";
}

namespace internal {

Outcome HandlerThrew(absl::string_view handler, absl::string_view what) {
  fprintf(stderr, "brigaded: handler %s threw: %.*s (handled as a 500)\n",
          handler.empty() ? "(unnamed)" : std::string(handler).c_str(),
          static_cast<int>(what.size()), what.data());
  return Outcome::Status(500);
}

[[nodiscard]] absl::StatusOr<std::vector<size_t>> SortHooks(const std::vector<HookNode>& nodes) {
  size_t n = nodes.size();
  // edges[a] holds b when a must run before b.
  std::vector<std::vector<size_t>> edges(n);
  std::vector<size_t> pending(n, 0);
  auto edge = [&](size_t from, size_t to) {
    if (from == to) return;
    edges[from].push_back(to);
    ++pending[to];
  };
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      for (const std::string& m : nodes[i].after) {
        if (nodes[j].module == m) edge(j, i);
      }
      for (const std::string& m : nodes[i].before) {
        if (nodes[j].module == m) edge(i, j);
      }
    }
  }
  // Kahn's algorithm, taking the ready node that comes first by (order, registration).
  std::set<std::pair<int, size_t>> ready;
  for (size_t i = 0; i < n; ++i) {
    if (pending[i] == 0) ready.insert({nodes[i].order, i});
  }
  std::vector<size_t> out;
  while (!ready.empty()) {
    size_t i = ready.begin()->second;
    ready.erase(ready.begin());
    out.push_back(i);
    for (size_t j : edges[i]) {
      if (--pending[j] == 0) ready.insert({nodes[j].order, j});
    }
  }
  if (out.size() == n) return out;
  std::set<std::string> cycle;
  for (size_t i = 0; i < n; ++i) {
    if (pending[i] != 0) cycle.insert(nodes[i].module.empty() ? "(server)" : nodes[i].module);
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "hook ordering constraints form a cycle among modules ", absl::StrJoin(cycle, ", ")));
}

}  // namespace internal

}  // namespace brigade::handlers
