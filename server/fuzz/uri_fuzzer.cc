// libFuzzer target: the request-path normaliser (percent-decoding, dot-segment removal).
// Invariants, for every input NormalizePath accepts:
//  - the result starts with '/' and has no "." or ".." segment and no empty one but a
//    trailing slash: it can never name anything above the root;
//  - it is what RFC 3986 section 5.2.4's buffer algorithm (written out again here, from the
//    other direction) gives for the decoded path with runs of '/' merged;
//  - it is a fixed point: removing dot segments again changes nothing, and neither does
//    normalising it again when it holds no '%' (a decoded "%2541" is "%41", which decodes
//    once more: the server decodes exactly once);
// and every input it refuses is InvalidArgument: a malformed escape or an encoded NUL.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "server/uri.h"

namespace {

using brigade::server::NormalizePath;
using brigade::server::PercentDecode;
using brigade::server::RemoveDotSegments;

// Removes the last segment and its '/' from `out` (RFC 3986 5.2.4 steps C and D).
void DropLastSegment(std::string& out) {
  size_t slash = out.rfind('/');
  out.erase(slash == std::string::npos ? 0 : slash);
}

std::string ReferenceRemoveDots(absl::string_view path) {
  std::string in = "/";
  for (char c : path) {
    if (!(c == '/' && in.back() == '/')) in += c;
  }
  std::string out;
  while (!in.empty()) {
    if (absl::StartsWith(in, "/./")) {
      in.erase(0, 2);
    } else if (in == "/.") {
      in = "/";
    } else if (absl::StartsWith(in, "/../")) {
      in.erase(0, 3);
      DropLastSegment(out);
    } else if (in == "/..") {
      in = "/";
      DropLastSegment(out);
    } else {
      size_t next = in.find('/', 1);
      if (next == std::string::npos) next = in.size();
      out += in.substr(0, next);
      in.erase(0, next);
    }
  }
  return out.empty() ? "/" : out;
}

bool WellFormed(absl::string_view path) {
  if (path.empty() || path[0] != '/') return false;
  std::vector<absl::string_view> segments = absl::StrSplit(path.substr(1), '/');
  for (size_t i = 0; i < segments.size(); ++i) {
    absl::string_view s = segments[i];
    if (s == "." || s == "..") return false;
    if (s.empty() && i + 1 != segments.size()) return false;
  }
  return true;
}

[[noreturn]] void Fail(const char* what, absl::string_view raw, absl::string_view got) {
  fprintf(stderr, "%s: \"%.*s\" -> \"%.*s\"\n", what, static_cast<int>(raw.size()), raw.data(),
          static_cast<int>(got.size()), got.data());
  abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view raw(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::string> normal = NormalizePath(raw);
  absl::StatusOr<std::string> decoded = PercentDecode(raw);
  if (normal.ok() != decoded.ok()) Fail("NormalizePath and PercentDecode disagree", raw, "");
  if (!normal.ok()) {
    if (!absl::IsInvalidArgument(normal.status())) Fail("not InvalidArgument", raw, "");
    return 0;
  }
  if (!WellFormed(*normal)) Fail("not a normal path", raw, *normal);
  if (*normal != ReferenceRemoveDots(*decoded)) Fail("differs from RFC 3986 5.2.4", raw, *normal);
  if (RemoveDotSegments(*normal) != *normal) Fail("not a fixed point", raw, *normal);
  if (normal->find('%') == std::string::npos) {
    absl::StatusOr<std::string> again = NormalizePath(*normal);
    if (!again.ok() || *again != *normal) Fail("normalising again changed it", raw, *normal);
  }
  return 0;
}
