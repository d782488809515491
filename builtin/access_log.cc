#include "builtin/access_log.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "brigade/requires.h"
#include "brigade/storage.h"

namespace brigade::server {
namespace {

std::string LogTime(time_t t) {
  struct tm tm;
  localtime_r(&t, &tm);
  char buf[64];
  strftime(buf, sizeof(buf), "%d/%b/%Y:%H:%M:%S %z", &tm);
  return buf;
}

// Quotes a request field for the access log: escapes '"', '\' and control bytes (Apache does).
std::string LogQuote(absl::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      out += absl::StrFormat("\\x%02x", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

namespace {
std::atomic<uint64_t> next_log_id{1};
}  // namespace

AccessLog::AccessLog() : id_(next_log_id.fetch_add(1)) {}

AccessLog::~AccessLog() {
  if (writer_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(wake_mu_);
      stop_ = true;
    }
    wake_.notify_one();
    writer_.join();
  }
  std::unique_lock<std::mutex> lock(file_mu_);
  WriteHeld(lock);
  if (file_ != nullptr && file_ != stdout) fclose(file_);
}

absl::Status AccessLog::Open(const std::string& path) {
  BRIGADE_REQUIRES(file_ == nullptr && !writer_.joinable());
  path_ = path;
  enabled_ = !path.empty();
  if (absl::Status s = Reopen(); !s.ok()) return s;
  if (enabled_) writer_ = std::thread([this] { WriterLoop(); });
  return absl::OkStatus();
}

absl::Status AccessLog::Reopen() {
  if (!enabled_) return absl::OkStatus();
  FILE* fresh = stdout;
  if (path_ != "-") {
    fresh = fopen(path_.c_str(), "ae");
    if (fresh == nullptr) return internal::ErrnoStatus(errno, absl::StrCat("AccessLog ", path_));
  }
  std::unique_lock<std::mutex> lock(file_mu_);
  WriteHeld(lock);
  if (file_ != nullptr && file_ != stdout) fclose(file_);
  file_ = fresh;
  return absl::OkStatus();
}

AccessLog::Buffer& AccessLog::ThisThreadsBuffer() {
  // A thread writes to one log, or a few over its life (tests): a short list, looked up by id.
  thread_local std::vector<std::pair<uint64_t, Buffer*>> mine;
  for (const auto& [id, buffer] : mine) {
    if (id == id_) return *buffer;
  }
  std::lock_guard<std::mutex> lock(buffers_mu_);
  buffers_.push_back(std::make_unique<Buffer>());
  mine.emplace_back(id_, buffers_.back().get());
  return *buffers_.back();
}

void AccessLog::Write(const handlers::Request& r, bool keep_alive) {
  if (!enabled_) return;  // no line is built for a log nobody configured
  std::string line = Format(r, keep_alive);
  Buffer& b = ThisThreadsBuffer();
  bool full;
  {
    std::lock_guard<std::mutex> lock(b.mu);
    if (b.lines.size() + line.size() > kMaxHeldBytes) {
      ++b.dropped;
      return;
    }
    b.lines += line;
    full = b.lines.size() >= kFlushBytes;
  }
  // The writer may be between its check and its wait: then it writes at its next round, at
  // most kFlushMs later.
  if (full && !full_.exchange(true)) wake_.notify_one();
}

void AccessLog::Flush() {
  std::unique_lock<std::mutex> lock(file_mu_);
  WriteHeld(lock);
}

void AccessLog::WriterLoop() {
  std::unique_lock<std::mutex> lock(wake_mu_);
  while (!stop_) {
    wake_.wait_for(lock, std::chrono::milliseconds(kFlushMs),
                   [this] { return stop_ || full_.load(); });
    lock.unlock();
    full_ = false;
    Flush();
    lock.lock();
  }
}

void AccessLog::WriteHeld(const std::unique_lock<std::mutex>& file_lock) {
  BRIGADE_REQUIRES(file_lock.owns_lock() && file_lock.mutex() == &file_mu_);
  std::vector<Buffer*> all;
  {
    std::lock_guard<std::mutex> lock(buffers_mu_);
    for (const std::unique_ptr<Buffer>& b : buffers_) all.push_back(b.get());
  }
  std::string out;
  uint64_t dropped = 0;
  for (Buffer* b : all) {
    std::lock_guard<std::mutex> lock(b->mu);
    out += b->lines;
    b->lines.clear();
    if (b->lines.capacity() > 2 * kFlushBytes) b->lines.shrink_to_fit();  // after a burst
    dropped += b->dropped;
    b->dropped = 0;
  }
  if (dropped > 0) {
    fprintf(stderr,
            "brigaded: access log %s: %llu lines dropped: the file did not take them as fast "
            "as they came\n",
            path_.c_str(), static_cast<unsigned long long>(dropped));
  }
  if (out.empty() || file_ == nullptr) return;
  bool ok = fwrite(out.data(), 1, out.size(), file_) == out.size();
  ok = fflush(file_) == 0 && ok;
  if (!ok && !write_failed_) {
    fprintf(stderr, "brigaded: access log %s: write failed: %s\n", path_.c_str(), strerror(errno));
  }
  write_failed_ = !ok;
}

std::string AccessLog::Format(const handlers::Request& r, bool keep_alive) {
  const std::string& peer = r.connection().peer;
  return absl::StrFormat(
      "%s - %s [%s] \"%s\" %d %s \"%s\" \"%s\" %s\n", peer.substr(0, peer.rfind(':')),
      r.user.empty() ? "-" : LogQuote(r.user), LogTime(r.request_time), LogQuote(r.the_request), r.status,
      r.bytes_sent == 0 ? "-" : absl::StrCat(r.bytes_sent),
      LogQuote(r.request_headers.Get("Referer").value_or("-")),
      LogQuote(r.request_headers.Get("User-Agent").value_or("-")),
      r.aborted ? "X" : (keep_alive ? "+" : "-"));
}

}  // namespace brigade::server
