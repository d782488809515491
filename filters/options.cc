#include "filters/options.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace brigade::filters {

absl::StatusOr<int64_t> FilterOptions::GetInt(const std::string& key, int64_t fallback,
                                              int64_t min, int64_t max) {
  used_.insert(key);
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  int64_t v;
  if (!absl::SimpleAtoi(it->second, &v) || v < min || v > max) {
    return absl::InvalidArgumentError(absl::StrCat("option ", key, "=", it->second,
                                                   ": expected an integer from ", min, " to ",
                                                   max));
  }
  return v;
}

std::string FilterOptions::GetString(const std::string& key, const std::string& fallback) {
  used_.insert(key);
  auto it = values_.find(key);
  return it == values_.end() ? fallback : it->second;
}

absl::Status FilterOptions::CheckAllUsed(absl::string_view filter_name) const {
  std::vector<std::string> unknown;
  for (const auto& [key, value] : values_) {
    if (!used_.contains(key)) unknown.push_back(key);
  }
  if (unknown.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(filter_name, ": unknown option",
                                                 unknown.size() > 1 ? "s " : " ",
                                                 absl::StrJoin(unknown, ", ")));
}

[[nodiscard]] absl::StatusOr<FilterSpec> ParseFilterSpec(absl::string_view text) {
  FilterSpec spec;
  std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(text, absl::MaxSplits(':', 1));
  spec.name = std::string(parts.first);
  if (spec.name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("filter spec '", text, "' has no name"));
  }
  if (parts.second.empty()) return spec;
  for (absl::string_view kv : absl::StrSplit(parts.second, ',')) {
    std::pair<absl::string_view, absl::string_view> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
    if (p.first.empty() || kv.find('=') == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("filter spec '", text, "': option '", kv, "' is not key=value"));
    }
    spec.options.Set(std::string(p.first), std::string(p.second));
  }
  return spec;
}

}  // namespace brigade::filters
