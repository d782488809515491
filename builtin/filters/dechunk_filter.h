// DECHUNK: the strict, single-pass chunked decoder for request bodies (PROTOCOL input filter).
//
// It reads size lines, CRLFs and trailers from below with GETLINE and chunk data with READBYTES
// of exactly what the chunk still holds, so it never reads past the body (a pipelined next
// request stays below, untouched). Data buckets are passed up as they come, not copied.
// Rules (RFC 9112 section 7.1): hex size with an overflow cap, size-line length limit (max_line),
// chunk extensions validated, CRLF after each chunk's data mandatory, a bare LF refused,
// trailers parsed into the exchange's request_trailers (at most max_trailers fields and
// max_trailer_bytes bytes). End of input inside the body is an error; a decoded body over
// max_body is ResourceExhausted (413), refused at the size line of the chunk that would take it
// past the limit; every malformed case is InvalidArgument (400) with a
// message saying what was wrong and at which byte of the chunked stream.
// Options: max_body (0 = none), max_line (default 4096), max_trailers, max_trailer_bytes.
//
// Thread-safety: none; one instance per request.

#ifndef BUILTIN_FILTERS_DECHUNK_FILTER_H_
#define BUILTIN_FILTERS_DECHUNK_FILTER_H_

#include <string>

#include "filters/filter.h"
#include "filters/options.h"

namespace brigade::filters {

struct DechunkOptions {
  uint64_t max_body = 0;
  size_t max_line = 4096;
  size_t max_trailers = 100;
  size_t max_trailer_bytes = 16 * 1024;
  static const OptionTable<DechunkOptions>& Table();
};

class DechunkFilter : public InputFilter {
 public:
  explicit DechunkFilter(const DechunkOptions& options = DechunkOptions())
      : InputFilter("DECHUNK", FilterKind::kProtocol), options_(options) {}
  // Serves READBYTES (and INIT); other modes are Unimplemented on a chunked body.
  [[nodiscard]] absl::Status Read(Brigade& out, ReadMode mode, BlockMode block,
                                  size_t readbytes) override;
  uint64_t body_bytes() const { return body_bytes_; }
  // Chunk data goes up as it came (a file range stays one); size lines are read into memory.
  FilterTraits traits() const override {
    return {.needs_bytes = true, .preserves_flush = true,
            .max_buffered_bytes = options_.max_line + options_.max_trailer_bytes};
  }

 private:
  enum class State { kSize, kData, kDataCrlf, kTrailer, kDone };
  // Reads one whole line (CRLF or LF included) into line_, accumulating partial reads.
  // Returns true when line_ holds a complete line.
  [[nodiscard]] absl::StatusOr<bool> ReadLine(BlockMode block);
  [[nodiscard]] absl::Status Error(absl::string_view what, uint64_t at) const;

  DechunkOptions options_;
  State state_ = State::kSize;
  std::string line_;         // the line being read
  uint64_t remaining_ = 0;   // bytes left in the current chunk
  uint64_t offset_ = 0;      // bytes of the chunked stream consumed
  uint64_t body_bytes_ = 0;  // decoded bytes returned
  size_t trailer_bytes_ = 0;
};

}  // namespace brigade::filters

#endif  // BUILTIN_FILTERS_DECHUNK_FILTER_H_
