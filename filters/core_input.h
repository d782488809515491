// CoreInputFilter (CORE_IN): the network-level input filter. It owns a brigade of not yet
// consumed input — typically one socket bucket, or test data — and serves every ReadMode from
// it, reading the socket only as far as a request needs.
//
// End of input (the source reached EOF, or an EOS bucket in the source brigade) is returned
// as one EOS bucket. NONBLOCK reads with nothing ready return Unavailable.
//
// Thread-safety: none; belongs to its connection's thread.

#ifndef FILTERS_CORE_INPUT_H_
#define FILTERS_CORE_INPUT_H_

#include <cstddef>

#include "filters/filter.h"

namespace brigade::filters {

class CoreInputFilter : public InputFilter {
 public:
  // Lines longer than this are returned in parts when GETLINE is given no readbytes.
  static constexpr size_t kDefaultMaxLine = 8192;

  explicit CoreInputFilter(Brigade source)
      : InputFilter("CORE_IN", FilterKind::kNetwork), pending_(std::move(source)) {}

  [[nodiscard]] absl::Status Read(Brigade& out, ReadMode mode, BlockMode block,
                                  size_t readbytes) override;

  // Input read from the source but not yet returned (e.g. a pipelined next request).
  const Brigade& pending() const { return pending_; }
  // For a reader that parses input where it lies rather than through the chain (a request
  // head whole in one read: HeadReader): the bytes of the first block of input, read from the
  // source first when none is in memory. Empty at end of input or before metadata. Valid until
  // the next call on the filter. Errors: as Read's (Unavailable: NONBLOCK with nothing ready).
  [[nodiscard]] absl::StatusOr<absl::string_view> PeekFront(BlockMode block);
  // Consumes the first `n` bytes of what PeekFront returned. REQUIRES: n <= its size.
  void ConsumeFront(size_t n);
  // Serves `source` from here on, as if constructed with it; what was pending is dropped.
  void Rebind(Brigade source) { pending_ = std::move(source); }

 private:
  // Reads file and source buckets at the front until the front is in memory, metadata, or the
  // brigade is empty (end of input).
  [[nodiscard]] absl::Status FillFront(BlockMode block);
  // Bytes in memory at the front, before any metadata or unread bucket.
  uint64_t FrontMemoryBytes() const;
  [[nodiscard]] absl::Status ReadBytes(Brigade& out, BlockMode block, size_t readbytes, bool keep);
  [[nodiscard]] absl::Status GetLine(Brigade& out, BlockMode block, size_t max);
  [[nodiscard]] absl::Status EatCrlf(BlockMode block);
  [[nodiscard]] absl::Status Exhaustive(Brigade& out, BlockMode block);
  // Moves a metadata bucket at the front, or an EOS at end of input, to `out`. True iff it did.
  bool TakeEnd(Brigade& out);

  Brigade pending_;
};

namespace internal {

// Moves the first `n` bytes of `from` (split at a bucket boundary as needed) to the end of
// `out`; with `keep`, copies the buckets instead (sharing their storage), leaving `from` as it
// was — a SPECULATIVE read. Shared by the input filters that serve reads from a brigade.
// REQUIRES: `from` holds at least `n` bytes before any metadata.
[[nodiscard]] absl::Status TakeFront(Brigade& from, uint64_t n, Brigade& out, bool keep,
                                     BlockMode block = BlockMode::kBlock);

}  // namespace internal

// COLLECT: a network-level output filter that keeps everything it is passed (set aside) in a
// brigade the caller owns — the end of a chain in tests and in the brigade-filter tool.
class CollectFilter : public OutputFilter {
 public:
  // REQUIRES: `into` outlives the filter.
  explicit CollectFilter(Brigade* into)
      : OutputFilter("COLLECT", FilterKind::kNetwork), into_(into) {}
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override {
    bb.Setaside();
    into_->Concat(bb);
    return Flow::kDone;
  }
  FilterTraits traits() const override { return {.needs_bytes = false}; }

 private:
  Brigade* into_;
};

}  // namespace brigade::filters

#endif  // FILTERS_CORE_INPUT_H_
