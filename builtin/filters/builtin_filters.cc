#include "builtin/filters/builtin_filters.h"

#include "builtin/filters/chunk_filter.h"
#include "builtin/filters/content_length_filter.h"
#include "builtin/filters/dechunk_filter.h"
#include "builtin/filters/deflate_filter.h"
#include "builtin/filters/inflate_filter.h"
#include "builtin/filters/reverse_filter.h"

namespace brigade::filters {
namespace {

// For filters that take no options.
struct NoOptions {
  static const OptionTable<NoOptions>& Table() {
    static const auto* table = new OptionTable<NoOptions>();
    return *table;
  }
};

template <typename F, typename Options>
std::function<std::unique_ptr<OutputFilter>(const Options&)> Output() {
  return [](const Options& o) -> std::unique_ptr<OutputFilter> {
    if constexpr (std::is_constructible_v<F, const Options&>) {
      return std::make_unique<F>(o);
    } else {
      return std::make_unique<F>();
    }
  };
}

template <typename F, typename Options>
std::function<std::unique_ptr<InputFilter>(const Options&)> Input() {
  return [](const Options& o) -> std::unique_ptr<InputFilter> { return std::make_unique<F>(o); };
}

}  // namespace

[[nodiscard]] absl::Status RegisterBuiltinFilters(FilterRegistry& r) {
  absl::Status s = r.RegisterOutput<DeflateOptions>(
      {.name = "DEFLATE",
       .kind = FilterKind::kContentSet,
       .description = "gzip-compress the response when the client accepts gzip"},
      DeflateOptions::Table(), Output<DeflateFilter, DeflateOptions>());
  if (!s.ok()) return s;
  s = r.RegisterOutput<InflateOptions>(
      {.name = "INFLATE", .kind = FilterKind::kContentSet, .description = "decode gzip members"},
      InflateOptions::Table(), Output<InflateOutputFilter, InflateOptions>());
  if (!s.ok()) return s;
  s = r.RegisterInput<InflateOptions>(
      {.name = "INFLATE",
       .kind = FilterKind::kContentSet,
       .description = "decode a request body sent with Content-Encoding: gzip"},
      InflateOptions::Table(), Input<InflateInputFilter, InflateOptions>());
  if (!s.ok()) return s;
  s = r.RegisterOutput<NoOptions>(
      {.name = "CHUNK", .kind = FilterKind::kTranscode,
       .description = "HTTP/1.1 chunked transfer coding"},
      NoOptions::Table(), Output<ChunkFilter, NoOptions>());
  if (!s.ok()) return s;
  s = r.RegisterInput<DechunkOptions>(
      {.name = "DECHUNK",
       .kind = FilterKind::kProtocol,
       .description = "decode a chunked request body, strictly"},
      DechunkOptions::Table(), Input<DechunkFilter, DechunkOptions>());
  if (!s.ok()) return s;
  s = r.RegisterOutput<ReverseOptions>(
      {.name = "REVERSE",
       .kind = FilterKind::kResource,
       .description = "reverse each line's characters, keeping line terminators"},
      ReverseOptions::Table(), Output<ReverseFilter, ReverseOptions>());
  if (!s.ok()) return s;
  return r.RegisterOutput<NoOptions>(
      {.name = "CONTENT_LENGTH",
       .kind = FilterKind::kProtocol,
       .description = "set Content-Length when the whole body comes in one pass"},
      NoOptions::Table(), Output<ContentLengthFilter, NoOptions>());
}

}  // namespace brigade::filters
