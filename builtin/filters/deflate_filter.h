// DEFLATE: the gzip output filter (CONTENT_SET), after Apache's mod_deflate and nginx's gzip
// filter.
//
// It decides once, at the first brigade, from the headers:
//   - the request accepts gzip (Accept-Encoding with q-values; "gzip;q=0" and "identity" alone
//     refuse, "*" accepts);
//   - the response has no Content-Encoding other than identity, its status is not 1xx/204/304,
//     and the request is not HEAD;
//   - the type is selected: with types=* (the default, as with SetOutputFilter) anything; with
//     a list (AddOutputFilterByType) only those types; with types=default the built-in list
//     (text/*, application/json, application/javascript, image/svg+xml);
//   - the body is at least min_length bytes, when its length is known.
// Declining, it removes itself and passes everything through untouched; the reason goes into the
// request note "deflate" ("no-gzip: client does not accept gzip"), and "Vary: Accept-Encoding"
// is added when the decision depended on Accept-Encoding. Compressing, it sets
// "Content-Encoding: gzip" and "Vary: Accept-Encoding", removes Content-Length, turns a strong
// ETag weak, and shrinks the window for a small known length.
//
// Streaming: output goes out in blocks of block_size bytes, passed on at least every pass_bytes
// and at the end of every input brigade; FLUSH → Z_SYNC_FLUSH and everything compressed so far
// goes out before the FLUSH; EOS → the gzip trailer, then EOS, and the filter removes itself.
// Memory per response is bounded by the backend's state plus pass_bytes, whatever the body size;
// while the client does not read (OnStalled), zlib's state goes back to the kernel.
// Options: level (1-9, default 6), window (9-15), memlevel (1-9), block, min_length, types, and
// backend (zlib, the default, or isal: ISA-L, see gzip_codec.h).
//
// Thread-safety: none; one instance per response.

#ifndef BUILTIN_FILTERS_DEFLATE_FILTER_H_
#define BUILTIN_FILTERS_DEFLATE_FILTER_H_

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "brigade/requires.h"
#include "builtin/filters/gzip_codec.h"
#include "filters/filter.h"
#include "filters/options.h"

namespace brigade::filters {

struct DeflateOptions {
  GzipEncoderOptions codec;
  size_t block_size = 8192;         // output block (bytes)
  // Compressed bytes held before passing on. 16 KiB: what CORE_OUT holds of a stalled stream
  // stays small, at no cost in req/s measured against 64 KiB (wrk, 100 KiB, level 1).
  size_t pass_bytes = 16 * 1024;
  uint64_t min_length = 20;         // below this known length, compressing only costs
  enum class Types { kAll, kList, kDefault } types = Types::kAll;
  std::vector<std::string> type_list;  // lower case; "text/*" patterns allowed

  // level, window, memlevel, block, min_length and types ("*", "default", or a list separated
  // by ';' or spaces).
  static const OptionTable<DeflateOptions>& Table();
};

class DeflateFilter : public OutputFilter {
 public:
  // Errors: codec options out of range → InvalidArgument.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<DeflateFilter>> Create(
      const DeflateOptions& options);
  // REQUIRES: `options` as DeflateOptions::Table() accepts them (the codec's ranges).
  explicit DeflateFilter(const DeflateOptions& options)
      : OutputFilter("DEFLATE", FilterKind::kContentSet), options_(options) {
    BRIGADE_REQUIRES(options.codec.level >= 1 && options.codec.level <= 9 &&
                     options.codec.window_bits >= 9 && options.codec.window_bits <= 15 &&
                     options.codec.mem_level >= 1 && options.codec.mem_level <= 9 &&
                     options.block_size > 0 && options.pass_bytes > 0);
  }

  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override;
  // With zlib: a full flush, whose output waits with the rest, then the compressor's window,
  // hash chains and pending buffer go back to the kernel (GzipEncoder::ReleaseMemory) until
  // compressing resumes; the stream goes on as one gzip member, a little larger. ISA-L's
  // state is kept.
  void OnStalled() override;
  FilterTraits traits() const override;

  struct Decision {
    bool compress = false;
    bool vary = false;   // the answer depended on Accept-Encoding
    std::string note;    // for the request note "deflate"
  };
  // The decision for a response whose first brigade is `first`. Public for tests.
  Decision Decide(const Brigade& first) const;

 private:
  [[nodiscard]] absl::Status Start();
  void EditHeaders();
  bool TypeSelected() const;
  // Compresses `data` (or flushes with kSync/kFinish), cutting output into blocks.
  [[nodiscard]] absl::Status Deflate(absl::string_view data, GzipEncoder::Mode mode);
  // Moves the compressed bytes not yet in a bucket into out_.
  void EmitBlock();
  size_t BlockLimit() const { return std::min(block_->capacity(), options_.block_size); }
  [[nodiscard]] absl::StatusOr<Flow> PassOut();

  DeflateOptions options_;
  bool started_ = false;
  std::unique_ptr<GzipEncoder> encoder_;
  std::unique_ptr<Brigade> pending_;  // input not yet compressed (set aside on kAgain)
  std::unique_ptr<Brigade> out_;      // compressed output not yet passed
  uint64_t out_bytes_ = 0;
  Ref<HeapBlock> block_;  // the block being filled
  size_t block_start_ = 0;  // first byte of block_ not yet in a bucket
  bool released_ = false;   // the encoder's memory was given back; nothing compressed since
  absl::Status failed_;     // an error of OnStalled's flush, for the next Filter call
};

void AddVaryAcceptEncoding(HeaderMap& headers);

}  // namespace brigade::filters

#endif  // BUILTIN_FILTERS_DEFLATE_FILTER_H_
