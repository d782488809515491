// FilterRegistry: filters by name, each with a factory that checks a spec's options once
// ("DEFLATE:level=9") and gives back a maker of instances, so that a server compiles its
// configuration at load time and a request only instantiates.
//
// The registry is an object (the server and the brigade-filter tool each make one and call
// RegisterBuiltinFilters on it); chains hold instances, never the registry.
//
// Example:
//   FilterRegistry registry;
//   RegisterBuiltinFilters(registry);
//   absl::StatusOr<FilterSpec> spec = ParseFilterSpec("DEFLATE:level=9");
//   absl::StatusOr<FilterRegistry::OutputMaker> make =
//       registry.PrepareOutput(spec->name, spec->options);   // at load time
//   chain.Add((*make)());                                     // per request
//
// Thread-safety: registration is single-threaded (at start-up); lookups, Prepare and the makers
// may run concurrently.

#ifndef FILTERS_REGISTRY_H_
#define FILTERS_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "filters/chain.h"
#include "filters/filter.h"
#include "filters/options.h"

namespace brigade::filters {

enum class Direction { kOutput, kInput };


struct FilterInfo {
  std::string name;
  Direction direction = Direction::kOutput;  // set by Register{Output,Input}
  FilterKind kind = FilterKind::kResource;
  std::string description = "";
  std::vector<OptionDoc> options = {};
};

class FilterRegistry {
 public:
  // A maker of instances with options already checked; copyable, callable from any thread.
  using OutputMaker = std::function<std::unique_ptr<OutputFilter>()>;
  using InputMaker = std::function<std::unique_ptr<InputFilter>()>;
  // Checks `options` (reading each key it knows) and returns the maker, or InvalidArgument.
  using OutputFactory = std::function<absl::StatusOr<OutputMaker>(FilterOptions& options)>;
  using InputFactory = std::function<absl::StatusOr<InputMaker>(FilterOptions& options)>;

  // Errors: a filter of that name and direction exists → AlreadyExists.
  [[nodiscard]] absl::Status RegisterOutput(FilterInfo info, OutputFactory factory);
  [[nodiscard]] absl::Status RegisterInput(FilterInfo info, InputFactory factory);

  // The common shape: options parsed by `table` (which also becomes info.options, the help),
  // then `make(options)` per instance. REQUIRES: `table` outlives the registry (a static).
  template <typename Options>
  [[nodiscard]] absl::Status RegisterOutput(
      FilterInfo info, const OptionTable<Options>& table,
      std::function<std::unique_ptr<OutputFilter>(const Options&)> make) {
    info.options = table.Docs();
    return RegisterOutput(std::move(info), Typed<OutputMaker>(table, std::move(make)));
  }
  template <typename Options>
  [[nodiscard]] absl::Status RegisterInput(
      FilterInfo info, const OptionTable<Options>& table,
      std::function<std::unique_ptr<InputFilter>(const Options&)> make) {
    info.options = table.Docs();
    return RegisterInput(std::move(info), Typed<InputMaker>(table, std::move(make)));
  }

  // Checks `options` once and returns the maker. Errors: unknown name → NotFound; a bad or
  // unknown option → InvalidArgument, prefixed with the filter's name.
  [[nodiscard]] absl::StatusOr<OutputMaker> PrepareOutput(const std::string& name,
                                                          FilterOptions options) const;
  [[nodiscard]] absl::StatusOr<InputMaker> PrepareInput(const std::string& name,
                                                        FilterOptions options) const;

  // Prepare and make one instance (e.g. to validate a configuration, or in a tool).
  [[nodiscard]] absl::StatusOr<std::unique_ptr<OutputFilter>> MakeOutput(
      const std::string& name, FilterOptions options) const;
  [[nodiscard]] absl::StatusOr<std::unique_ptr<InputFilter>> MakeInput(const std::string& name,
                                                                       FilterOptions options) const;
  // Makes an instance and adds it to `chain`.
  [[nodiscard]] absl::StatusOr<OutputFilter*> AddOutput(
      OutputChain& chain, const std::string& name, FilterOptions options = FilterOptions()) const;
  [[nodiscard]] absl::StatusOr<InputFilter*> AddInput(
      InputChain& chain, const std::string& name, FilterOptions options = FilterOptions()) const;

  const FilterInfo* Find(const std::string& name, Direction direction) const;
  // Every registered filter, sorted by name then direction.
  std::vector<const FilterInfo*> List() const;

 private:
  struct Entry {
    FilterInfo info;
    OutputFactory output;
    InputFactory input;
  };
  const Entry* FindEntry(const std::string& name, Direction direction) const;
  template <typename Maker, typename Options, typename Make>
  static auto Typed(const OptionTable<Options>& table, Make make) {
    return [&table, make = std::move(make)](FilterOptions& o) -> absl::StatusOr<Maker> {
      absl::StatusOr<Options> parsed = table.Parse(o);
      if (!parsed.ok()) return parsed.status();
      return Maker([make, options = *std::move(parsed)] { return make(options); });
    };
  }
  std::map<std::pair<std::string, Direction>, Entry> entries_;
};

}  // namespace brigade::filters

#endif  // FILTERS_REGISTRY_H_
