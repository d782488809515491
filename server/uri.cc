#include "server/uri.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace brigade::server {
namespace {

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

[[nodiscard]] absl::StatusOr<std::string> RealPath(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) return absl::NotFoundError(path);
    if (errno == EACCES) return absl::PermissionDeniedError(path);
    return absl::NotFoundError(absl::StrCat(path, ": ", strerror(errno)));
  }
  return std::string(buf);
}

[[nodiscard]] absl::StatusOr<std::string> PercentDecode(absl::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') {
      out += path[i];
      continue;
    }
    if (i + 2 >= path.size()) return absl::InvalidArgumentError("truncated percent escape in path");
    int hi = Hex(path[i + 1]), lo = Hex(path[i + 2]);
    if (hi < 0 || lo < 0) return absl::InvalidArgumentError("malformed percent escape in path");
    char c = static_cast<char>(hi * 16 + lo);
    if (c == '\0') return absl::InvalidArgumentError("encoded NUL in path");
    out += c;
    i += 2;
  }
  return out;
}

namespace {

// True when RemoveDotSegments would return `path` as it is: it starts with '/', and no segment
// is "." or "..", nor empty but the last (a trailing slash). Most request paths are: memchr
// finds the slashes.
bool AlreadyNormal(absl::string_view path) {
  if (path.empty() || path[0] != '/') return false;
  const char* end = path.data() + path.size();
  for (const char* segment = path.data() + 1;;) {
    const char* slash = static_cast<const char*>(memchr(segment, '/', end - segment));
    const char* stop = slash != nullptr ? slash : end;
    size_t length = static_cast<size_t>(stop - segment);
    if (length == 0 && slash != nullptr) return false;
    if (length == 1 && segment[0] == '.') return false;
    if (length == 2 && segment[0] == '.' && segment[1] == '.') return false;
    if (slash == nullptr) return true;
    segment = slash + 1;
  }
}

}  // namespace

absl::Status NormalizePathInto(absl::string_view raw_path, std::string* out) {
  if (memchr(raw_path.data(), '%', raw_path.size()) == nullptr) {
    // Most paths need neither decoding nor dot-segment removal: taken as they are.
    if (AlreadyNormal(raw_path)) {
      out->assign(raw_path.data(), raw_path.size());
    } else {
      *out = RemoveDotSegments(raw_path);
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> decoded = PercentDecode(raw_path);
  if (!decoded.ok()) return decoded.status();
  *out = RemoveDotSegments(*decoded);
  return absl::OkStatus();
}

[[nodiscard]] absl::StatusOr<std::string> NormalizePath(absl::string_view raw_path) {
  std::string out;
  if (absl::Status s = NormalizePathInto(raw_path, &out); !s.ok()) return s;
  return out;
}

std::string RemoveDotSegments(absl::string_view path) {
  if (AlreadyNormal(path)) return std::string(path);
  std::vector<absl::string_view> out;
  std::vector<absl::string_view> segments = absl::StrSplit(path, '/');
  bool trailing_slash = false;
  for (size_t i = 0; i < segments.size(); ++i) {
    absl::string_view s = segments[i];
    bool last = i + 1 == segments.size();
    if (s == ".") {
      trailing_slash = last;
    } else if (s == "..") {
      if (!out.empty()) out.pop_back();
      trailing_slash = last;
    } else if (!s.empty()) {
      out.push_back(s);
      trailing_slash = false;
    } else {
      trailing_slash = last && i > 0;
    }
  }
  std::string result = "/" + absl::StrJoin(out, "/");
  if (trailing_slash && result.size() > 1) result += "/";
  return result;
}

[[nodiscard]] absl::StatusOr<std::string> MapToFile(const std::string& real_root,
                                                    absl::string_view decoded_path) {
  absl::StatusOr<std::string> real = RealPath(absl::StrCat(real_root, decoded_path));
  if (!real.ok()) return real.status();
  if (*real != real_root && !absl::StartsWith(*real, real_root + "/")) {
    return absl::PermissionDeniedError(absl::StrCat(decoded_path, " resolves outside the root"));
  }
  return *real;
}

[[nodiscard]] absl::StatusOr<Ref<File>> OpenBeneath(int root_fd, absl::string_view decoded_path) {
  std::string relative(decoded_path.substr(decoded_path.find_first_not_of('/') ==
                                                   absl::string_view::npos
                                               ? decoded_path.size()
                                               : decoded_path.find_first_not_of('/')));
  if (relative.empty()) relative = ".";
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  long fd = syscall(SYS_openat2, root_fd, relative.c_str(), &how, sizeof(how));
  if (fd >= 0) return File::Adopt(static_cast<int>(fd), /*take_ownership=*/true);
  switch (errno) {
    case ENOSYS:
      return absl::UnimplementedError("openat2 is not available");
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(relative);
    case EXDEV:  // would leave the root
    case ELOOP:
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(absl::StrCat(relative, ": ", strerror(errno)));
    case EMFILE:
    case ENFILE:
    case ENOMEM:
      // The server's trouble, not the client's: never a 403 or 404.
      return absl::UnavailableError(absl::StrCat(relative, ": ", strerror(errno)));
    default:
      return absl::InternalError(absl::StrCat(relative, ": ", strerror(errno)));
  }
}

}  // namespace brigade::server
