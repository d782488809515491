// Hooks: ordered lists of handlers for one phase, run by one of three run types, after Apache's
// hook machinery as mod_perl 2 exposes it (../shared/seeds/).
//
// Run types:
//   VOID       run every handler, whatever they return; the result is OK.
//   RUN_ALL    run until a handler returns something other than OK or DECLINED, and return
//              that; OK when every handler ran.
//   RUN_FIRST  run until a handler returns something other than DECLINED, and return that;
//              DECLINED when every handler declined.
// Ordering: handlers registered with REALLY_FIRST run before FIRST, then MIDDLE, LAST and
// REALLY_LAST; equal positions keep registration order.
// Stacked handlers (HandlerStack): per request, handlers pushed at run time go to the end of
// the phase's list (FIFO, not LIFO: the Eagle book's point), a handler pushed twice runs twice,
// and one pushed onto the phase that is running runs in the same pass.
//
// Thread-safety: register at start-up; Run may then be called from many threads at once, each
// with its own HandlerStack.

#ifndef HANDLERS_HOOKS_H_
#define HANDLERS_HOOKS_H_

#include <algorithm>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "brigade/requires.h"

namespace brigade::handlers {

// What a handler returns: OK, DECLINED, DONE, or an HTTP status (an error or a redirect);
// SUSPENDED from a coroutine handler that parked (see Coroutine() in request.h).
class Outcome {
 public:
  enum class Code { kOk, kDeclined, kDone, kHttpStatus, kSuspended };

  static Outcome Ok() { return Outcome(Code::kOk, 0); }
  static Outcome Declined() { return Outcome(Code::kDeclined, 0); }
  // The request is fully handled: skip to the log phase.
  static Outcome Done() { return Outcome(Code::kDone, 0); }
  // REQUIRES: 100 <= http_status <= 599.
  static Outcome Status(int http_status) {
    BRIGADE_REQUIRES(http_status >= 100 && http_status <= 599);
    return Outcome(Code::kHttpStatus, http_status);
  }
  // A coroutine handler took the request or connection and parked; its phase stops here and
  // the event loop resumes the coroutine, whose co_return value then decides.
  static Outcome Suspended() { return Outcome(Code::kSuspended, 0); }

  Code code() const { return code_; }
  bool is_ok() const { return code_ == Code::kOk; }
  bool is_declined() const { return code_ == Code::kDeclined; }
  bool is_done() const { return code_ == Code::kDone; }
  bool is_http_status() const { return code_ == Code::kHttpStatus; }
  bool is_suspended() const { return code_ == Code::kSuspended; }
  // REQUIRES: is_http_status().
  int http_status() const {
    BRIGADE_REQUIRES(is_http_status());
    return http_status_;
  }
  // "OK", "DECLINED", "DONE", "SUSPENDED" or the status number.
  std::string DebugString() const;

  friend bool operator==(const Outcome& a, const Outcome& b) {
    return a.code_ == b.code_ && a.http_status_ == b.http_status_;
  }

 private:
  Outcome(Code code, int http_status) : code_(code), http_status_(http_status) {}
  Code code_;
  int http_status_;
};

enum class RunType { kVoid, kRunAll, kRunFirst };
absl::string_view RunTypeName(RunType type);

// APR's hook positions, with its values so that mixed orders compare the same way.
enum class Order : int {
  kReallyFirst = -10,
  kFirst = 0,
  kMiddle = 10,
  kLast = 20,
  kReallyLast = 30,
};

struct ServerRecord;

// Where a module's hook goes: its Order, and modules whose hooks for the same phase must run
// before it (after) or after it (before) — APR's predecessors and successors.
struct HookPlacement {
  Order order = Order::kMiddle;
  std::vector<std::string> after;   // modules to run first
  std::vector<std::string> before;  // modules to run later
};

// Whether a server needs a hook, asked once its configuration is read (Hooks::Prune): a hook
// that would only find, on every request, that it has nothing to do is left out (a log hook
// where no log is configured). Null: always needed.
using HookNeeded = std::function<bool(const ServerRecord&)>;

namespace internal {
struct HookNode {
  int order;
  std::string module;
  std::vector<std::string> after;
  std::vector<std::string> before;
};
// The run order of `nodes`: by order, then registration, moved as far as the modules'
// constraints require. Errors: the constraints form a cycle → FailedPrecondition naming the
// modules in it.
[[nodiscard]] absl::StatusOr<std::vector<size_t>> SortHooks(const std::vector<HookNode>& nodes);

// Says on stderr that `handler` threw (`what`: the exception's what(), or a note that it was no
// std::exception), and returns the outcome that replaces its result: 500.
Outcome HandlerThrew(absl::string_view handler, absl::string_view what);

// Calls `fn`, containing an exception: a handler that throws is a bug in that handler, and
// must cost only its own request or connection, never the worker. It becomes a 500, which
// ends the phase as a returned 500 would (an error response, or an abort when the response
// was under way); stderr names the handler.
template <typename F>
Outcome CallHandler(absl::string_view name, F&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return HandlerThrew(name, e.what());
  } catch (...) {
    return HandlerThrew(name, "an exception that is not a std::exception");
  }
}
}  // namespace internal

template <typename Arg>
struct HandlerEntry {
  std::function<Outcome(Arg&)> fn;
  std::string name;
};

// The per-request (or per-connection) part of a phase's handler list: the handlers its
// configuration names (shared, never copied per request), handlers pushed at run time, or a
// whole list set to replace the registered one. The configured handlers run where a hook
// registered at Order::kMiddle would, after those (mod_perl's handlers run from its middle
// hook); what was pushed runs last.
template <typename Arg>
class HandlerStack {
 public:
  using Entry = HandlerEntry<Arg>;
  // Appends `entry`; it runs after every handler already in the list, in the current pass if
  // the phase is running.
  void Push(Entry entry) { changes().pushed.push_back(std::move(entry)); }
  // Replaces the phase's whole list (registered handlers and pushed ones) with `entries`.
  void Set(std::vector<Entry> entries) {
    changes().replaced = std::move(entries);
    changes().pushed.clear();
  }
  bool replaced() const { return replaced_list() != nullptr; }
  // True once a handler was pushed or the list was set: the stack differs from its
  // configuration.
  bool modified() const { return replaced() || pushed_size() != 0; }
  // The handlers the configuration names for this phase.
  // REQUIRES: `entries` outlives the stack (a compiled configuration), or is null.
  void Configure(const std::vector<Entry>* entries) { configured_ = entries; }
  // Back to a new stack's state: nothing configured, pushed or set.
  void Reset() {
    configured_ = nullptr;
    changes_.reset();
  }

 private:
  template <typename>
  friend class Hook;
  // What handlers changed, made by the first Push or Set: a request has a stack for each of
  // its phases and mostly changes none, which then cost two words to build and a test to
  // destroy.
  struct Changes {
    std::optional<std::vector<Entry>> replaced;
    std::vector<Entry> pushed;
  };
  Changes& changes() {
    if (changes_ == nullptr) changes_ = std::make_unique<Changes>();
    return *changes_;
  }
  const std::vector<Entry>* replaced_list() const {
    return changes_ != nullptr && changes_->replaced.has_value() ? &*changes_->replaced : nullptr;
  }
  size_t pushed_size() const { return changes_ == nullptr ? 0 : changes_->pushed.size(); }
  // REQUIRES: i < pushed_size().
  const Entry& pushed(size_t i) const { return changes_->pushed[i]; }
  bool empty() const {
    return !modified() && (configured_ == nullptr || configured_->empty());
  }
  const std::vector<Entry>* configured_ = nullptr;
  std::unique_ptr<Changes> changes_;
};

template <typename Arg>
class Hook {
 public:
  using Entry = HandlerEntry<Arg>;
  using Handler = std::function<Outcome(Arg&)>;

  explicit Hook(RunType type) : type_(type) {}

  RunType run_type() const { return type_; }

  // Adds `handler` at `order`, after every registered handler of the same order.
  void Register(Handler handler, Order order = Order::kMiddle, std::string name = "") {
    Insert(Registered{order, Entry{std::move(handler), std::move(name)}, "", {}, {}, nullptr});
  }
  // Adds a module's `handler` as `placement` says; Sort() applies the modules' constraints.
  void Register(Handler handler, HookPlacement placement, std::string name, std::string module,
                HookNeeded needed = nullptr) {
    Insert(Registered{placement.order, Entry{std::move(handler), std::move(name)}, std::move(module),
                      std::move(placement.after), std::move(placement.before), std::move(needed)});
  }
  // Drops the handlers that `server` does not need (their HookNeeded says no).
  void Prune(const ServerRecord& server) {
    std::erase_if(registered_,
                  [&server](const Registered& r) { return r.needed && !r.needed(server); });
  }
  // Puts the handlers in run order: by Order, registration order within one Order, and every
  // module's after/before constraint. Call once all are registered.
  // Errors: a cycle → FailedPrecondition naming the modules.
  [[nodiscard]] absl::Status Sort() {
    std::vector<internal::HookNode> nodes;
    for (const Registered& r : registered_) {
      nodes.push_back({static_cast<int>(r.order), r.module, r.after, r.before});
    }
    absl::StatusOr<std::vector<size_t>> order = internal::SortHooks(nodes);
    if (!order.ok()) return order.status();
    std::vector<Registered> sorted;
    for (size_t i : *order) sorted.push_back(std::move(registered_[i]));
    registered_ = std::move(sorted);
    return absl::OkStatus();
  }
  size_t size() const { return registered_.size(); }

  // The list a run with `stack` would use, in order.
  std::vector<std::string> Names(const HandlerStack<Arg>* stack = nullptr) const {
    std::vector<std::string> names;
    auto add = [&](const Entry& e) {
      names.push_back(e.name);
      return true;
    };
    if (stack != nullptr && stack->replaced()) {
      for (const Entry& e : *stack->replaced_list()) add(e);
    } else {
      ForRegistered(stack, add);
    }
    for (size_t i = 0; stack != nullptr && i < stack->pushed_size(); ++i) {
      names.push_back(stack->pushed(i).name);
    }
    return names;
  }

  // Runs the handlers by the run type. `stack` may be null (no per-request handlers); handlers
  // may push onto it while running.
  Outcome Run(Arg& arg, HandlerStack<Arg>* stack = nullptr) const {
    // Most phases of a request have nothing to run: answer inline, before the call that sets
    // up the walk (and saves the registers it needs).
    if (registered_.empty() && (stack == nullptr || stack->empty())) return Finished();
    return RunHandlers(arg, stack);
  }

 private:
  [[gnu::noinline]] Outcome RunHandlers(Arg& arg, HandlerStack<Arg>* stack) const {
    std::optional<Outcome> stop;
    auto step = [&](const Entry& e) {
      Outcome r = internal::CallHandler(e.name, [&] { return e.fn(arg); });
      if (Stops(r)) stop = r;
      return !stop.has_value();
    };
    if (stack != nullptr && stack->replaced()) {
      // Indexes and copies: a running handler may push or Set, reallocating the lists.
      for (size_t i = 0; stack->replaced() && i < stack->replaced_list()->size(); ++i) {
        Entry e = (*stack->replaced_list())[i];
        if (!step(e)) return *stop;
      }
    } else if (!ForRegistered(stack, step)) {
      return *stop;
    }
    for (size_t i = 0; stack != nullptr && i < stack->pushed_size(); ++i) {
      Entry e = stack->pushed(i);
      if (!step(e)) return *stop;
    }
    return Finished();
  }

  // What a run that no handler stopped returns.
  Outcome Finished() const {
    return type_ == RunType::kRunFirst ? Outcome::Declined() : Outcome::Ok();
  }
  struct Registered {
    Order order;
    Entry entry;
    std::string module;
    std::vector<std::string> after;
    std::vector<std::string> before;
    HookNeeded needed;
  };
  void Insert(Registered r) {
    auto pos = std::upper_bound(registered_.begin(), registered_.end(), r.order,
                                [](Order o, const Registered& x) {
                                  return static_cast<int>(o) < static_cast<int>(x.order);
                                });
    registered_.insert(pos, std::move(r));
  }
  bool Stops(const Outcome& r) const {
    switch (type_) {
      case RunType::kVoid:
        return false;
      case RunType::kRunAll:
        return !r.is_ok() && !r.is_declined();
      case RunType::kRunFirst:
        return !r.is_declined();
    }
    return false;
  }
  // Calls f on the registered handlers with the configured ones at kMiddle, while f says true.
  template <typename F>
  bool ForRegistered(const HandlerStack<Arg>* stack, F f) const {
    const std::vector<Entry>* configured = stack != nullptr ? stack->configured_ : nullptr;
    for (const Registered& r : registered_) {
      if (configured != nullptr && static_cast<int>(r.order) > static_cast<int>(Order::kMiddle)) {
        for (const Entry& e : *configured) {
          if (!f(e)) return false;
        }
        configured = nullptr;
      }
      if (!f(r.entry)) return false;
    }
    if (configured != nullptr) {
      for (const Entry& e : *configured) {
        if (!f(e)) return false;
      }
    }
    return true;
  }

  RunType type_;
  std::vector<Registered> registered_;  // sorted by order, stable
};

}  // namespace brigade::handlers

#endif  // HANDLERS_HOOKS_H_
