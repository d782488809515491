// The gzip codec (RFC 1952) behind DEFLATE and INFLATE, kept apart from filter glue so that it
// can be tested and benchmarked against raw zlib directly.
//
// Two backends do the DEFLATE work behind one interface: zlib, the portable default, and Intel's
// ISA-L (igzip), about three times faster. GzipEncoder asks the backend for the gzip wrapper
// (header, CRC-32 and ISIZE trailer). GzipDecoder parses the gzip header itself, strictly
// (reserved flags, FEXTRA, FNAME, FCOMMENT, FHCRC checked), inflates the raw DEFLATE data with
// the backend, then checks the trailer's CRC-32 and size: headers, trailers, series of members
// and limits are checked by the same code whichever backend inflates the data.
//
// ISA-L has four levels, 0-3; zlib's 1-9 map onto them as 1-2 → 1, 3-5 → 2, 6-9 → 3, so that
// the default level 6 gets ISA-L's best compression (ISA-L's level 0 compresses worse than
// zlib's level 1 and is not used). ISA-L ignores mem_level. A gzip file is a series of members (RFC 1952 section 2.2), as gzip(1) reads it:
// bytes after a member must start another (1f 8b 08), or they are an error at their offset.
// Limits on total output and on the output/input ratio count the whole series and are checked
// after every output block, so a decompression bomb stops within one block of the limit.
//
// Thread-safety: none; one codec per stream.

#ifndef BUILTIN_FILTERS_GZIP_CODEC_H_
#define BUILTIN_FILTERS_GZIP_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace brigade::filters {

enum class GzipBackend { kZlib, kIsal };

// "zlib" or "isal".
const char* GzipBackendName(GzipBackend backend);
// Errors: another name → InvalidArgument.
[[nodiscard]] absl::StatusOr<GzipBackend> ParseGzipBackend(absl::string_view name);
// ParseGzipBackend into `out`, for option tables.
[[nodiscard]] absl::Status ParseGzipBackendInto(absl::string_view name, GzipBackend& out);

struct GzipEncoderOptions {
  int level = 6;         // 1-9
  int window_bits = 15;  // 9-15: log2 of the history window
  int mem_level = 8;     // 1-9 (zlib only)
  GzipBackend backend = GzipBackend::kZlib;
};

// The ISA-L level (1-3) for a zlib level (1-9).
int IsalLevel(int zlib_level);
// What one ISA-L encoder at `zlib_level` holds: its stream state and its level buffer.
uint64_t IsalEncoderStateBytes(int zlib_level);
// What one decoder's backend holds: its window and tables.
uint64_t DecoderStateBytes(GzipBackend backend);

class GzipEncoder {
 public:
  // Errors: options out of range → InvalidArgument; zlib failure → Internal.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<GzipEncoder>> Create(
      const GzipEncoderOptions& options);
  ~GzipEncoder();
  GzipEncoder(const GzipEncoder&) = delete;
  GzipEncoder& operator=(const GzipEncoder&) = delete;

  // kFull: a sync flush after which later output no longer refers back to earlier input (a
  // full flush), which costs compression and lets ReleaseMemory give the history up.
  enum class Mode { kNone, kSync, kFull, kFinish };
  struct Step {
    size_t consumed = 0;  // input bytes taken
    size_t produced = 0;  // output bytes written
    bool done = false;    // kFinish completed: the trailer is written
  };
  // Compresses from `in` into `out` (at most out_size bytes). With kSync/kFull/kFinish, call
  // again with the remaining input (possibly none) until the step writes less than out_size
  // bytes (kSync, kFull) or reports done (kFinish).
  [[nodiscard]] absl::StatusOr<Step> Deflate(absl::string_view in, char* out, size_t out_size,
                                             Mode mode);
  // Gives the pages of the backend's window and tables back to the kernel, for a stream that
  // waits on a client that stopped reading; they come back, zeroed, when it compresses again.
  // zlib only (releases_memory()); nothing on ISA-L. REQUIRES: the last Deflate calls made a
  // whole kFull flush (one that wrote less than out_size bytes) of all the input given.
  void ReleaseMemory();
  bool releases_memory() const;

  uint64_t total_in() const { return total_in_; }
  uint64_t total_out() const { return total_out_; }

  class Engine;  // one per backend (gzip_codec.cc)

 private:
  explicit GzipEncoder(std::unique_ptr<Engine> engine);
  std::unique_ptr<Engine> engine_;
  uint64_t total_in_ = 0;
  uint64_t total_out_ = 0;
};

struct GzipDecoderOptions {
  uint64_t max_output = 0;  // 0 = unlimited; over it → ResourceExhausted
  uint64_t max_ratio = 0;   // 0 = unlimited; output/input over it → ResourceExhausted
  // The ratio is enforced once the output passes this many bytes, so that small, highly
  // compressible bodies (a run of spaces) are not refused.
  uint64_t ratio_floor = 64 * 1024;
  size_t max_header = 64 * 1024;  // FEXTRA + FNAME + FCOMMENT bytes, bounded
  GzipBackend backend = GzipBackend::kZlib;
};

class GzipDecoder {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<GzipDecoder>> Create(
      const GzipDecoderOptions& options);
  ~GzipDecoder();
  GzipDecoder(const GzipDecoder&) = delete;
  GzipDecoder& operator=(const GzipDecoder&) = delete;

  struct Step {
    size_t consumed = 0;
    size_t produced = 0;
  };
  // Decodes from `in` into `out`. Returns how much of each was used; a partial header or
  // trailer is kept inside the decoder. When `out` fills up, call again (with the unconsumed
  // input, or none) to drain what zlib still holds.
  // Errors: malformed header, data, trailer, or bytes after a member that do not start a new
  // one → InvalidArgument (or DataLoss for a CRC/size mismatch) with the input offset;
  // limits → ResourceExhausted. A call that decoded bytes before finding malformed input
  // returns them; that call's error comes from the next call (and every later one).
  [[nodiscard]] absl::StatusOr<Step> Decode(absl::string_view in, char* out, size_t out_size);
  // OK iff the input ended after a whole member, trailer included; otherwise InvalidArgument
  // ("truncated ...") saying where it stopped.
  [[nodiscard]] absl::Status Finish() const;
  // True between a member's trailer and the first byte of another.
  bool done() const { return state_ == State::kDone; }
  uint64_t members() const { return members_; }
  uint64_t total_in() const { return offset_; }
  uint64_t total_out() const { return total_out_; }

  class Inflater;  // raw DEFLATE, one per backend (gzip_codec.cc)

 private:
  enum class State { kHeader, kData, kTrailer, kDone };
  GzipDecoder(const GzipDecoderOptions& options, std::unique_ptr<Inflater> inflater);
  // Tries to parse header_ (which began at input byte `start`) as a complete header; returns
  // its length, 0 if more is needed.
  [[nodiscard]] absl::StatusOr<size_t> ParseHeader(uint64_t start) const;
  [[nodiscard]] absl::Status TrailingGarbage(uint64_t at) const;
  [[nodiscard]] absl::Status CheckLimits() const;
  // Decode's steps; `step` counts what was done before any error.
  [[nodiscard]] absl::Status DecodeSteps(absl::string_view in, char* out, size_t out_size,
                                         Step& step);
  // Resets for the member that follows a whole one.
  [[nodiscard]] absl::Status StartMember();
  [[nodiscard]] absl::Status Error(absl::string_view what) const;

  GzipDecoderOptions options_;
  std::unique_ptr<Inflater> inflater_;
  State state_ = State::kHeader;
  std::string header_;   // header bytes gathered so far
  std::string trailer_;  // trailer bytes gathered so far
  uint32_t crc_ = 0;          // of the current member
  uint64_t member_out_ = 0;   // decoded bytes of the current member
  uint64_t members_ = 0;      // members decoded whole
  uint64_t total_out_ = 0;    // over every member
  uint64_t offset_ = 0;  // compressed input bytes consumed
  absl::Status failed_;  // the first error, returned by every later call
};

}  // namespace brigade::filters

#endif  // BUILTIN_FILTERS_GZIP_CODEC_H_
