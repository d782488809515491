// BRIGADE_REQUIRES(condition): checks a precondition that a header states as "REQUIRES:", in
// debug builds only. `-c opt` (the default here) defines NDEBUG and compiles the check out;
// `--config=asan` and `--config=debug` build with `-c dbg`, so the whole suite runs with the
// checks on under the sanitizers.
//
// A failure is the project's bug (or a caller's misuse of the API), never a peer's bad input:
// bytes from a client or a file become a Status or an HTTP status, not a failed check
// (STYLE rule 9). It prints the condition and where, and aborts.

#ifndef BRIGADE_REQUIRES_H_
#define BRIGADE_REQUIRES_H_

namespace brigade::internal {

[[noreturn]] void RequiresFailed(const char* condition, const char* file, int line);

}  // namespace brigade::internal

#ifdef NDEBUG
// Unevaluated, so that a variable used only in checks is still "used".
#define BRIGADE_REQUIRES(condition) static_cast<void>(sizeof((condition) ? 1 : 0))
#else
#define BRIGADE_REQUIRES(condition)                                                         \
  ((condition) ? static_cast<void>(0)                                                       \
               : ::brigade::internal::RequiresFailed(#condition, __FILE__, __LINE__))
#endif

#endif  // BRIGADE_REQUIRES_H_
