#include "builtin/filters/reverse_filter.h"

#include <cstdint>
#include <cstring>

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

// The first CR or LF at or after `from`, or data.size(). memchr scans in vector steps;
// `maybe_cr` false (no CR anywhere in `data`) saves the second scan.
size_t FindTerminator(absl::string_view data, size_t from, bool maybe_cr) {
  const char* begin = data.data() + from;
  size_t left = data.size() - from;
  const void* lf = memchr(begin, '\n', left);
  size_t span = lf == nullptr ? left : static_cast<size_t>(static_cast<const char*>(lf) - begin);
  if (maybe_cr) {
    const void* cr = memchr(begin, '\r', span);
    if (cr != nullptr) span = static_cast<size_t>(static_cast<const char*>(cr) - begin);
  }
  return from + span;
}

bool IsAscii(absl::string_view s) {
  uint64_t any = 0;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t word;
    memcpy(&word, s.data() + i, 8);
    any |= word;
  }
  for (; i < s.size(); ++i) any |= static_cast<unsigned char>(s[i]);
  return (any & 0x8080808080808080u) == 0;
}

// Writes `s`'s bytes in reverse order to `dst` (s.size() bytes), eight at a time.
void ReverseBytes(absl::string_view s, char* dst) {
  size_t n = s.size();
  const char* src = s.data() + n;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    memcpy(&word, src - i - 8, 8);
    word = __builtin_bswap64(word);
    memcpy(dst + i, &word, 8);
  }
  for (; i < n; ++i) dst[i] = src[-1 - static_cast<ptrdiff_t>(i)];
}

// Writes `line` reversed to `dst` (line.size() bytes): by code point when it is valid UTF-8,
// else by byte. For ASCII both are the same.
void ReverseInto(absl::string_view line, char* dst) {
  if (IsAscii(line)) return ReverseBytes(line, dst);
  size_t i = 0;
  while (i < line.size()) {
    size_t n = Utf8Length(line, i);
    if (n == 0) return ReverseBytes(line, dst);  // not UTF-8: byte order
    // The code point's bytes keep their order at the mirrored position.
    memcpy(dst + line.size() - i - n, line.data() + i, n);
    i += n;
  }
}

}  // namespace

std::string ReverseLine(absl::string_view line) {
  std::string out(line.size(), '\0');
  ReverseInto(line, out.data());
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
  // The output of a line is exactly as long as the line: room for the held part and all of
  // `data` is enough, and what is held back again is trimmed at the end.
  size_t start = out.size();
  out.resize(start + line_.size() + data.size());
  char* dst = out.data() + start;
  // Once per piece of input rather than per line: lines are short.
  bool ascii = IsAscii(data);
  bool maybe_cr = memchr(data.data(), '\r', data.size()) != nullptr;
  size_t i = 0;
  while (i < data.size()) {
    size_t end = FindTerminator(data, i, maybe_cr);
    if (line_.size() + (end - i) > max_line_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "REVERSE: line longer than ", max_line_, " bytes at byte ", offset_ + end));
    }
    if (end == data.size()) {  // the line goes on in the next bucket
      line_.append(data.data() + i, end - i);
      break;
    }
    absl::string_view line = data.substr(i, end - i);
    if (!line_.empty()) {
      line_.append(line.data(), line.size());
      ReverseInto(line_, dst);
      line = line_;
    } else if (ascii) {
      ReverseBytes(line, dst);
    } else {
      ReverseInto(line, dst);
    }
    dst += line.size();
    line_.clear();
    size_t run = end;
    while (run < data.size() && IsTerminator(data[run])) ++run;
    memcpy(dst, data.data() + end, run - end);
    dst += run - end;
    i = run;
  }
  out.resize(static_cast<size_t>(dst - out.data()));
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
