// CONTENT_LENGTH (PROTOCOL): sets Content-Length when the whole body and its EOS arrive in the
// first call (a small generated response, a static file), so that the response needs no
// chunking; otherwise it passes everything through untouched. Either way it then removes
// itself. It leaves an existing Content-Length alone, and does not invent "0" for a HEAD
// response whose handler sent no body.
//
// Thread-safety: none; one instance per response.

#ifndef BUILTIN_FILTERS_CONTENT_LENGTH_FILTER_H_
#define BUILTIN_FILTERS_CONTENT_LENGTH_FILTER_H_

#include "absl/strings/str_cat.h"
#include "filters/filter.h"

namespace brigade::filters {

class ContentLengthFilter : public OutputFilter {
 public:
  ContentLengthFilter() : OutputFilter("CONTENT_LENGTH", FilterKind::kProtocol) {}
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override {
    if (bb.empty()) return Flow::kDone;
    HeaderMap& h = exchange().response_headers;
    std::optional<uint64_t> length = bb.Length();
    if (bb.ends_with_eos() && length.has_value() && !h.Has("Content-Length") &&
        !h.Has("Transfer-Encoding") && !(exchange().is_head() && *length == 0)) {
      h.Set("Content-Length", absl::StrCat(*length));
    }
    RemoveSelf();
    return PassNext(bb);
  }
  FilterTraits traits() const override { return {.needs_bytes = false}; }
};

}  // namespace brigade::filters

#endif  // BUILTIN_FILTERS_CONTENT_LENGTH_FILTER_H_
