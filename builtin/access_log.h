// AccessLog: brigaded's access log in Apache's combined format, plus the connection status
// (Apache's %X) so that every response's line says whether it completed:
//
//   127.0.0.1 - - [01/Dec/2026:08:00:00 +0000] "GET / HTTP/1.1" 200 1234 "-" "curl/7.88" +
//
// %X is "X" when the response was cut (the client stopped reading, the connection died, or an
// error aborted it after it began), "+" when the connection stays open for another request, "-"
// when it closes. %b is the body bytes that left the socket, so a cut response shows how far
// it got. The line is written by the access-log module's log-phase hook, once per request,
// after the response's last byte has left.
//
// Thread-safety: Write and Reopen may be called from any thread.

#ifndef BUILTIN_ACCESS_LOG_H_
#define BUILTIN_ACCESS_LOG_H_

#include <cstdio>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "handlers/request.h"

namespace brigade::server {

class AccessLog {
 public:
  AccessLog() = default;
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;
  ~AccessLog();

  // `path`: a file (appended to), "-" for stdout, "" for no log.
  // Errors: the file cannot be opened (the errno's code, naming the file).
  absl::Status Open(const std::string& path);
  // Reopens the file (SIGHUP, after log rotation). On failure the old file stays in use and
  // the error is returned (the caller says so on stderr): lines are never dropped silently.
  absl::Status Reopen();

  bool enabled() const { return enabled_; }
  // Writes `r`'s line. `keep_alive`: the connection stays open after it.
  void Write(const handlers::Request& r, bool keep_alive);

  // The line Write would write, for tests.
  static std::string Format(const handlers::Request& r, bool keep_alive);

 private:
  std::string path_;
  bool enabled_ = false;  // fixed after Open: a configured log is never turned off
  // std::mutex rather than absl::Mutex: ThreadSanitizer sees through pthread's, while Debian's
  // Abseil is built without the annotations it would need.
  std::mutex mu_;
  FILE* file_ = nullptr;  // guarded by mu_
};

}  // namespace brigade::server

#endif  // BUILTIN_ACCESS_LOG_H_
