// Accept-Encoding parsing (RFC 9110 section 12.5.3) for the DEFLATE filter.
//
// The header is a list of codings with optional weights: "gzip;q=0.8, br, *;q=0". A coding
// named explicitly takes its own weight; "*" gives its weight to every coding not named; a
// coding absent from a header without "*" is not acceptable. "x-gzip" is "gzip" (RFC 9110
// 8.4.1.3). Weights are 0 to 1 with at most three decimals; an element with a malformed weight
// is ignored rather than guessed at.
//
// Thread-safety: immutable after Parse; safe to share.

#ifndef BUILTIN_FILTERS_ACCEPT_ENCODING_H_
#define BUILTIN_FILTERS_ACCEPT_ENCODING_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace brigade::filters {

class AcceptEncoding {
 public:
  // Parses a (combined) Accept-Encoding value. Never fails: what cannot be read is skipped.
  static AcceptEncoding Parse(absl::string_view header);

  // The weight (0 to 1000, in thousandths) the client gives `coding` (lower case).
  int QualityOf(absl::string_view coding) const;
  bool Accepts(absl::string_view coding) const { return QualityOf(coding) > 0; }
  bool AcceptsGzip() const { return Accepts("gzip"); }

 private:
  struct Element {
    std::string coding;  // lower case; "gzip" for "x-gzip"
    int quality;         // thousandths
  };
  std::vector<Element> elements_;
};

}  // namespace brigade::filters

#endif  // BUILTIN_FILTERS_ACCEPT_ENCODING_H_
