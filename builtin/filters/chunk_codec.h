// Parsing of the line-level pieces of HTTP/1.1 chunked coding (RFC 9112 section 7.1), kept
// apart from the DECHUNK filter so that every rule is testable on plain strings:
//   chunk-size line:  1*HEXDIG *( BWS ";" BWS ext-name [ BWS "=" BWS ext-value ] ) CRLF
//   trailer line:     field-name ":" OWS field-value OWS CRLF
// Both take the whole line including its terminator. Every failure is InvalidArgument with a
// message saying what was wrong and where in the line (the filter adds the stream offset).

#ifndef BUILTIN_FILTERS_CHUNK_CODEC_H_
#define BUILTIN_FILTERS_CHUNK_CODEC_H_

#include <array>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "filters/exchange.h"

namespace brigade::filters {

// Chunk sizes above this are refused: no body needs 2^60 bytes, and the cap keeps every sum
// of sizes far from overflow.
inline constexpr uint64_t kMaxChunkSize = uint64_t{1} << 60;

// Returns the chunk size. Errors: no hex digits, a non-hex character, a size over
// kMaxChunkSize, a malformed extension, a bare LF or a missing CRLF.
[[nodiscard]] absl::StatusOr<uint64_t> ParseChunkSizeLine(absl::string_view line);

// Adds the field on `line` to `trailers`. Errors: a missing colon, an empty or invalid field
// name, a control character in the value, obs-fold (a line starting with whitespace), a bare LF.
[[nodiscard]] absl::Status ParseTrailerLine(absl::string_view line, HeaderMap& trailers);

namespace internal {
// RFC 9110 tchar, by byte: a lookup, as every byte of every field name in a head is checked.
inline constexpr auto kTchar = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = t[c - 'a' + 'A'] = true;
  for (char c : absl::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();
}  // namespace internal

// RFC 9110 token characters.
inline bool IsTchar(char c) { return internal::kTchar[static_cast<unsigned char>(c)]; }

}  // namespace brigade::filters

#endif  // BUILTIN_FILTERS_CHUNK_CODEC_H_
