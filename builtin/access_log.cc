#include "builtin/access_log.h"

#include <cerrno>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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

AccessLog::~AccessLog() {
  std::lock_guard<std::mutex> lock(mu_);
  if (file_ != nullptr && file_ != stdout) fclose(file_);
}

absl::Status AccessLog::Open(const std::string& path) {
  path_ = path;
  enabled_ = !path.empty();
  return Reopen();
}

absl::Status AccessLog::Reopen() {
  if (!enabled_) return absl::OkStatus();
  FILE* fresh = stdout;
  if (path_ != "-") {
    fresh = fopen(path_.c_str(), "ae");
    if (fresh == nullptr) return internal::ErrnoStatus(errno, absl::StrCat("AccessLog ", path_));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (file_ != nullptr && file_ != stdout) fclose(file_);
  file_ = fresh;
  return absl::OkStatus();
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

void AccessLog::Write(const handlers::Request& r, bool keep_alive) {
  if (!enabled_) return;  // no line is built for a log nobody configured
  std::string line = Format(r, keep_alive);
  std::lock_guard<std::mutex> lock(mu_);
  if (file_ == nullptr) return;
  fputs(line.c_str(), file_);
  fflush(file_);
}

}  // namespace brigade::server
