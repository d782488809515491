// INFLATE: decodes gzip (RFC 1952) bodies, as an input filter for request bodies sent with
// "Content-Encoding: gzip" and as an output filter for decoding a stream (CONTENT_SET both).
//
// Input: active only when the request says Content-Encoding gzip (or x-gzip); it then removes
// that header and Content-Length (the decoded length differs) and serves READBYTES reads of the
// decoded body. Output: decodes whatever it is given unless the response names another
// Content-Encoding, and removes a gzip Content-Encoding and Content-Length.
// The header is parsed strictly, CRC-32 and size are checked after each member, and a series
// of members decodes as one body, as gzip -d reads it (bytes after a member that do not start
// another are an error). Limits on the decoded size (limit) and on the decoded/compressed ratio
// (ratio) count the whole series and are checked after every decoded block, so a decompression
// bomb stops within one block of the limit with ResourceExhausted (413). Malformed data is
// InvalidArgument or DataLoss (400), with the compressed byte offset. Memory: one decoded block
// plus the backend's window (zlib's 32 KiB, or ISA-L's state).
// Options: limit (bytes, 0 = none), ratio (0 = none), block (decoded block size), backend
// (zlib, the default, or isal).
//
// Thread-safety: none; one instance per request or response.

#ifndef BUILTIN_FILTERS_INFLATE_FILTER_H_
#define BUILTIN_FILTERS_INFLATE_FILTER_H_

#include <memory>

#include "filters/filter.h"
#include "builtin/filters/gzip_codec.h"
#include "filters/options.h"

namespace brigade::filters {

struct InflateOptions {
  GzipDecoderOptions codec;
  size_t block_size = 8192;
  // limit, ratio and block.
  static const OptionTable<InflateOptions>& Table();
};

class InflateInputFilter : public InputFilter {
 public:
  explicit InflateInputFilter(const InflateOptions& options)
      : InputFilter("INFLATE", FilterKind::kContentSet), options_(options) {}
  // Serves READBYTES (and INIT); other modes make no sense on a compressed body and are
  // Unimplemented.
  [[nodiscard]] absl::Status Read(Brigade& out, ReadMode mode, BlockMode block,
                                  size_t readbytes) override;
  FilterTraits traits() const override {
    return {.needs_bytes = true, .preserves_flush = true,
            .max_buffered_bytes = DecoderStateBytes(options_.codec.backend) + 2 * options_.block_size};
  }

 private:
  // Decodes from pending_in_ until `want` decoded bytes are ready or input runs out.
  [[nodiscard]] absl::Status DecodePending(size_t want);

  InflateOptions options_;
  bool started_ = false;
  bool eos_below_ = false;
  absl::Status failed_;  // a decoding error, returned once what came before it is read
  std::unique_ptr<GzipDecoder> decoder_;
  std::unique_ptr<Brigade> pending_in_;   // compressed, not yet decoded
  std::unique_ptr<Brigade> pending_out_;  // decoded, not yet returned
};

class InflateOutputFilter : public OutputFilter {
 public:
  explicit InflateOutputFilter(const InflateOptions& options)
      : OutputFilter("INFLATE", FilterKind::kContentSet), options_(options) {}
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override;
  FilterTraits traits() const override {
    return {.needs_bytes = true, .preserves_flush = true,
            .max_buffered_bytes =
                DecoderStateBytes(options_.codec.backend) + 64 * 1024 + options_.block_size};
  }

 private:
  InflateOptions options_;
  bool started_ = false;
  std::unique_ptr<GzipDecoder> decoder_;
};

}  // namespace brigade::filters

#endif  // BUILTIN_FILTERS_INFLATE_FILTER_H_
