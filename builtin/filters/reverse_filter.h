// REVERSE: mod_perl's reverse output filter (RESOURCE): each line's characters reversed, its
// terminator run (the CR and LF bytes after it) kept unchanged after it.
//
// A line that is valid UTF-8 (ASCII included) is reversed by code point, so the output stays
// valid UTF-8; any other line is reversed byte by byte. A partial line is held (set aside)
// until the rest arrives or EOS; it is held across FLUSH too, because reversing half a line
// would be wrong — so FLUSH delivers every complete line, and traits() says preserves_flush
// is false. A line longer than max_line bytes is refused (ResourceExhausted), which bounds
// what is held. The length of the body does not change, so Content-Length is kept, unless a
// signature (the `signature` option: text appended as a last line at EOS, as mod_perl's test
// filter does) makes it longer.
// Options: max_line (default 1 MiB), signature.
//
// Thread-safety: none; one instance per response.

#ifndef BUILTIN_FILTERS_REVERSE_FILTER_H_
#define BUILTIN_FILTERS_REVERSE_FILTER_H_

#include <string>

#include "filters/filter.h"
#include "filters/options.h"

namespace brigade::filters {

struct ReverseOptions {
  size_t max_line = 1 << 20;  // the longest line held
  std::string signature;      // a last line added at the end, when not empty
  static const OptionTable<ReverseOptions>& Table();
};

class ReverseFilter : public OutputFilter {
 public:
  explicit ReverseFilter(const ReverseOptions& options = ReverseOptions())
      : OutputFilter("REVERSE", FilterKind::kResource),
        max_line_(options.max_line),
        signature_(options.signature.empty() ? "" : options.signature + "\n") {}

  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override;
  FilterTraits traits() const override {
    return {.needs_bytes = true, .preserves_flush = false, .max_buffered_bytes = max_line_};
  }

 private:
  // Reverses the bytes of `data` into `out`, holding a trailing partial line in line_.
  [[nodiscard]] absl::Status AddText(absl::string_view data, std::string& out);

  size_t max_line_;
  std::string signature_;
  bool started_ = false;
  std::string line_;     // the current line's characters, not yet complete
  uint64_t offset_ = 0;  // input bytes seen, for error messages
};

// Reverses `line` by code point if it is valid UTF-8, else by byte. Exposed for tests.
std::string ReverseLine(absl::string_view line);

}  // namespace brigade::filters

#endif  // BUILTIN_FILTERS_REVERSE_FILTER_H_
