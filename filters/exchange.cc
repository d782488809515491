#include "filters/exchange.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"

namespace brigade::filters {
namespace {

// Field names of different lengths (most pairs a lookup meets) differ without a call.
inline bool SameName(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && absl::EqualsIgnoreCase(a, b);
}

}  // namespace

void HeaderMap::Add(absl::string_view name, absl::string_view value) {
  // A message holds a few fields to a dozen: one allocation for them instead of four regrowths.
  if (fields_.capacity() == 0) fields_.reserve(kInitialFields);
  fields_.emplace_back(std::string(name), std::string(value));
}

void HeaderMap::Set(absl::string_view name, absl::string_view value) {
  auto first = std::find_if(fields_.begin(), fields_.end(),
                            [&](const Field& f) { return SameName(f.first, name); });
  if (first == fields_.end()) return Add(name, value);
  // The first field keeps its place (and its name's spelling); later ones of the name go.
  first->second.assign(value.data(), value.size());
  EraseFrom(first + 1, name);
}

size_t HeaderMap::Remove(absl::string_view name) { return EraseFrom(fields_.begin(), name); }

size_t HeaderMap::EraseFrom(std::vector<Field>::iterator from, absl::string_view name) {
  size_t before = fields_.size();
  fields_.erase(std::remove_if(from, fields_.end(),
                               [&](const Field& f) { return SameName(f.first, name); }),
                fields_.end());
  return before - fields_.size();
}

std::optional<absl::string_view> HeaderMap::Get(absl::string_view name) const {
  for (const Field& f : fields_) {
    if (SameName(f.first, name)) return absl::string_view(f.second);
  }
  return std::nullopt;
}

std::vector<absl::string_view> HeaderMap::GetAll(absl::string_view name) const {
  std::vector<absl::string_view> out;
  for (const Field& f : fields_) {
    if (SameName(f.first, name)) out.push_back(f.second);
  }
  return out;
}

std::string HeaderMap::GetCombined(absl::string_view name) const {
  return absl::StrJoin(GetAll(name), ", ");
}

}  // namespace brigade::filters
