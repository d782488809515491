#include "filters/registry.h"

#include "absl/strings/str_cat.h"

namespace brigade::filters {

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

namespace {

template <typename Maker, typename Factory>
[[nodiscard]] absl::StatusOr<Maker> Prepare(const Factory& factory, const std::string& name,
                                            FilterOptions& options) {
  absl::StatusOr<Maker> maker = factory(options);
  if (!maker.ok()) {
    return absl::Status(maker.status().code(), absl::StrCat(name, ": ", maker.status().message()));
  }
  if (absl::Status s = options.CheckAllUsed(name); !s.ok()) return s;
  return maker;
}

}  // namespace

absl::StatusOr<FilterRegistry::OutputMaker> FilterRegistry::PrepareOutput(
    const std::string& name, FilterOptions options) const {
  const Entry* e = FindEntry(name, Direction::kOutput);
  if (e == nullptr) return absl::NotFoundError(absl::StrCat("no output filter named ", name));
  return Prepare<OutputMaker>(e->output, name, options);
}

absl::StatusOr<FilterRegistry::InputMaker> FilterRegistry::PrepareInput(
    const std::string& name, FilterOptions options) const {
  const Entry* e = FindEntry(name, Direction::kInput);
  if (e == nullptr) return absl::NotFoundError(absl::StrCat("no input filter named ", name));
  return Prepare<InputMaker>(e->input, name, options);
}

absl::StatusOr<std::unique_ptr<OutputFilter>> FilterRegistry::MakeOutput(
    const std::string& name, FilterOptions options) const {
  absl::StatusOr<OutputMaker> make = PrepareOutput(name, std::move(options));
  if (!make.ok()) return make.status();
  return (*make)();
}

absl::StatusOr<std::unique_ptr<InputFilter>> FilterRegistry::MakeInput(
    const std::string& name, FilterOptions options) const {
  absl::StatusOr<InputMaker> make = PrepareInput(name, std::move(options));
  if (!make.ok()) return make.status();
  return (*make)();
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
