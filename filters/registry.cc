#include "filters/registry.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
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

absl::StatusOr<FilterSpec> ParseFilterSpec(absl::string_view text) {
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

absl::Status FilterRegistry::RegisterOutput(FilterInfo info, OutputFactory factory) {
  info.direction = Direction::kOutput;
  auto key = std::make_pair(info.name, Direction::kOutput);
  if (entries_.contains(key)) {
    return absl::AlreadyExistsError(absl::StrCat("output filter ", info.name, " is registered"));
  }
  entries_[key] = Entry{std::move(info), std::move(factory), nullptr};
  return absl::OkStatus();
}

absl::Status FilterRegistry::RegisterInput(FilterInfo info, InputFactory factory) {
  info.direction = Direction::kInput;
  auto key = std::make_pair(info.name, Direction::kInput);
  if (entries_.contains(key)) {
    return absl::AlreadyExistsError(absl::StrCat("input filter ", info.name, " is registered"));
  }
  entries_[key] = Entry{std::move(info), nullptr, std::move(factory)};
  return absl::OkStatus();
}

const FilterRegistry::Entry* FilterRegistry::FindEntry(const std::string& name,
                                                       Direction direction) const {
  auto it = entries_.find(std::make_pair(name, direction));
  return it == entries_.end() ? nullptr : &it->second;
}

const FilterInfo* FilterRegistry::Find(const std::string& name, Direction direction) const {
  const Entry* e = FindEntry(name, direction);
  return e == nullptr ? nullptr : &e->info;
}

std::vector<const FilterInfo*> FilterRegistry::List() const {
  std::vector<const FilterInfo*> out;
  for (const auto& [key, entry] : entries_) out.push_back(&entry.info);
  return out;
}

absl::StatusOr<std::unique_ptr<OutputFilter>> FilterRegistry::MakeOutput(
    const std::string& name, FilterOptions options) const {
  const Entry* e = FindEntry(name, Direction::kOutput);
  if (e == nullptr) return absl::NotFoundError(absl::StrCat("no output filter named ", name));
  absl::StatusOr<std::unique_ptr<OutputFilter>> f = e->output(options);
  if (!f.ok()) return absl::Status(f.status().code(), absl::StrCat(name, ": ", f.status().message()));
  if (absl::Status s = options.CheckAllUsed(name); !s.ok()) return s;
  return f;
}

absl::StatusOr<std::unique_ptr<InputFilter>> FilterRegistry::MakeInput(
    const std::string& name, FilterOptions options) const {
  const Entry* e = FindEntry(name, Direction::kInput);
  if (e == nullptr) return absl::NotFoundError(absl::StrCat("no input filter named ", name));
  absl::StatusOr<std::unique_ptr<InputFilter>> f = e->input(options);
  if (!f.ok()) return absl::Status(f.status().code(), absl::StrCat(name, ": ", f.status().message()));
  if (absl::Status s = options.CheckAllUsed(name); !s.ok()) return s;
  return f;
}

absl::StatusOr<OutputFilter*> FilterRegistry::AddOutput(OutputChain& chain,
                                                        const std::string& name,
                                                        FilterOptions options) const {
  absl::StatusOr<std::unique_ptr<OutputFilter>> f = MakeOutput(name, std::move(options));
  if (!f.ok()) return f.status();
  return chain.Add(std::move(*f));
}

absl::StatusOr<InputFilter*> FilterRegistry::AddInput(InputChain& chain, const std::string& name,
                                                      FilterOptions options) const {
  absl::StatusOr<std::unique_ptr<InputFilter>> f = MakeInput(name, std::move(options));
  if (!f.ok()) return f.status();
  return chain.Add(std::move(*f));
}

}  // namespace brigade::filters
