#include "builtin/filters/chunk_codec.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace brigade::filters {
namespace {

bool IsWs(char c) { return c == ' ' || c == '\t'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Strips the CRLF terminator; a bare LF or no terminator is an error.
[[nodiscard]] absl::StatusOr<absl::string_view> StripCrlf(absl::string_view line,
                                                          absl::string_view what) {
  if (line.empty() || line.back() != '\n') {
    return absl::InvalidArgumentError(absl::StrCat(what, " does not end with CRLF"));
  }
  if (line.size() < 2 || line[line.size() - 2] != '\r') {
    return absl::InvalidArgumentError(absl::StrCat("bare LF ending the ", what));
  }
  line.remove_suffix(2);
  if (line.find_first_of("\r\n") != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("stray CR or LF inside the ", what, " at column ", line.find_first_of("\r\n")));
  }
  return line;
}

size_t SkipWs(absl::string_view s, size_t i) {
  while (i < s.size() && IsWs(s[i])) ++i;
  return i;
}

}  // namespace

[[nodiscard]] absl::StatusOr<uint64_t> ParseChunkSizeLine(absl::string_view line) {
  absl::StatusOr<absl::string_view> body = StripCrlf(line, "chunk size line");
  if (!body.ok()) return body.status();
  absl::string_view s = *body;
  size_t i = 0;
  uint64_t size = 0;
  while (i < s.size() && HexValue(s[i]) >= 0) {
    uint64_t digit = static_cast<uint64_t>(HexValue(s[i]));
    // Checked before multiplying, so the test itself cannot wrap around.
    if (size > (kMaxChunkSize - digit) / 16) {
      return absl::InvalidArgumentError(
          absl::StrCat("chunk size overflows (more than 2^60) at column ", i));
    }
    size = size * 16 + digit;
    ++i;
  }
  if (i == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk size is not hexadecimal: '", absl::CHexEscape(s.substr(0, 16)), "'"));
  }
  // Extensions: validated, then ignored (RFC 9112 7.1.1).
  while (true) {
    i = SkipWs(s, i);
    if (i == s.size()) break;
    if (s[i] != ';') {
      return absl::InvalidArgumentError(absl::StrCat("unexpected '", absl::CHexEscape(s.substr(i, 1)),
                                                     "' after chunk size at column ", i));
    }
    i = SkipWs(s, i + 1);
    size_t name = i;
    while (i < s.size() && IsTchar(s[i])) ++i;
    if (i == name) {
      return absl::InvalidArgumentError(
          absl::StrCat("chunk extension without a name at column ", i));
    }
    size_t after = SkipWs(s, i);
    if (after < s.size() && s[after] == '=') {
      i = SkipWs(s, after + 1);
      if (i < s.size() && s[i] == '"') {
        ++i;
        while (i < s.size() && s[i] != '"') {
          if (s[i] == '\\') ++i;
          ++i;
        }
        if (i >= s.size()) {
          return absl::InvalidArgumentError("unterminated quoted chunk extension value");
        }
        ++i;
      } else {
        size_t value = i;
        while (i < s.size() && IsTchar(s[i])) ++i;
        if (i == value) {
          return absl::InvalidArgumentError(
              absl::StrCat("chunk extension value missing at column ", i));
        }
      }
    } else {
      i = after;
    }
  }
  return size;
}

[[nodiscard]] absl::Status ParseTrailerLine(absl::string_view line, HeaderMap& trailers) {
  absl::StatusOr<absl::string_view> body = StripCrlf(line, "trailer line");
  if (!body.ok()) return body.status();
  absl::string_view s = *body;
  if (!s.empty() && IsWs(s[0])) {
    return absl::InvalidArgumentError("obsolete line folding in trailer");
  }
  size_t colon = s.find(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError("trailer line without a colon");
  }
  absl::string_view name = s.substr(0, colon);
  if (name.empty()) return absl::InvalidArgumentError("trailer field with an empty name");
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsTchar(name[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid character in trailer field name at column ", i));
    }
  }
  absl::string_view value = s.substr(colon + 1);
  for (size_t i = 0; i < value.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat("control character in trailer field value at column ", colon + 1 + i));
    }
  }
  trailers.Add(name, absl::StripAsciiWhitespace(value));
  return absl::OkStatus();
}

}  // namespace brigade::filters
