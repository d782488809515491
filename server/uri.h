// Request paths to files: percent-decoding, dot-segment removal (RFC 3986 section 5.2.4) and a
// containment check that resolves symlinks, so that no path escapes its document root.

#ifndef SERVER_URI_H_
#define SERVER_URI_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "brigade/storage.h"

namespace brigade::server {

// Decodes %XX escapes. Errors (InvalidArgument): a malformed escape or an encoded NUL.
// An encoded '/' decodes to '/': dot segments are removed after decoding (NormalizePath), so
// "..%2f" is an ordinary "../" by then and cannot slip past.
[[nodiscard]] absl::StatusOr<std::string> PercentDecode(absl::string_view path);

// RFC 3986 remove_dot_segments on an absolute path; the result starts with '/'.
std::string RemoveDotSegments(absl::string_view path);

// The one path a request is known by: `raw_path` (the target's path, still percent-encoded)
// decoded, then freed of dot segments. Location matching, translate and handlers all use it;
// it never climbs above "/", and removing dot segments again changes nothing (nor does
// normalising again, unless it holds a '%': "%2541" decodes to "%41", and the server decodes
// exactly once).
// Errors: as PercentDecode.
[[nodiscard]] absl::StatusOr<std::string> NormalizePath(absl::string_view raw_path);
// The same, written into `out` (its capacity reused: a connection keeps one string for its
// requests' paths). On an error `out` is left as it was.
[[nodiscard]] absl::Status NormalizePathInto(absl::string_view raw_path, std::string* out);

// The file for `decoded_path` (already decoded and normalized) under `real_root`, with
// symlinks resolved. Errors: NotFound when it does not exist; PermissionDenied when the real
// path lies outside the root.
// REQUIRES: `real_root` is a RealPath (the configuration stores roots that way, once).
[[nodiscard]] absl::StatusOr<std::string> MapToFile(const std::string& real_root,
                                                    absl::string_view decoded_path);

// realpath(3) as a Status: NotFound, PermissionDenied.
[[nodiscard]] absl::StatusOr<std::string> RealPath(const std::string& path);

// Opens `decoded_path` (decoded and normalized) read-only beneath the directory `root_fd` in one
// system call (openat2 with RESOLVE_BENEATH): a path or symlink that would leave the root is
// refused by the kernel. Errors: NotFound; PermissionDenied (outside the root, or unreadable);
// Unavailable when the process is out of descriptors or memory; Unimplemented when the kernel
// has no openat2 (callers then use MapToFile); Internal for anything else.
[[nodiscard]] absl::StatusOr<Ref<File>> OpenBeneath(int root_fd, absl::string_view decoded_path);

}  // namespace brigade::server

#endif  // SERVER_URI_H_
