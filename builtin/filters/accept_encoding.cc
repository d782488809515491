#include "builtin/filters/accept_encoding.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace brigade::filters {
namespace {

// "1", "1.", "1.000", "0", "0.5", "0.123" → thousandths; -1 when malformed (RFC 9110 12.4.2).
int ParseQValue(absl::string_view v) {
  if (v.empty() || (v[0] != '0' && v[0] != '1')) return -1;
  int whole = v[0] - '0';
  v.remove_prefix(1);
  if (v.empty()) return whole * 1000;
  if (v[0] != '.' || v.size() > 4) return -1;
  v.remove_prefix(1);
  int frac = 0, digits = 0;
  for (char c : v) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return -1;
    frac = frac * 10 + (c - '0');
    ++digits;
  }
  for (; digits < 3; ++digits) frac *= 10;
  if (whole == 1 && frac != 0) return -1;
  return whole * 1000 + frac;
}

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("!#$%&'*+-.^_`|~").find(c) != absl::string_view::npos;
}

}  // namespace

AcceptEncoding AcceptEncoding::Parse(absl::string_view header) {
  AcceptEncoding result;
  for (absl::string_view item : absl::StrSplit(header, ',')) {
    std::vector<absl::string_view> params = absl::StrSplit(item, ';');
    absl::string_view coding = absl::StripAsciiWhitespace(params[0]);
    if (coding.empty()) continue;
    bool token = true;
    for (char c : coding) token = token && IsTokenChar(c);
    if (!token) continue;
    int quality = 1000;
    bool valid = true;
    for (size_t i = 1; i < params.size(); ++i) {
      absl::string_view p = absl::StripAsciiWhitespace(params[i]);
      std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(p, absl::MaxSplits('=', 1));
      absl::string_view key = absl::StripAsciiWhitespace(kv.first);
      if (absl::EqualsIgnoreCase(key, "q")) {
        quality = ParseQValue(absl::StripAsciiWhitespace(kv.second));
        valid = quality >= 0;
      }
    }
    if (!valid) continue;
    std::string name = absl::AsciiStrToLower(coding);
    if (name == "x-gzip") name = "gzip";
    result.elements_.push_back({std::move(name), quality});
  }
  return result;
}

int AcceptEncoding::QualityOf(absl::string_view coding) const {
  int explicit_q = -1, star_q = -1;
  for (const Element& e : elements_) {
    if (e.coding == coding) explicit_q = std::max(explicit_q, e.quality);
    if (e.coding == "*") star_q = std::max(star_q, e.quality);
  }
  if (explicit_q >= 0) return explicit_q;
  if (star_q >= 0) return star_q;
  return 0;
}

}  // namespace brigade::filters
