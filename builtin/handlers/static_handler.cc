#include "builtin/handlers/static_handler.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
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

// An extension of at most 8 bytes (its dot included) as one word, so that the table is searched
// by integer comparison: this runs on every static response.
constexpr uint64_t ExtensionKey(absl::string_view ext) {
  uint64_t key = 0;
  for (char c : ext) key = key << 8 | static_cast<unsigned char>(c);
  return key;
}

// `v` in decimal, written into `out`.
absl::string_view PutDecimal(uint64_t v, char (&out)[20]) {
  char* end = out + sizeof(out);
  char* p = end;
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  return absl::string_view(p, static_cast<size_t>(end - p));
}

// Each byte's two lowercase hex digits.
constexpr std::array<char, 512> kHexPairs = [] {
  std::array<char, 512> pairs{};
  for (int i = 0; i < 256; ++i) {
    pairs[2 * i] = "0123456789abcdef"[i >> 4];
    pairs[2 * i + 1] = "0123456789abcdef"[i & 0xf];
  }
  return pairs;
}();

// `v` in lowercase hex at `p`, without leading zeros; returns the end. Two digits a step: an
// ETag's modification time in nanoseconds has sixteen.
char* PutHex(uint64_t v, char* p) {
  int n = v == 0 ? 1 : (67 - __builtin_clzll(v)) / 4;  // hex digits: ceil(bits / 4)
  int i = n;
  for (; i >= 2; i -= 2, v >>= 8) memcpy(p + i - 2, &kHexPairs[2 * (v & 0xff)], 2);
  if (i == 1) p[0] = kHexPairs[2 * (v & 0xf) + 1];
  return p + n;
}

// "\"SIZE-MTIME_NS\"" in hex, written into `out` (no allocation and no format string to parse:
// it is on every response).
absl::string_view ETagFor(const struct stat& st, char (&out)[36]) {
  char* p = out;
  *p++ = '"';
  p = PutHex(static_cast<uint64_t>(st.st_size), p);
  *p++ = '-';
  p = PutHex(static_cast<uint64_t>(st.st_mtim.tv_sec) * 1000000000ull +
                 static_cast<uint64_t>(st.st_mtim.tv_nsec),
             p);
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
  bool not_modified = false;
  if (r.request_headers.Has("If-None-Match")) {
    not_modified = EtagMatches(r.request_headers.GetCombined("If-None-Match"), etag);
  } else if (std::optional<absl::string_view> ims = r.request_headers.Get("If-Modified-Since")) {
    time_t since;
    not_modified = ParseHttpDate(*ims, &since) && st.st_mtim.tv_sec <= since;
  }
  char modified_text[29];
  absl::string_view modified = HttpDate(st.st_mtim.tv_sec, modified_text);
  char length_text[20];
  absl::string_view length = PutDecimal(static_cast<uint64_t>(st.st_size), length_text);
  filters::HeaderMap& h = r.response_headers;
  absl::string_view type = MimeTypeFor(path);
  if (h.empty() && !not_modified) {
    // Mostly the response has no fields yet: all of them go in at once. Content-Length second,
    // as nginx writes it: the protocol filters look it up, the first of them scanning up to it.
    h.Add({{"Content-Type", type},
           {"Content-Length", length},
           {"Last-Modified", modified},
           {"ETag", etag},
           {"Accept-Ranges", "none"}});
  } else {
    h.Set("Content-Type", type);
    if (!not_modified) h.Set("Content-Length", length);
    h.Set("Last-Modified", modified);
    h.Set("ETag", etag);
    h.Set("Accept-Ranges", "none");
  }
  Brigade bb(r.allocator());
  if (not_modified) {
    r.status = 304;
  } else {
    r.status = 200;
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
  struct Type {
    uint64_t key;  // of the lowercase extension, with its dot
    absl::string_view type;
  };
  static constexpr Type kTypes[] = {
      {ExtensionKey(".html"), "text/html; charset=utf-8"},
      {ExtensionKey(".htm"), "text/html; charset=utf-8"},
      {ExtensionKey(".txt"), "text/plain; charset=utf-8"},
      {ExtensionKey(".css"), "text/css; charset=utf-8"},
      {ExtensionKey(".js"), "application/javascript"},
      {ExtensionKey(".mjs"), "application/javascript"},
      {ExtensionKey(".json"), "application/json"},
      {ExtensionKey(".xml"), "application/xml"},
      {ExtensionKey(".svg"), "image/svg+xml"},
      {ExtensionKey(".png"), "image/png"},
      {ExtensionKey(".jpg"), "image/jpeg"},
      {ExtensionKey(".jpeg"), "image/jpeg"},
      {ExtensionKey(".gif"), "image/gif"},
      {ExtensionKey(".webp"), "image/webp"},
      {ExtensionKey(".ico"), "image/x-icon"},
      {ExtensionKey(".pdf"), "application/pdf"},
      {ExtensionKey(".gz"), "application/gzip"},
      {ExtensionKey(".zip"), "application/zip"},
      {ExtensionKey(".wasm"), "application/wasm"},
      {ExtensionKey(".md"), "text/markdown; charset=utf-8"},
      {ExtensionKey(".csv"), "text/csv; charset=utf-8"},
      {ExtensionKey(".woff2"), "font/woff2"},
      {ExtensionKey(".mp4"), "video/mp4"},
      {ExtensionKey(".mp3"), "audio/mpeg"},
  };
  constexpr size_t kLongest = 6;  // ".woff2"
  constexpr absl::string_view kDefault = "application/octet-stream";
  // The last name's extension: back from the end to its dot, stopping at a slash.
  size_t dot = path.size();
  while (dot > 0 && path.size() - dot < kLongest) {
    char c = path[--dot];
    if (c == '.') break;
    if (c == '/') return kDefault;
  }
  if (path.empty() || path[dot] != '.') return kDefault;
  uint64_t key = 0;
  for (size_t i = dot; i < path.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(path[i]);
    key = key << 8 | static_cast<unsigned char>(absl::ascii_tolower(c));
  }
  for (const Type& t : kTypes) {
    if (t.key == key) return t.type;
  }
  return kDefault;
}

Outcome ServeStatic(Request& r) {
  if (!filters::IsLiteral(r.method, "GET") && !filters::IsLiteral(r.method, "HEAD")) {
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
