// CHUNK: HTTP/1.1 chunked transfer coding of a response body (TRANSCODE), after nginx's
// chunked filter.
//
// Active for an HTTP/1.1 response with no Content-Length that may carry a body (not HEAD, not
// 1xx/204/304); it then sets "Transfer-Encoding: chunked". Each run of data buckets between
// metadata (or up to the end of a brigade) becomes one chunk: a small size-line bucket, the
// body buckets passed on untouched (no copy: file buckets stay file buckets), and one shared
// static CRLF bucket. FLUSH ends the chunk in progress; EOS writes the last chunk "0", the
// exchange's response_trailers, and the final CRLF. Empty data makes no chunk (a zero-size
// chunk would end the body). After an ERROR bucket no last chunk is written, so a client sees
// a truncated body rather than a complete one. Nothing is held between calls.
//
// Thread-safety: none; one instance per response.

#ifndef BUILTIN_FILTERS_CHUNK_FILTER_H_
#define BUILTIN_FILTERS_CHUNK_FILTER_H_

#include "filters/filter.h"

namespace brigade::filters {

class ChunkFilter : public OutputFilter {
 public:
  ChunkFilter() : OutputFilter("CHUNK", FilterKind::kTranscode) {}
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override;
  // Readies a borrowed instance (OutputChain::AddBorrowed) for the next response, as new.
  void Restart() {
    started_ = false;
    lines_ = Ref<HeapBlock>();
    failed_ = false;
  }
  FilterTraits traits() const override { return {.needs_bytes = false}; }

 private:
  bool Applies() const;
  // Moves the data run [first, end) of `bb` into `out` as one chunk.
  [[nodiscard]] absl::Status EmitChunk(Brigade& bb, Bucket* end, Brigade& out);
  void EmitLastChunk(Brigade& out);
  // A bucket holding "<hex size>\r\n".
  BucketPtr SizeLine(BucketAllocator* allocator, uint64_t size);

  bool started_ = false;
  Ref<HeapBlock> lines_;  // size lines are packed here
  bool failed_ = false;  // an ERROR went by: no last chunk
};

}  // namespace brigade::filters

#endif  // BUILTIN_FILTERS_CHUNK_FILTER_H_
