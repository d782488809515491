#include "server/http_parser.h"

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

bool IsToken(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!filters::IsTchar(c)) return false;
  }
  return true;
}

// Target characters: visible ASCII only (no spaces, controls, or bytes over 0x7e).
bool IsTargetChar(char c) { return c > 0x20 && c < 0x7f; }

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
      return absl::EqualsIgnoreCase(name, "Host") ? kHost : 0;
    case 6:
      return absl::EqualsIgnoreCase(name, "Expect") ? kExpect : 0;
    case 10:
      return absl::EqualsIgnoreCase(name, "Connection") ? kConnection : 0;
    case 14:
      return absl::EqualsIgnoreCase(name, "Content-Length") ? kContentLength : 0;
    case 17:
      return absl::EqualsIgnoreCase(name, "Transfer-Encoding") ? kTransferEncoding : 0;
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
  if (absl::c_any_of(line, [](char c) { return c == '\r' || c == '\n' || c == '\0'; })) {
    return Bad("CR, LF or NUL inside a line of the request head");
  }
  if (!started_) {
    started_ = true;
    return RequestLine(line);
  }
  if (line.empty()) return Finish();
  return FieldLine(line);
}

std::optional<HttpError> RequestHeadParser::RequestLine(absl::string_view line) {
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == absl::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == absl::string_view::npos || line.find(' ', sp2 + 1) != absl::string_view::npos) {
    return Bad("request line is not METHOD SP TARGET SP VERSION");
  }
  absl::string_view method = line.substr(0, sp1);
  absl::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  absl::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method)) return Bad("request method is not a token");
  if (target.empty()) return Bad("empty request target");
  for (char c : target) {
    if (!IsTargetChar(c)) return Bad("invalid character in request target");
  }
  // HTTP-version = "HTTP/" DIGIT "." DIGIT
  if (version.size() != 8 || !absl::StartsWith(version, "HTTP/") ||
      !absl::ascii_isdigit(version[5]) || version[6] != '.' || !absl::ascii_isdigit(version[7])) {
    return Bad("malformed HTTP version");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    return HttpError{505, absl::StrCat(version, " is not supported")};
  }
  head_.method.assign(method.data(), method.size());
  head_.target.assign(target.data(), target.size());
  head_.protocol.assign(version.data(), version.size());
  head_.keep_alive = version == "HTTP/1.1";
  if (method == "CONNECT") return HttpError{501, "CONNECT is not supported"};
  absl::string_view path = target;
  if (target == "*") {
    if (method != "OPTIONS") return Bad("asterisk-form target outside OPTIONS");
  } else if (target[0] != '/') {
    // absolute-form: http://authority/path (RFC 9112 3.2.2); the authority is the host.
    absl::string_view rest = target;
    if (!absl::ConsumePrefix(&rest, "http://") && !absl::ConsumePrefix(&rest, "https://")) {
      return Bad("request target is neither origin-form nor absolute-form");
    }
    size_t slash = rest.find_first_of("/?");
    absl::string_view authority = rest.substr(0, slash);
    if (authority.empty()) return Bad("absolute-form target without a host");
    absolute_host_ = std::string(authority);
    path = slash == absl::string_view::npos ? absl::string_view() : rest.substr(slash);
  }
  size_t q = path.find('?');
  absl::string_view p = path.substr(0, q);
  if (p.empty()) p = "/";  // "http://h?x" means "/?x"
  head_.path.assign(p.data(), p.size());
  if (q != absl::string_view::npos) {
    absl::string_view query = path.substr(q + 1);
    head_.query.assign(query.data(), query.size());
  }
  if (head_.path.find('#') != std::string::npos) return Bad("fragment in request target");
  return std::nullopt;
}

std::optional<HttpError> RequestHeadParser::FieldLine(absl::string_view line) {
  if (line[0] == ' ' || line[0] == '\t') return Bad("obsolete line folding in the request head");
  if (++fields_ > limits_.fields) {
    return HttpError{431, absl::StrCat("more than ", limits_.fields, " header fields")};
  }
  size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return Bad("header field without a colon");
  absl::string_view name = line.substr(0, colon);
  if (!IsToken(name)) {
    return Bad(name.empty() || name.back() == ' ' || name.back() == '\t'
                   ? "whitespace or nothing before a header field's colon"
                   : "invalid header field name");
  }
  absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return Bad("control character in a header value");
  }
  uint8_t known = Classify(name);
  known_ |= known;
  if (known == kHost) ++hosts_;
  head_.headers.Add(name, value);
  return std::nullopt;
}

std::optional<HttpError> RequestHeadParser::Finish() {
  done_ = true;
  filters::HeaderMap& h = head_.headers;
  size_t hosts = hosts_;
  if (absolute_host_.has_value()) {
    h.Set("Host", *absolute_host_);
  } else if (head_.protocol == "HTTP/1.1" && hosts != 1) {
    return Bad(hosts == 0 ? "HTTP/1.1 request without Host" : "more than one Host field");
  } else if (hosts > 1) {
    return Bad("more than one Host field");
  }
  if (std::optional<absl::string_view> host =
          hosts > 0 || absolute_host_.has_value() ? h.Get("Host") : std::nullopt) {
    for (char c : *host) {
      if (c == ' ' || c == '/' || c == '\\' || c == '@') return Bad("invalid Host value");
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
