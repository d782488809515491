// FilterRegistry: filters by name, each with a factory taking options ("DEFLATE:level=9").
//
// The registry is an object (the server and the brigade-filter tool each make one and call
// RegisterBuiltinFilters on it); chains hold instances, never the registry.
//
// Example:
//   FilterRegistry registry;
//   RegisterBuiltinFilters(registry);
//   absl::StatusOr<FilterSpec> spec = ParseFilterSpec("DEFLATE:level=9");
//   absl::StatusOr<OutputFilter*> f = registry.AddOutput(chain, spec->name, spec->options);
//
// Thread-safety: registration is single-threaded (at start-up); lookups may run concurrently.

#ifndef FILTERS_REGISTRY_H_
#define FILTERS_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "filters/chain.h"
#include "filters/filter.h"

namespace brigade::filters {

// key=value options given to a filter factory, with typed getters that remember which keys
// were used so that an unknown (misspelt) key is reported instead of ignored.
class FilterOptions {
 public:
  FilterOptions() = default;
  explicit FilterOptions(std::map<std::string, std::string> values)
      : values_(std::move(values)) {}

  void Set(const std::string& key, const std::string& value) { values_[key] = value; }
  // Sets `key` only when it has no value yet: a default that the filter's spec may override.
  void SetDefault(const std::string& key, const std::string& value) {
    values_.emplace(key, value);
  }
  bool Has(const std::string& key) const { return values_.count(key) != 0; }
  bool empty() const { return values_.empty(); }

  // The value of `key` as an integer in [min, max], or `fallback` when absent.
  // Errors: not an integer, or out of range → InvalidArgument naming the key and the range.
  absl::StatusOr<int64_t> GetInt(const std::string& key, int64_t fallback, int64_t min,
                                 int64_t max);
  // The value of `key`, or `fallback` when absent.
  std::string GetString(const std::string& key, const std::string& fallback);
  // InvalidArgument naming every key no getter asked for; call after the getters.
  absl::Status CheckAllUsed(absl::string_view filter_name) const;

 private:
  std::map<std::string, std::string> values_;
  absl::flat_hash_set<std::string> used_;
};

// "NAME" or "NAME:key=value,key=value".
struct FilterSpec {
  std::string name;
  FilterOptions options;
};
absl::StatusOr<FilterSpec> ParseFilterSpec(absl::string_view text);

enum class Direction { kOutput, kInput };

struct OptionDoc {
  std::string key;
  std::string help;  // e.g. "compression level 1-9 (default 6)"
};

struct FilterInfo {
  std::string name;
  Direction direction = Direction::kOutput;  // set by Register{Output,Input}
  FilterKind kind = FilterKind::kResource;
  std::string description = "";
  std::vector<OptionDoc> options = {};
};

class FilterRegistry {
 public:
  using OutputFactory =
      std::function<absl::StatusOr<std::unique_ptr<OutputFilter>>(FilterOptions& options)>;
  using InputFactory =
      std::function<absl::StatusOr<std::unique_ptr<InputFilter>>(FilterOptions& options)>;

  // Errors: a filter of that name and direction exists → AlreadyExists.
  absl::Status RegisterOutput(FilterInfo info, OutputFactory factory);
  absl::Status RegisterInput(FilterInfo info, InputFactory factory);

  // Makes an instance (checking its options) and adds it to `chain`.
  // Errors: unknown name → NotFound; bad options → InvalidArgument from the factory.
  absl::StatusOr<OutputFilter*> AddOutput(OutputChain& chain, const std::string& name,
                                          FilterOptions options = FilterOptions()) const;
  absl::StatusOr<InputFilter*> AddInput(InputChain& chain, const std::string& name,
                                        FilterOptions options = FilterOptions()) const;
  // Makes an instance without adding it (e.g. to validate a configuration).
  absl::StatusOr<std::unique_ptr<OutputFilter>> MakeOutput(const std::string& name,
                                                           FilterOptions options) const;
  absl::StatusOr<std::unique_ptr<InputFilter>> MakeInput(const std::string& name,
                                                         FilterOptions options) const;

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
  std::map<std::pair<std::string, Direction>, Entry> entries_;
};

}  // namespace brigade::filters

#endif  // FILTERS_REGISTRY_H_
