#include "builtin/filters/reverse_filter.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace brigade::filters {
namespace {

// Length of the UTF-8 sequence starting at s[i], or 0 when it is not valid UTF-8 (overlongs,
// surrogates and code points past U+10FFFF included, per RFC 3629).
size_t Utf8Length(absl::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (cc & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0;
  }
  return n;
}

bool IsTerminator(char c) { return c == '\r' || c == '\n'; }

}  // namespace

std::string ReverseLine(absl::string_view line) {
  std::string out(line.size(), '\0');
  size_t i = 0;
  while (i < line.size()) {
    size_t n = Utf8Length(line, i);
    if (n == 0) {
      // Not UTF-8: byte order.
      std::reverse_copy(line.begin(), line.end(), out.begin());
      return out;
    }
    // The code point's bytes keep their order at the mirrored position.
    std::copy(line.begin() + i, line.begin() + i + n, out.end() - i - n);
    i += n;
  }
  return out;
}

const OptionTable<ReverseOptions>& ReverseOptions::Table() {
  using O = ReverseOptions;
  static const auto* table =
      &(*new OptionTable<O>())
           .Int("max_line", [](O& o) -> size_t& { return o.max_line; }, 1, 1 << 30,
                "longest line held, in bytes")
           .String("signature", [](O& o) -> std::string& { return o.signature; },
                   "a last line appended at the end");
  return *table;
}

absl::Status ReverseFilter::AddText(absl::string_view data, std::string& out) {
  size_t i = 0;
  while (i < data.size()) {
    size_t end = i;
    while (end < data.size() && !IsTerminator(data[end])) ++end;
    line_.append(data.data() + i, end - i);
    if (line_.size() > max_line_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "REVERSE: line longer than ", max_line_, " bytes at byte ", offset_ + end));
    }
    if (end == data.size()) break;  // the line goes on in the next bucket
    out += ReverseLine(line_);
    line_.clear();
    size_t run = end;
    while (run < data.size() && IsTerminator(data[run])) ++run;
    out.append(data.data() + end, run - end);
    i = run;
  }
  offset_ += data.size();
  return absl::OkStatus();
}

absl::StatusOr<Flow> ReverseFilter::Filter(Brigade& bb) {
  if (!started_ && !bb.empty()) {
    started_ = true;
    if (!signature_.empty()) exchange().response_headers.Remove("Content-Length");
  }
  Brigade out(bb.allocator());
  std::string text;
  auto emit = [&]() -> absl::Status {
    if (text.empty()) return absl::OkStatus();
    absl::Status s = out.WriteOwned(std::move(text));
    text.clear();
    return s;
  };
  while (!bb.empty()) {
    Bucket* b = bb.front();
    if (b->is_metadata()) {
      if (b->is_eos()) {
        text += ReverseLine(line_);
        line_.clear();
        text += signature_;
      }
      if (absl::Status s = emit(); !s.ok()) return s;
      out.Append(bb.Remove(b));
      continue;
    }
    absl::StatusOr<absl::string_view> data = b->Read();
    if (!data.ok()) return data.status();
    if (absl::Status s = AddText(*data, text); !s.ok()) return s;
    bb.Delete(b);
  }
  if (absl::Status s = emit(); !s.ok()) return s;
  return PassNext(out);
}

}  // namespace brigade::filters
