#include "builtin/handlers/static_handler.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace brigade::handlers {
namespace {

bool ParseHttpDate(absl::string_view s, time_t* out) {
  struct tm tm = {};
  std::string text(s);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return false;
  *out = timegm(&tm);
  return true;
}

// "\"SIZE-MTIME_NS\"" in hex, written into `out` (no allocation and no format string to parse:
// it is on every response).
absl::string_view ETagFor(const struct stat& st, char (&out)[36]) {
  absl::AlphaNum size(absl::Hex(static_cast<uint64_t>(st.st_size)));
  absl::AlphaNum mtime(absl::Hex(static_cast<uint64_t>(st.st_mtim.tv_sec) * 1000000000ull +
                                 static_cast<uint64_t>(st.st_mtim.tv_nsec)));
  char* p = out;
  *p++ = '"';
  p = std::copy(size.data(), size.data() + size.size(), p);
  *p++ = '-';
  p = std::copy(mtime.data(), mtime.data() + mtime.size(), p);
  *p++ = '"';
  return absl::string_view(out, static_cast<size_t>(p - out));
}

bool EtagMatches(absl::string_view header, absl::string_view etag) {
  for (absl::string_view candidate : absl::StrSplit(header, ',')) {
    candidate = absl::StripAsciiWhitespace(candidate);
    absl::ConsumePrefix(&candidate, "W/");  // weak comparison (RFC 9110 13.1.2)
    if (candidate == "*" || candidate == etag) return true;
  }
  return false;
}

// `path` (decoded) percent-encoded again for a header: every byte but RFC 3986's unreserved
// characters, sub-delims, ':', '@' and '/', so no space, control byte or CR LF reaches a field.
std::string EscapePath(absl::string_view path) {
  static constexpr absl::string_view kKeep = "-._~!$&'()*+,;=:@/";
  std::string out;
  for (unsigned char c : path) {
    if (absl::ascii_isalnum(c) || kKeep.find(static_cast<char>(c)) != absl::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      absl::StrAppend(&out, absl::StrFormat("%%%02X", c));
    }
  }
  return out;
}

// The status for a failed open(2): the client's fault only when the file is missing or refused.
int StatusForOpenError(int err, int missing) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return missing;
    case EACCES:
    case EPERM:
    case ELOOP:
      return 403;
    case EMFILE:
    case ENFILE:
    case ENOMEM:
      return 503;
    default:
      return 500;
  }
}

// `path`: the file's name, for its type.
Outcome SendFile(Request& r, Ref<File> file, absl::string_view path, const struct stat& st) {
  char etag_text[36];
  absl::string_view etag = ETagFor(st, etag_text);
  char modified[29];
  r.response_headers.Set("Content-Type", MimeTypeFor(path));
  r.response_headers.Set("Last-Modified", HttpDate(st.st_mtim.tv_sec, modified));
  r.response_headers.Set("ETag", etag);
  r.response_headers.Set("Accept-Ranges", "none");
  bool not_modified = false;
  if (r.request_headers.Has("If-None-Match")) {
    not_modified = EtagMatches(r.request_headers.GetCombined("If-None-Match"), etag);
  } else if (std::optional<absl::string_view> ims = r.request_headers.Get("If-Modified-Since")) {
    time_t since;
    not_modified = ParseHttpDate(*ims, &since) && st.st_mtim.tv_sec <= since;
  }
  Brigade bb(r.allocator());
  if (not_modified) {
    r.status = 304;
  } else {
    r.status = 200;
    r.response_headers.Set("Content-Length", absl::StrCat(st.st_size));
    if (st.st_size > 0 && !r.is_head()) {
      bb.Append(Bucket::FileRange(r.allocator(), std::move(file), 0,
                                  static_cast<uint64_t>(st.st_size)));
    }
  }
  bb.Append(Bucket::Eos(r.allocator()));
  absl::StatusOr<filters::Flow> flow = r.Pass(bb);
  if (!flow.ok()) return Outcome::Status(HttpStatusFor(flow.status()));
  return Outcome::Ok();
}

}  // namespace

absl::string_view MimeTypeFor(absl::string_view path) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"},  {".htm", "text/html; charset=utf-8"},
      {".txt", "text/plain; charset=utf-8"},  {".css", "text/css; charset=utf-8"},
      {".js", "application/javascript"},      {".mjs", "application/javascript"},
      {".json", "application/json"},          {".xml", "application/xml"},
      {".svg", "image/svg+xml"},              {".png", "image/png"},
      {".jpg", "image/jpeg"},                 {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},                  {".webp", "image/webp"},
      {".ico", "image/x-icon"},               {".pdf", "application/pdf"},
      {".gz", "application/gzip"},            {".zip", "application/zip"},
      {".wasm", "application/wasm"},          {".md", "text/markdown; charset=utf-8"},
      {".csv", "text/csv; charset=utf-8"},    {".woff2", "font/woff2"},
      {".mp4", "video/mp4"},                  {".mp3", "audio/mpeg"},
  };
  size_t slash = path.rfind('/');
  size_t dot = path.rfind('.');
  if (dot == absl::string_view::npos || (slash != absl::string_view::npos && dot < slash)) {
    return "application/octet-stream";
  }
  absl::string_view ext = path.substr(dot);
  for (const auto& [e, type] : kTypes) {
    if (absl::EqualsIgnoreCase(ext, e)) return type;
  }
  return "application/octet-stream";
}

Outcome ServeStatic(Request& r) {
  if (r.method != "GET" && r.method != "HEAD") {
    r.response_headers.Set("Allow", "GET, HEAD");
    return Outcome::Status(405);
  }
  Ref<File> file = r.file;
  if (!file) {
    if (r.file_status != 0) return Outcome::Status(r.file_status);
    if (r.filename.empty()) return Outcome::Status(404);
    int fd = open(r.filename.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Outcome::Status(StatusForOpenError(errno, 404));
    file = File::Adopt(fd, /*take_ownership=*/true);
  }
  struct stat st;
  if (fstat(file->fd(), &st) != 0) return Outcome::Status(404);
  absl::string_view name = r.filename;  // for the type
  if (S_ISDIR(st.st_mode)) {
    if (!absl::EndsWith(r.uri, "/")) {
      r.response_headers.Set("Location", EscapePath(r.uri) + "/");
      return Outcome::Status(301);
    }
    // O_NOFOLLOW: an index.html that is a symlink could lead out of the document root.
    int fd = openat(file->fd(), "index.html", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return Outcome::Status(StatusForOpenError(errno, 403));  // no index: forbidden
    file = File::Adopt(fd, /*take_ownership=*/true);
    if (fstat(fd, &st) != 0) return Outcome::Status(403);
    name = "index.html";
  }
  if (!S_ISREG(st.st_mode)) return Outcome::Status(403);
  return SendFile(r, std::move(file), name, st);
}

}  // namespace brigade::handlers
