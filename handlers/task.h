// Task<T>: the C++20 coroutine type of resumable handlers, and Suspension, the one place where a
// suspended handler says what it waits for.
//
// A handler written as a coroutine reads and writes in straight-line code on the event loop:
//
//   Task<Outcome> Echo(Request& r) {
//     while (true) {
//       Brigade bb(r.allocator());
//       absl::StatusOr<size_t> n = co_await r.ReadBody(bb, 64 * 1024);  // parks on EPOLLIN
//       if (!n.ok()) co_return Outcome::Status(HttpStatusFor(n.status()));
//       if (*n == 0) break;
//       if (!(co_await r.Send(bb)).ok()) co_return Outcome::Status(500);  // parks on kAgain
//     }
//     ...
//   }
//
// A Task starts lazily (nothing runs until Start() or co_await) and can be awaited by another
// Task: the awaiting coroutine resumes, by symmetric transfer, when the awaited one returns, so
// helper coroutines nest without growing the stack.
//
// An awaitable that cannot complete now parks the coroutine on the record's Suspension with an
// Awaiter and the readiness it needs (readable or writable). The owner (the event loop, or a test
// driver) waits for that readiness, then calls Suspension::Poll(): the awaiter retries its
// operation and, when it completes, the coroutine resumes. A retry that would still block leaves
// the coroutine parked, so a spurious wake-up costs one non-blocking attempt.
//
// Lifetime: destroying a Task destroys its coroutine frame (and the frames of the Tasks it is
// awaiting). The owner of a suspended Task clears the Suspension before destroying it.
// WARNING: a coroutine lambda's captures live in the lambda object, not in the coroutine frame:
// the lambda must outlive every Task it made (hook handlers live as long as their Hooks).
//
// Thread-safety: none; a Task runs and resumes on its connection's worker thread.

#ifndef HANDLERS_TASK_H_
#define HANDLERS_TASK_H_

#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

#include "brigade/requires.h"

namespace brigade::handlers {

template <typename T>
class [[nodiscard]] Task {
 public:
  struct promise_type {
    std::optional<T> value;
    std::exception_ptr exception;  // what the coroutine threw, rethrown to its awaiter
    std::coroutine_handle<> continuation;

    Task get_return_object() {
      return Task(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    auto final_suspend() noexcept {
      struct Final {
        bool await_ready() noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
          std::coroutine_handle<> next = h.promise().continuation;
          return next ? next : std::noop_coroutine();
        }
        void await_resume() noexcept {}
      };
      return Final{};
    }
    void return_value(T v) { value = std::move(v); }
    // The project reports errors as values; an exception escaping a handler is that handler's
    // bug. It travels as it would through plain calls, to the awaiting coroutine and at the top
    // to result(), where the hook runner or the resuming record turns it into a 500.
    void unhandled_exception() noexcept { exception = std::current_exception(); }
  };

  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      Reset();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { Reset(); }

  // Runs the coroutine until it first suspends or returns.
  // REQUIRES: not started yet; not awaited by another coroutine.
  void Start() {
    BRIGADE_REQUIRES(handle_ && !handle_.done() && !handle_.promise().continuation);
    handle_.resume();
  }
  // True once the coroutine has returned.
  bool done() const { return handle_ && handle_.done(); }
  // The returned value; rethrows what the coroutine threw. REQUIRES: done().
  T& result() {
    BRIGADE_REQUIRES(done());
    if (handle_.promise().exception) std::rethrow_exception(handle_.promise().exception);
    return *handle_.promise().value;
  }

  // Awaiting a Task starts it and resumes the awaiting coroutine with its value.
  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
    handle_.promise().continuation = awaiting;
    return handle_;
  }
  T await_resume() {
    if (handle_.promise().exception) std::rethrow_exception(handle_.promise().exception);
    return std::move(*handle_.promise().value);
  }

 private:
  explicit Task(std::coroutine_handle<promise_type> h) : handle_(h) {}
  void Reset() {
    if (handle_) handle_.destroy();
    handle_ = {};
  }
  std::coroutine_handle<promise_type> handle_;
};

// What a parked coroutine waits for: the connection's socket to be readable or writable, or
// its record's waker to be called (another thread has something for it; see blocking.h).
enum class Wait { kNone, kReadable, kWritable, kWoken };

// An operation a coroutine awaits that may have to wait: TryComplete retries it without
// blocking and returns true once it completed (successfully or with an error it stored).
class Awaiter {
 public:
  virtual bool TryComplete() = 0;

 protected:
  ~Awaiter() = default;
};

// The suspended coroutine of a request or connection, if any, and what it waits for.
class Suspension {
 public:
  // Parks `handle` until `awaiter` completes once `wait` is ready.
  // REQUIRES: nothing is parked.
  void Park(std::coroutine_handle<> handle, Awaiter* awaiter, Wait wait) {
    BRIGADE_REQUIRES(!parked());
    handle_ = handle;
    awaiter_ = awaiter;
    wait_ = wait;
  }
  Wait wait() const { return wait_; }
  bool parked() const { return wait_ != Wait::kNone; }

  // Retries the parked operation; when it completed, resumes the coroutine (which runs until it
  // parks again or returns) and returns true. False: still waiting.
  // REQUIRES: parked().
  bool Poll() {
    BRIGADE_REQUIRES(parked());
    if (!awaiter_->TryComplete()) return false;
    std::coroutine_handle<> h = handle_;
    Clear();
    h.resume();
    return true;
  }
  // Forgets the parked coroutine (its Task is about to be destroyed).
  void Clear() {
    handle_ = {};
    awaiter_ = nullptr;
    wait_ = Wait::kNone;
  }

 private:
  std::coroutine_handle<> handle_;
  Awaiter* awaiter_ = nullptr;
  Wait wait_ = Wait::kNone;
};

// The awaitable shape every retrying operation shares: `Op` has `bool TryComplete()` (the
// operation, retried until it returns true), `Result result()`, and a Suspension* `suspension`
// and Wait `wait` to park on. Completes at once when the first attempt does.
template <typename Op>
class Retrying final : public Awaiter {
 public:
  explicit Retrying(Op op) : op_(std::move(op)) {}
  bool await_ready() { return op_.TryComplete(); }
  void await_suspend(std::coroutine_handle<> h) { op_.suspension->Park(h, this, op_.wait); }
  auto await_resume() { return op_.result(); }
  bool TryComplete() override { return op_.TryComplete(); }

 private:
  Op op_;
};

}  // namespace brigade::handlers

#endif  // HANDLERS_TASK_H_
