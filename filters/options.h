// Filter options: FilterOptions (the key=value pairs of a spec such as "DEFLATE:level=9"),
// ParseFilterSpec, and OptionTable<T>, the one description of a filter's options. From it come the parser
// that fills a T (the filter's options struct) and the help lines that `brigade-filter --help`
// and configuration errors show; each default is the value a default-constructed T holds, so it
// is written once, in the struct.
//
// Example:
//   struct Options { int level = 6; std::string tag; };
//   const OptionTable<Options>& Table() {
//     static const auto* t = &(*new OptionTable<Options>())
//         .Int("level", [](Options& o) -> int& { return o.level; }, 1, 9, "compression level")
//         .String("tag", [](Options& o) -> std::string& { return o.tag; }, "text to add");
//     return *t;
//   }
//   absl::StatusOr<Options> o = Table().Parse(spec.options);   // "level=12" → InvalidArgument
//   Table().Docs();   // {{"level", "compression level (1-9, default 6)"}, {"tag", ...}}
//
// Parse leaves a key no entry asked for to FilterOptions::CheckAllUsed (the registry calls it),
// so a misspelt key is an error rather than silently ignored.
//
// Thread-safety: a table is built once, then only read; Parse and Docs are const.

#ifndef FILTERS_OPTIONS_H_
#define FILTERS_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

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
  [[nodiscard]] absl::StatusOr<int64_t> GetInt(const std::string& key, int64_t fallback,
                                               int64_t min, int64_t max);
  // The value of `key`, or `fallback` when absent.
  std::string GetString(const std::string& key, const std::string& fallback);
  // InvalidArgument naming every key no getter asked for; call after the getters.
  [[nodiscard]] absl::Status CheckAllUsed(absl::string_view filter_name) const;

 private:
  std::map<std::string, std::string> values_;
  absl::flat_hash_set<std::string> used_;
};

// "NAME" or "NAME:key=value,key=value".
struct FilterSpec {
  std::string name;
  FilterOptions options;
};
[[nodiscard]] absl::StatusOr<FilterSpec> ParseFilterSpec(absl::string_view text);

struct OptionDoc {
  std::string key;
  std::string help;  // e.g. "compression level (1-9, default 6)"
};

template <typename T>
class OptionTable {
 public:
  // An integer option in [min, max] stored through `field` (which returns a reference to an
  // integral member of T).
  template <typename Field>
  OptionTable& Int(std::string key, Field field, int64_t min, int64_t max, std::string help) {
    using V = std::remove_reference_t<decltype(field(std::declval<T&>()))>;
    static_assert(std::is_integral_v<V>, "Int options bind integral members");
    T defaults;
    int64_t fallback = static_cast<int64_t>(field(defaults));
    entries_.push_back(
        {std::move(key),
         absl::StrCat(help, " (", min, "-", max, ", default ", fallback, ")"),
         [field, fallback, min, max](const std::string& k, FilterOptions& o,
                                     T& out) -> absl::Status {
           absl::StatusOr<int64_t> v = o.GetInt(k, fallback, min, max);
           if (!v.ok()) return v.status();
           field(out) = static_cast<V>(*v);
           return absl::OkStatus();
         }});
    return *this;
  }

  // A string option stored as given, defaulting to the member's default.
  template <typename Field>
  OptionTable& String(std::string key, Field field, std::string help) {
    T defaults;
    std::string fallback = field(defaults);
    entries_.push_back(
        {std::move(key),
         fallback.empty() ? help : absl::StrCat(help, " (default ", fallback, ")"),
         [field, fallback](const std::string& k, FilterOptions& o, T& out) -> absl::Status {
           field(out) = o.GetString(k, fallback);
           return absl::OkStatus();
         }});
    return *this;
  }

  // An option with its own syntax: `parse(value, out)` runs only when the key is given;
  // `default_text` says in the help what applies otherwise.
  OptionTable& Custom(std::string key,
                      std::function<absl::Status(absl::string_view value, T& out)> parse,
                      std::string default_text, std::string help) {
    entries_.push_back(
        {std::move(key), absl::StrCat(help, " (default ", default_text, ")"),
         [parse = std::move(parse)](const std::string& k, FilterOptions& o,
                                    T& out) -> absl::Status {
           if (!o.Has(k)) {
             o.GetString(k, "");  // marks the key as known
             return absl::OkStatus();
           }
           absl::Status s = parse(o.GetString(k, ""), out);
           if (s.ok()) return s;
           return absl::Status(s.code(), absl::StrCat("option ", k, ": ", s.message()));
         }});
    return *this;
  }

  // A check across options (or of the whole T) run after every entry parsed.
  OptionTable& Check(std::function<absl::Status(const T&)> check) {
    checks_.push_back(std::move(check));
    return *this;
  }

  // A T with every given option parsed and every other one at its default.
  // Errors: a value out of range or of the wrong syntax → InvalidArgument naming the key.
  [[nodiscard]] absl::StatusOr<T> Parse(FilterOptions& options) const {
    T out;
    for (const Entry& e : entries_) {
      if (absl::Status s = e.parse(e.key, options, out); !s.ok()) return s;
    }
    for (const auto& check : checks_) {
      if (absl::Status s = check(out); !s.ok()) return s;
    }
    return out;
  }

  // One line of help per option, in the order declared.
  std::vector<OptionDoc> Docs() const {
    std::vector<OptionDoc> docs;
    for (const Entry& e : entries_) docs.push_back({e.key, e.help});
    return docs;
  }

 private:
  struct Entry {
    std::string key;
    std::string help;
    std::function<absl::Status(const std::string& key, FilterOptions& options, T& out)> parse;
  };
  std::vector<Entry> entries_;
  std::vector<std::function<absl::Status(const T&)>> checks_;
};

}  // namespace brigade::filters

#endif  // FILTERS_OPTIONS_H_
