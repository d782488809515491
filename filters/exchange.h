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

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace brigade::filters {

// A case-insensitive multimap of header fields that keeps insertion order (field order matters
// to HTTP for repeated fields). O(n) lookups: messages hold tens of fields, not thousands.
class HeaderMap {
 public:
  using Field = std::pair<std::string, std::string>;

  // Appends a field, keeping any earlier ones of the same name.
  void Add(absl::string_view name, absl::string_view value);
  // Replaces every field of `name` with one field, in the place of the first.
  void Set(absl::string_view name, absl::string_view value);
  // Removes every field of `name`; returns how many were removed.
  size_t Remove(absl::string_view name);
  void Clear() { fields_.clear(); }

  // The first value of `name`, if any.
  std::optional<absl::string_view> Get(absl::string_view name) const;
  // Every value of `name`, in order.
  std::vector<absl::string_view> GetAll(absl::string_view name) const;
  // Every value of `name` joined with ", " (RFC 9110 section 5.3); empty when absent.
  std::string GetCombined(absl::string_view name) const;
  bool Has(absl::string_view name) const { return Get(name).has_value(); }

  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  std::vector<Field>::const_iterator begin() const { return fields_.begin(); }
  std::vector<Field>::const_iterator end() const { return fields_.end(); }

 private:
  static constexpr size_t kInitialFields = 8;
  // Removes the fields of `name` from `from` on; returns how many.
  size_t EraseFrom(std::vector<Field>::iterator from, absl::string_view name);
  std::vector<Field> fields_;
};

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

  bool is_head() const { return method == "HEAD"; }
  bool is_http11() const { return protocol == "HTTP/1.1"; }
};

}  // namespace brigade::filters

#endif  // FILTERS_EXCHANGE_H_
