// ConfigValues, ConfigSlot<T> and StateSlot<T>: a module's configuration values and its
// per-request and per-server state, typed, kept in slots the module owns instead of globals or string-keyed
// notes. A slot is made once at start-up
// (ModuleContext::Slot, module/module.h); each server scope and each Location holds one
// ConfigValues, merged at load time (the Location's own value wins unless the slot says how to
// merge), and a request reads its Location's values through r.config().
//
// Example:
//   static ConfigSlot<std::vector<Cidr>> deny;               // set in the module's setup
//   ... in a directive's parse callback:  deny.Mutable(args.values).push_back(range);
//   ... in the access handler:            for (const Cidr& c : deny.Get(r.config())) ...
//
// Thread-safety: values are written while the configuration loads, then only read.

#ifndef HANDLERS_CONFIG_VALUES_H_
#define HANDLERS_CONFIG_VALUES_H_

#include <any>
#include <cstddef>
#include <vector>

namespace brigade::handlers {

class ConfigValues {
 public:
  // The value in slot `index`, or null when unset.
  const std::any* Find(size_t index) const {
    return index < values_.size() && values_[index].has_value() ? &values_[index] : nullptr;
  }
  std::any& At(size_t index) {
    if (index >= values_.size()) values_.resize(index + 1);
    return values_[index];
  }
  size_t size() const { return values_.size(); }

 private:
  std::vector<std::any> values_;
};

template <typename T>
class ConfigSlot {
 public:
  ConfigSlot() = default;
  explicit ConfigSlot(size_t index) : index_(index) {}

  // The slot's value in `values`, or a default-constructed T when unset.
  const T& Get(const ConfigValues& values) const {
    static const T kUnset{};
    const std::any* v = values.Find(index_);
    return v == nullptr ? kUnset : *std::any_cast<T>(v);
  }
  bool IsSet(const ConfigValues& values) const { return values.Find(index_) != nullptr; }
  // The value to change while the configuration loads (made default when unset).
  T& Mutable(ConfigValues& values) const {
    std::any& v = values.At(index_);
    if (!v.has_value()) v = T{};
    return *std::any_cast<T>(&v);
  }
  size_t index() const { return index_; }

 private:
  size_t index_ = static_cast<size_t>(-1);
};

// A module's runtime state, typed: per request (ModuleContext::RequestSlot, kept in
// Request::state(), gone with the request) or per server (ModuleContext::ServerSlot, kept in
// ServerRecord::state).
template <typename T>
class StateSlot {
 public:
  StateSlot() = default;
  explicit StateSlot(size_t index) : index_(index) {}

  // The request's value, or null before the module set one.
  const T* Find(const ConfigValues& state) const {
    const std::any* v = state.Find(index_);
    return v == nullptr ? nullptr : std::any_cast<T>(v);
  }
  // The request's value, made default on first use.
  T& Mutable(ConfigValues& state) const {
    std::any& v = state.At(index_);
    if (!v.has_value()) v = T{};
    return *std::any_cast<T>(&v);
  }

 private:
  size_t index_ = static_cast<size_t>(-1);
};

}  // namespace brigade::handlers

#endif  // HANDLERS_CONFIG_VALUES_H_
