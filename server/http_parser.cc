#include "server/http_parser.h"

#include <array>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "builtin/filters/chunk_codec.h"

namespace brigade::server {
namespace {

HttpError Bad(absl::string_view what) { return {400, std::string(what)}; }

// What each byte may be, by where it stands in a head: one lookup per byte, and each byte of a
// line is looked at only once.
enum CharClass : uint8_t {
  kTcharClass = 1,   // RFC 9110 tchar: method, field name
  kTargetClass = 2,  // visible ASCII: request target
  kValueClass = 4,   // field-value: VCHAR, obs-text, SP, HTAB
  kHostBadClass = 8,  // what a Host value must not hold: an authority has none of these
};
constexpr auto kClass = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    if (filters::internal::kTchar[c]) t[c] |= kTcharClass;
    if (c > 0x20 && c < 0x7f) t[c] |= kTargetClass;
    if ((c >= 0x20 && c != 0x7f) || c == '\t') t[c] |= kValueClass;
  }
  for (char c : absl::string_view(" /\\@")) t[static_cast<unsigned char>(c)] |= kHostBadClass;
  return t;
}();
uint8_t ClassOf(char c) { return kClass[static_cast<unsigned char>(c)]; }

// The length of the prefix of `s` whose bytes are all of `cls`.
size_t Span(absl::string_view s, uint8_t cls) {
  size_t i = 0;
  while (i < s.size() && (ClassOf(s[i]) & cls)) ++i;
  return i;
}

// The error for a byte that does not belong where it stands: CR, LF and NUL are named as
// such wherever they are.
HttpError BadByte(char c, absl::string_view otherwise) {
  if (c == '\r' || c == '\n' || c == '\0') {
    return Bad("CR, LF or NUL inside a line of the request head");
  }
  return Bad(otherwise);
}

// Whether `name`, a token, is `lower` (lower-case letters and '-') in any case: OR 0x20 lowers
// a letter and keeps '-', and turns no other token byte into either.
bool IsNamed(absl::string_view name, absl::string_view lower) {
  if (name.size() != lower.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if ((name[i] | 0x20) != lower[i]) return false;
  }
  return true;
}

}  // namespace

void RequestHeadParser::Reset(const HeadLimits& limits) {
  limits_ = limits;
  head_.method.clear();
  head_.target.clear();
  head_.path.clear();
  head_.query.clear();
  head_.protocol.clear();
  head_.headers.Clear();
  head_.content_length.reset();
  head_.chunked = false;
  head_.expect_continue = false;
  head_.keep_alive = true;
  started_ = false;
  done_ = false;
  fields_ = 0;
  hosts_ = 0;
  known_ = 0;
  absolute_host_.reset();
}

uint8_t RequestHeadParser::Classify(absl::string_view name) {
  switch (name.size()) {
    case 4:
      return IsNamed(name, "host") ? kHost : 0;
    case 6:
      return IsNamed(name, "expect") ? kExpect : 0;
    case 10:
      return IsNamed(name, "connection") ? kConnection : 0;
    case 14:
      return IsNamed(name, "content-length") ? kContentLength : 0;
    case 17:
      return IsNamed(name, "transfer-encoding") ? kTransferEncoding : 0;
    default:
      return 0;
  }
}

std::optional<HttpError> RequestHeadParser::AddLine(absl::string_view line) {
  if (!started_) {
    if (line.size() > limits_.request_line + 2 ||
        (line.size() > limits_.request_line && !absl::EndsWith(line, "\n"))) {
      return HttpError{414, absl::StrCat("request line longer than ", limits_.request_line,
                                         " bytes")};
    }
  } else if (line.size() > limits_.field_size + 2 ||
             (line.size() > limits_.field_size && !absl::EndsWith(line, "\n"))) {
    return HttpError{431, absl::StrCat("header field longer than ", limits_.field_size, " bytes")};
  }
  if (!absl::EndsWith(line, "\n")) return Bad("request head ended in the middle of a line");
  if (!absl::EndsWith(line, "\r\n")) return Bad("bare LF ends a line of the request head");
  line.remove_suffix(2);
  // A CR, LF or NUL left inside the line is refused by the scan of the part it is in: none is
  // a token, target or field-value byte.
  if (!started_) {
    started_ = true;
    return RequestLine(line);
  }
  if (line.empty()) return Finish();
  return FieldLine(line);
}

std::optional<HttpError> RequestHeadParser::RequestLine(absl::string_view line) {
  constexpr absl::string_view kShape = "request line is not METHOD SP TARGET SP VERSION";
  size_t sp1 = Span(line, kTcharClass);
  if (sp1 == line.size()) return Bad(kShape);
  if (line[sp1] != ' ') return BadByte(line[sp1], "request method is not a token");
  if (sp1 == 0) return Bad(kShape);
  absl::string_view method = line.substr(0, sp1);
  absl::string_view rest = line.substr(sp1 + 1);
  size_t sp2 = Span(rest, kTargetClass);
  if (sp2 == rest.size()) return Bad(kShape);
  if (rest[sp2] != ' ') return BadByte(rest[sp2], "invalid character in request target");
  if (sp2 == 0) return Bad("empty request target");
  absl::string_view target = rest.substr(0, sp2);
  absl::string_view version = rest.substr(sp2 + 1);
  // HTTP-version = "HTTP/" DIGIT "." DIGIT
  if (version.size() != 8 || !absl::StartsWith(version, "HTTP/") ||
      !absl::ascii_isdigit(version[5]) || version[6] != '.' || !absl::ascii_isdigit(version[7])) {
    for (char c : version) {
      if (c == ' ') return Bad(kShape);
      if (c == '\r' || c == '\n' || c == '\0') return BadByte(c, "");
    }
    return Bad("malformed HTTP version");
  }
  bool http11 = version[5] == '1' && version[7] == '1';
  if (!http11 && (version[5] != '1' || version[7] != '0')) {
    return HttpError{505, absl::StrCat(version, " is not supported")};
  }
  head_.method.assign(method.data(), method.size());
  head_.target.assign(target.data(), target.size());
  head_.protocol.assign(version.data(), version.size());
  head_.keep_alive = http11;
  if (method == "CONNECT") return HttpError{501, "CONNECT is not supported"};
  absl::string_view path = target;
  if (target[0] != '/') {
    if (target == "*") {
      if (method != "OPTIONS") return Bad("asterisk-form target outside OPTIONS");
    } else {
      // absolute-form: http://authority/path (RFC 9112 3.2.2); the authority is the host.
      absl::string_view after = target;
      if (!absl::ConsumePrefix(&after, "http://") && !absl::ConsumePrefix(&after, "https://")) {
        return Bad("request target is neither origin-form nor absolute-form");
      }
      size_t slash = after.find_first_of("/?");
      absl::string_view authority = after.substr(0, slash);
      if (authority.empty()) return Bad("absolute-form target without a host");
      absolute_host_ = std::string(authority);
      path = slash == absl::string_view::npos ? absl::string_view() : after.substr(slash);
    }
  }
  // One pass finds the query and refuses a fragment in the path.
  size_t q = 0;
  while (q < path.size() && path[q] != '?') {
    if (path[q] == '#') return Bad("fragment in request target");
    ++q;
  }
  absl::string_view p = path.substr(0, q);
  if (p.empty()) p = "/";  // "http://h?x" means "/?x"
  head_.path.assign(p.data(), p.size());
  if (q < path.size()) {
    absl::string_view query = path.substr(q + 1);
    head_.query.assign(query.data(), query.size());
  }
  return std::nullopt;
}

std::optional<HttpError> RequestHeadParser::FieldLine(absl::string_view line) {
  if (line[0] == ' ' || line[0] == '\t') return Bad("obsolete line folding in the request head");
  if (++fields_ > limits_.fields) {
    return HttpError{431, absl::StrCat("more than ", limits_.fields, " header fields")};
  }
  size_t colon = Span(line, kTcharClass);
  if (colon == line.size() || line[colon] != ':') {
    if (line.find(':') == absl::string_view::npos) return Bad("header field without a colon");
    size_t after = colon;
    while (line[after] == ' ' || line[after] == '\t') ++after;
    return BadByte(line[colon], line[after] == ':' && after > colon
                                    ? "whitespace or nothing before a header field's colon"
                                    : "invalid header field name");
  }
  if (colon == 0) return Bad("whitespace or nothing before a header field's colon");
  absl::string_view name = line.substr(0, colon);
  // OWS is SP and HTAB only; any other control byte at either end is refused with the rest.
  size_t first = colon + 1;
  size_t last = line.size();
  while (first < last && (line[first] == ' ' || line[first] == '\t')) ++first;
  while (last > first && (line[last - 1] == ' ' || line[last - 1] == '\t')) --last;
  absl::string_view value = line.substr(first, last - first);
  size_t good = Span(value, kValueClass);
  if (good != value.size()) return BadByte(value[good], "control character in a header value");
  uint8_t known = Classify(name);
  known_ |= known;
  if (known == kHost) {
    ++hosts_;
    // An absolute-form target's authority replaces the field (RFC 9112 3.2.2), and Finish
    // checks that instead.
    if (!absolute_host_.has_value()) {
      for (char c : value) {
        if (ClassOf(c) & kHostBadClass) return Bad("invalid Host value");
      }
    }
  }
  head_.headers.Add(name, value);
  return std::nullopt;
}

std::optional<HttpError> RequestHeadParser::Finish() {
  done_ = true;
  filters::HeaderMap& h = head_.headers;
  size_t hosts = hosts_;
  if (absolute_host_.has_value()) {
    h.Set("Host", *absolute_host_);
  } else if (filters::IsLiteral(head_.protocol, "HTTP/1.1") && hosts != 1) {
    return Bad(hosts == 0 ? "HTTP/1.1 request without Host" : "more than one Host field");
  } else if (hosts > 1) {
    return Bad("more than one Host field");
  }
  if (absolute_host_.has_value()) {
    for (char c : *absolute_host_) {
      if (ClassOf(c) & kHostBadClass) return Bad("invalid Host value");
    }
  }
  std::vector<absl::string_view> lengths;
  if (known_ & kContentLength) lengths = h.GetAll("Content-Length");
  std::vector<absl::string_view> codings;
  if (known_ & kTransferEncoding) codings = h.GetAll("Transfer-Encoding");
  if (!codings.empty()) {
    if (!lengths.empty()) return Bad("both Transfer-Encoding and Content-Length");
    if (head_.protocol == "HTTP/1.0") return Bad("Transfer-Encoding in an HTTP/1.0 request");
    std::string all = absl::AsciiStrToLower(h.GetCombined("Transfer-Encoding"));
    std::vector<absl::string_view> list = absl::StrSplit(all, ',');
    for (size_t i = 0; i < list.size(); ++i) {
      absl::string_view coding = absl::StripAsciiWhitespace(list[i]);
      if (coding != "chunked") {
        return HttpError{501, absl::StrCat("transfer coding '", coding, "' is not supported")};
      }
      if (i + 1 != list.size()) return Bad("chunked is not the last transfer coding");
    }
    head_.chunked = true;
  } else if (!lengths.empty()) {
    uint64_t length = 0;
    for (absl::string_view field : lengths) {
      for (absl::string_view v : absl::StrSplit(field, ',')) {
        v = absl::StripAsciiWhitespace(v);
        uint64_t n;
        if (v.empty() || v.size() > 18 || !absl::c_all_of(v, absl::ascii_isdigit) ||
            !absl::SimpleAtoi(v, &n)) {
          return Bad("Content-Length is not a number");
        }
        if (head_.content_length.has_value() && length != n) {
          return Bad("conflicting Content-Length values");
        }
        length = n;
        head_.content_length = n;
      }
    }
  }
  if (std::optional<absl::string_view> expect =
          known_ & kExpect ? h.Get("Expect") : std::nullopt) {
    if (!absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(*expect), "100-continue")) {
      return HttpError{417, absl::StrCat("Expect '", *expect, "' is not supported")};
    }
    head_.expect_continue = head_.protocol == "HTTP/1.1";
  }
  if (!(known_ & kConnection)) return std::nullopt;
  std::string connection = absl::AsciiStrToLower(h.GetCombined("Connection"));
  for (absl::string_view token : absl::StrSplit(connection, ',')) {
    token = absl::StripAsciiWhitespace(token);
    if (token == "close") head_.keep_alive = false;
    if (token == "keep-alive" && head_.protocol == "HTTP/1.0") head_.keep_alive = true;
  }
  return std::nullopt;
}

}  // namespace brigade::server
