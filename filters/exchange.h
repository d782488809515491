// Exchange: what filters may know of the HTTP message they are filtering — method, protocol,
// status, request and response headers and trailers, and per-request notes.
//
// handlers::Request derives from it; filters see only this part, so filters/ does not depend on
// handlers/. A filter run outside a request (connection filters, the brigade-filter tool) gets
// the chain's Exchange, which may be a default-constructed one.
//
// Thread-safety: none; an exchange belongs to its connection's thread.

#ifndef FILTERS_EXCHANGE_H_
#define FILTERS_EXCHANGE_H_

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"

namespace brigade::filters {

// Whether two field names are one name, in any case (RFC 9110 5.1). Inline, for the lookups
// every filter makes on every response: names of different lengths (most pairs) differ at
// once; names spelled alike (most of the rest) are compared a word at a time, the last word
// overlapping the one before it; only names that differ somewhere are compared byte by byte,
// two bytes matching when equal or when they differ only in bit 0x20 and are letters.
inline bool FieldNamesEqual(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  const size_t n = a.size();
  auto same = [&a, &b](size_t at, auto word) {
    decltype(word) x;
    decltype(word) y;
    memcpy(&x, a.data() + at, sizeof(word));
    memcpy(&y, b.data() + at, sizeof(word));
    return x == y;
  };
  if (n >= 8) {
    size_t i = 0;
    while (i + 8 < n && same(i, uint64_t{})) i += 8;
    if (i + 8 >= n && same(n - 8, uint64_t{})) return true;
  } else if (n >= 4) {
    if (same(0, uint32_t{}) && same(n - 4, uint32_t{})) return true;
  }
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]);
    unsigned char y = static_cast<unsigned char>(b[i]);
    if (x == y) continue;
    unsigned char lower = x | 0x20;
    if ((x ^ y) != 0x20 || lower < 'a' || lower > 'z') return false;
  }
  return true;
}

// A case-insensitive multimap of header fields that keeps insertion order (field order matters
// to HTTP for repeated fields). O(n) lookups: messages hold tens of fields, not thousands.
class HeaderMap {
 public:
  // Views of the map's own copy of the text: valid until the map next changes.
  using Field = std::pair<absl::string_view, absl::string_view>;

  HeaderMap() = default;
  HeaderMap(const HeaderMap& other);
  HeaderMap& operator=(const HeaderMap& other);
  // A move takes the storage: views of the source's fields stay valid, now the target's.
  HeaderMap(HeaderMap&& other) = default;
  HeaderMap& operator=(HeaderMap&& other) = default;

  // Appends a field, keeping any earlier ones of the same name.
  void Add(absl::string_view name, absl::string_view value);
  // Appends `fields` in order, as one Add each would, with one reservation for all their text:
  // a handler that sets its response's fields together (the static handler's five) pays for
  // the bookkeeping once.
  void Add(std::initializer_list<Field> fields);
  // Replaces every field of `name` with one field, in the place of the first.
  void Set(absl::string_view name, absl::string_view value);
  // Removes every field of `name`; returns how many were removed.
  size_t Remove(absl::string_view name);
  void Clear() {
    if (store_ != nullptr) ClearStore();
  }

  // The first value of `name`, if any.
  std::optional<absl::string_view> Get(absl::string_view name) const;
  // Every value of `name`, in order.
  std::vector<absl::string_view> GetAll(absl::string_view name) const;
  // Every value of `name` joined with ", " (RFC 9110 section 5.3); empty when absent.
  std::string GetCombined(absl::string_view name) const;
  bool Has(absl::string_view name) const { return Get(name).has_value(); }

  size_t size() const { return store_ ? store_->fields.size() : 0; }
  bool empty() const { return size() == 0; }
  // Text bytes stored since the last Clear or compaction, the live fields' and what Set and
  // Remove left behind: what the map's text costs.
  size_t stored_bytes() const { return store_ ? store_->stored : 0; }
  using const_iterator = const Field*;
  const_iterator begin() const { return store_ ? store_->fields.data() : nullptr; }
  const_iterator end() const { return store_ ? begin() + store_->fields.size() : nullptr; }

 private:
  // A message's fields, and their text, fit in one allocation mostly (a browser's request head
  // is 0.5-1 KiB; a response's, less), made when the first field comes: an empty map (a
  // connection's, the trailers) costs a pointer. The text is sized so that the Store takes
  // 1,024 bytes: glibc's per-thread cache serves requests of up to 1,032, and a larger one
  // costs several hundred instructions more in malloc and free.
  static constexpr size_t kInlineFields = 12;
  static constexpr size_t kInlineText = 560;
  static constexpr size_t kMinBlock = 1024;

  struct Block {
    std::unique_ptr<char[]> data;
    size_t size;
  };
  struct Store {
    absl::InlinedVector<Field, kInlineFields> fields;
    // The text: the inline block, then heap blocks, none ever moved or resized.
    std::vector<Block> blocks;
    char* tail = text;  // where the next text goes
    size_t tail_left = kInlineText;
    size_t stored = 0;  // text bytes stored, live or left behind
    size_t live = 0;    // text bytes of the fields in `fields`
    // A bit for each name added since the last Clear (NameBit): most lookups of a name the
    // message does not have, such as a filter's check for a field responses rarely carry,
    // end here without a scan. A removed name's bit stays, which costs only a scan.
    uint64_t names = 0;
    // Where Get last found a name, the first field of it: the protocol filters each look up
    // the same field of a response (Content-Length) in turn. Forgotten when fields move.
    uint32_t last_found = UINT32_MAX;
    char text[kInlineText];
  };
  static_assert(sizeof(Store) <= 1024);

  // `n` bytes of text storage, valid until Clear or a compaction, which this may make first
  // unless `holds_source()` says the text to be copied there is a view of this map's own.
  template <typename HoldsSource>
  char* Reserve(size_t n, HoldsSource holds_source);
  // Appends a field whose text `at` has room for.
  void Append(char* at, absl::string_view name, absl::string_view value);
  // Whether `s` points into this map's text.
  bool Holds(absl::string_view s) const;
  // Rewrites the text of the live fields into fresh storage, dropping what Set and Remove left.
  void Compact();
  void ClearStore();
  void CopyFrom(const HeaderMap& other);
  // Removes the fields of `name` from position `from` on; returns how many.
  size_t EraseFrom(size_t from, absl::string_view name);

  std::unique_ptr<Store> store_;
};

// Whether `s` is `literal`: the length first, then bytes of a known count, which the compiler
// turns into a word compare or two where std::string's == calls memcmp. The method and protocol
// tests that filters make on every request use it.
template <size_t N>
inline bool IsLiteral(const std::string& s, const char (&literal)[N]) {
  return s.size() == N - 1 && memcmp(s.data(), literal, N - 1) == 0;
}

struct Exchange {
  std::string method = "GET";
  std::string uri = "/";
  std::string protocol = "HTTP/1.1";
  int status = 200;
  HeaderMap request_headers;
  HeaderMap response_headers;
  HeaderMap request_trailers;   // filled by DECHUNK
  HeaderMap response_trailers;  // written by CHUNK at EOS
  // Per-request notes, e.g. why DEFLATE declined ("no-gzip: client refuses"), for the log.
  absl::flat_hash_map<std::string, std::string> notes;

  bool is_head() const { return IsLiteral(method, "HEAD"); }
  bool is_http11() const { return IsLiteral(protocol, "HTTP/1.1"); }
};

}  // namespace brigade::filters

#endif  // FILTERS_EXCHANGE_H_
