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
// Buffered per writing thread (each worker appends to a buffer of its own, under a lock no
// other worker takes) and written by the log's own thread, as nginx's `access_log ... buffer=`
// and Envoy's flush thread do: at most kFlushMs after a line was written, or as soon as a
// thread holds kFlushBytes. A worker never waits for the disk. Lines of one thread keep their
// order; lines of different threads are written in flush order. A thread holding kMaxHeldBytes
// (the file does not take lines as fast as they come) drops further lines and the writer says
// how many on stderr: memory stays bounded and nothing is lost silently.
//
// Thread-safety: Write, Flush and Reopen may be called from any thread.

#ifndef BUILTIN_ACCESS_LOG_H_
#define BUILTIN_ACCESS_LOG_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "handlers/request.h"

namespace brigade::server {

class AccessLog {
 public:
  static constexpr size_t kFlushBytes = 64 * 1024;
  static constexpr int64_t kFlushMs = 1000;
  static constexpr size_t kMaxHeldBytes = 4 * 1024 * 1024;

  AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;
  // Writes what is held, then stops the writer and closes the file.
  ~AccessLog();

  // `path`: a file (appended to), "-" for stdout, "" for no log. Starts the writer.
  // Errors: the file cannot be opened (the errno's code, naming the file).
  // REQUIRES: called once.
  [[nodiscard]] absl::Status Open(const std::string& path);
  // Reopens the file (SIGHUP, after log rotation); what is held goes to the old file first. On
  // failure the old file stays in use and the error is returned (the caller says so on
  // stderr): lines are never dropped silently.
  [[nodiscard]] absl::Status Reopen();
  bool enabled() const { return enabled_; }
  // Adds `r`'s line to this thread's buffer. `keep_alive`: the connection stays open after it.
  void Write(const handlers::Request& r, bool keep_alive);
  // Writes every line held now; returns once they are in the file.
  void Flush();
  // The line Write would write, for tests.
  static std::string Format(const handlers::Request& r, bool keep_alive);

 private:
  // One writing thread's lines.
  struct Buffer {
    std::mutex mu;
    std::string lines;     // guarded by mu
    uint64_t dropped = 0;  // guarded by mu
  };
  Buffer& ThisThreadsBuffer();
  void WriterLoop();
  // Takes every buffer's lines and writes them to file_. REQUIRES: `file_lock` holds file_mu_.
  void WriteHeld(const std::unique_lock<std::mutex>& file_lock);

  const uint64_t id_;  // tells this log's buffers from an earlier log's at the same address
  std::string path_;
  bool enabled_ = false;  // fixed after Open: a configured log is never turned off
  // std::mutex rather than absl::Mutex: ThreadSanitizer sees through pthread's, while Debian's
  // Abseil is built without the annotations it would need.
  std::mutex buffers_mu_;
  std::vector<std::unique_ptr<Buffer>> buffers_;  // guarded by buffers_mu_; only grows
  std::mutex file_mu_;
  FILE* file_ = nullptr;       // guarded by file_mu_
  bool write_failed_ = false;  // guarded by file_mu_: said once until a write succeeds
  std::mutex wake_mu_;
  std::condition_variable wake_;
  bool stop_ = false;                // guarded by wake_mu_
  std::atomic<bool> full_{false};    // a buffer reached kFlushBytes: write now
  std::thread writer_;
};

}  // namespace brigade::server

#endif  // BUILTIN_ACCESS_LOG_H_
