#include "filters/builtin_filters.h"

#include "filters/chunk_filter.h"
#include "filters/content_length_filter.h"
#include "filters/dechunk_filter.h"
#include "filters/deflate_filter.h"
#include "filters/inflate_filter.h"
#include "filters/reverse_filter.h"

namespace brigade::filters {
namespace {

using OutputResult = absl::StatusOr<std::unique_ptr<OutputFilter>>;
using InputResult = absl::StatusOr<std::unique_ptr<InputFilter>>;

}  // namespace

absl::Status RegisterBuiltinFilters(FilterRegistry& r) {
  absl::Status s = r.RegisterOutput(
      {.name = "DEFLATE",
       .kind = FilterKind::kContentSet,
       .description = "gzip-compress the response when the client accepts gzip",
       .options = {{"level", "compression level 1-9 (default 6)"},
                   {"window", "window bits 9-15 (default 15)"},
                   {"memlevel", "zlib memory level 1-9 (default 8)"},
                   {"block", "output block bytes (default 8192)"},
                   {"min_length", "smallest known length worth compressing (default 20)"},
                   {"types", "* (any type, default), default (text/* and friends), or a "
                             "';'-separated list of media types"}}},
      [](FilterOptions& o) -> OutputResult {
        absl::StatusOr<DeflateOptions> d = DeflateOptions::FromOptions(o);
        if (!d.ok()) return d.status();
        absl::StatusOr<std::unique_ptr<DeflateFilter>> f = DeflateFilter::Create(*d);
        if (!f.ok()) return f.status();
        return OutputResult(std::move(*f));
      });
  if (!s.ok()) return s;
  const std::vector<OptionDoc> inflate_options = {
      {"limit", "largest decoded size in bytes, 0 = none (default 0)"},
      {"ratio", "largest decoded/compressed ratio, 0 = none (default 0)"},
      {"block", "decoded block bytes (default 8192)"}};
  s = r.RegisterOutput({.name = "INFLATE",
                        .kind = FilterKind::kContentSet,
                        .description = "decode a gzip stream",
                        .options = inflate_options},
                       [](FilterOptions& o) -> OutputResult {
                         absl::StatusOr<InflateOptions> i = InflateOptions::FromOptions(o);
                         if (!i.ok()) return i.status();
                         return OutputResult(std::make_unique<InflateOutputFilter>(*i));
                       });
  if (!s.ok()) return s;
  s = r.RegisterInput({.name = "INFLATE",
                       .kind = FilterKind::kContentSet,
                       .description = "decode a request body sent with Content-Encoding: gzip",
                       .options = inflate_options},
                      [](FilterOptions& o) -> InputResult {
                        absl::StatusOr<InflateOptions> i = InflateOptions::FromOptions(o);
                        if (!i.ok()) return i.status();
                        return InputResult(std::make_unique<InflateInputFilter>(*i));
                      });
  if (!s.ok()) return s;
  s = r.RegisterOutput({.name = "CHUNK",
                        .kind = FilterKind::kTranscode,
                        .description = "HTTP/1.1 chunked transfer coding"},
                       [](FilterOptions&) -> OutputResult {
                         return OutputResult(std::make_unique<ChunkFilter>());
                       });
  if (!s.ok()) return s;
  s = r.RegisterInput(
      {.name = "DECHUNK",
       .kind = FilterKind::kProtocol,
       .description = "decode a chunked request body, strictly",
       .options = {{"max_body", "largest decoded body in bytes, 0 = none (default 0)"},
                   {"max_line", "longest size or trailer line (default 4096)"},
                   {"max_trailers", "most trailer fields (default 100)"},
                   {"max_trailer_bytes", "most trailer bytes (default 16384)"}}},
      [](FilterOptions& o) -> InputResult {
        absl::StatusOr<DechunkOptions> d = DechunkOptions::FromOptions(o);
        if (!d.ok()) return d.status();
        return InputResult(std::make_unique<DechunkFilter>(*d));
      });
  if (!s.ok()) return s;
  s = r.RegisterOutput(
      {.name = "REVERSE",
       .kind = FilterKind::kResource,
       .description = "reverse each line's characters, keeping line terminators",
       .options = {{"max_line", "longest line held, in bytes (default 1048576)"},
                   {"signature", "a last line appended at the end"}}},
      [](FilterOptions& o) -> OutputResult {
        absl::StatusOr<std::unique_ptr<ReverseFilter>> f = ReverseFilter::FromOptions(o);
        if (!f.ok()) return f.status();
        return OutputResult(std::move(*f));
      });
  if (!s.ok()) return s;
  return r.RegisterOutput(
      {.name = "CONTENT_LENGTH",
       .kind = FilterKind::kProtocol,
       .description = "set Content-Length when the whole body comes in one pass"},
      [](FilterOptions&) -> OutputResult {
        return OutputResult(std::make_unique<ContentLengthFilter>());
      });
}

}  // namespace brigade::filters
