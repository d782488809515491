// Brigade: an ordered list of buckets, the unit of data passed between filters.
//
// A brigade owns its buckets. List operations (append, prepend, insert, concat, split at a
// bucket) are O(1) and never touch payload bytes; byte-offset operations (Partition, SplitLine)
// split buckets in O(1) and read a file or source bucket only when the boundary falls inside
// it. Every payload copy is counted, in stats() and in GlobalCopyStats().
//
// The buffered writer (Write, Writev, Puts, Printf) packs writes shorter than
// copy_threshold() into the tail heap block and passes longer ones as TRANSIENT buckets that
// borrow the caller's memory without copying.
// WARNING: a TRANSIENT bucket is valid only during the current call. A filter or handler that
// keeps a brigade past the call must call Setaside() first.
//
// Example (a filter keeping a partial line for its next call):
//   absl::StatusOr<Brigade> rest = in.SplitAtOffset(complete_bytes);
//   if (!rest.ok()) return rest.status();
//   held_.Concat(*rest);
//   if (absl::Status s = held_.Setaside(); !s.ok()) return s;
//
// Thread-safety: none; a brigade belongs to its allocator's thread.

#ifndef BRIGADE_BRIGADE_H_
#define BRIGADE_BRIGADE_H_

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "brigade/allocator.h"
#include "brigade/bucket.h"
#include "brigade/copy_stats.h"
#include "brigade/requires.h"

namespace brigade {

class Brigade {
 public:
  // Writes shorter than this many bytes are copied into the tail block; longer ones are
  // shared. 512 B: below it a copy is cheaper than a bucket record plus an iovec entry.
  static constexpr size_t kDefaultCopyThreshold = 512;

  explicit Brigade(BucketAllocator* allocator = BucketAllocator::ForThisThread());
  ~Brigade();
  Brigade(Brigade&& other) noexcept;
  Brigade& operator=(Brigade&& other) noexcept;
  Brigade(const Brigade&) = delete;
  Brigade& operator=(const Brigade&) = delete;

  BucketAllocator* allocator() const { return allocator_; }

  // --- Iteration. Valid until the brigade changes around the current bucket. ---
  class Iterator {
   public:
    using iterator_category = std::bidirectional_iterator_tag;
    using value_type = Bucket;
    using difference_type = std::ptrdiff_t;
    using pointer = Bucket*;
    using reference = Bucket&;
    explicit Iterator(BucketLink* link) : link_(link) {}
    Bucket& operator*() const { return *static_cast<Bucket*>(link_); }
    Bucket* operator->() const { return static_cast<Bucket*>(link_); }
    Iterator& operator++() {
      link_ = link_->next;
      return *this;
    }
    Iterator& operator--() {
      link_ = link_->prev;
      return *this;
    }
    bool operator==(const Iterator& o) const { return link_ == o.link_; }
    bool operator!=(const Iterator& o) const { return link_ != o.link_; }

   private:
    BucketLink* link_;
  };
  Iterator begin() const { return Iterator(sentinel_.next); }
  Iterator end() const { return Iterator(const_cast<BucketLink*>(&sentinel_)); }

  bool empty() const { return sentinel_.next == &sentinel_; }
  // null when empty.
  Bucket* front() const { return empty() ? nullptr : AsBucket(sentinel_.next); }
  Bucket* back() const { return empty() ? nullptr : AsBucket(sentinel_.prev); }
  // The bucket after/before `b` in this brigade, or null at the end.
  // REQUIRES: `b` is in this brigade.
  Bucket* Next(const Bucket* b) const;
  Bucket* Prev(const Bucket* b) const;
  // O(n).
  size_t bucket_count() const;

  // --- List operations, all O(1). ---
  void Append(BucketPtr b);
  void Prepend(BucketPtr b);
  // REQUIRES: `pos` is in this brigade.
  void InsertBefore(Bucket* pos, BucketPtr b);
  void InsertAfter(Bucket* pos, BucketPtr b);
  // Unlinks `b` and hands it to the caller. REQUIRES: `b` is in this brigade.
  BucketPtr Remove(Bucket* b);
  // Unlinks and destroys `b`. REQUIRES: `b` is in this brigade.
  void Delete(Bucket* b);
  // Destroys every bucket.
  void Clear();
  // Moves every bucket of `other` to the end of this brigade; `other` is left empty.
  // REQUIRES: both brigades use the same allocator's thread.
  void Concat(Brigade& other);
  void Concat(Brigade&& other) { Concat(other); }
  // Moves every bucket of `other` to the front of this brigade; `other` is left empty.
  void PrependBrigade(Brigade& other);
  // Moves `b` and every bucket after it into a new brigade, which is returned; this brigade
  // keeps the buckets before `b`. A null `b` returns an empty brigade.
  // REQUIRES: `b` is null or in this brigade.
  Brigade SplitAt(Bucket* b);

  // --- Byte-offset operations. ---

  // Total bytes, or nullopt while a socket or pipe bucket is present (length unknown). O(n).
  std::optional<uint64_t> Length() const;

  // Ensures a bucket boundary at byte `offset` (splitting one bucket in O(1) when needed, and
  // reading file or source buckets only where the offset lies inside or past them). Returns the
  // first bucket at or after `offset` — a metadata bucket at that point included — or null
  // when `offset` is the end of the data.
  // Errors: offset past the end of the data → OutOfRange; read errors as Bucket::Read.
  [[nodiscard]] absl::StatusOr<Bucket*> Partition(uint64_t offset,
                                                  BlockMode mode = BlockMode::kBlock);
  // Partition(offset), then SplitAt the returned bucket: this keeps the first `offset` bytes
  // (and any metadata before them); the rest is returned.
  [[nodiscard]] absl::StatusOr<Brigade> SplitAtOffset(uint64_t offset,
                                                      BlockMode mode = BlockMode::kBlock);

  // Copies up to out.size() bytes of data from the front of the brigade into `out`, skipping
  // metadata, and returns how many (fewer only when the data ends first). Reads file and
  // source buckets as needed. The brigade keeps its bytes. Counted as one flatten.
  [[nodiscard]] absl::StatusOr<size_t> Flatten(absl::Span<char> out,
                                               BlockMode mode = BlockMode::kBlock);
  // All data bytes as one string. Errors: more than max_bytes of data → ResourceExhausted
  // (nothing is returned, so nothing is silently cut off).
  [[nodiscard]] absl::StatusOr<std::string> FlattenToString(size_t max_bytes,
                                                            BlockMode mode = BlockMode::kBlock);

  // Result of SplitLine.
  enum class LineResult {
    kComplete,    // `out` ends with '\n'
    kTooLong,     // max_bytes moved with no '\n' among them
    kIncomplete,  // the brigade ran out (or would block, or reached metadata) before a '\n'
  };
  // Moves bytes from the front of this brigade to the end of `out`, up to and including the
  // first '\n', or max_bytes bytes, whichever comes first. Buckets are split, not copied.
  // Stops before a metadata bucket (it stays at the front of this brigade).
  // Errors: as Bucket::Read, except that a NONBLOCK source with no data ends with kIncomplete.
  [[nodiscard]] absl::StatusOr<LineResult> SplitLine(Brigade& out, size_t max_bytes,
                                                     BlockMode mode = BlockMode::kBlock);

  // Describes the front of the brigade as iovecs without copying or reading anything.
  struct IovecExport {
    size_t count = 0;               // iovecs filled
    uint64_t bytes = 0;             // bytes they cover
    const Bucket* stop = nullptr;   // first data bucket not covered (file, source, or max
                                    // reached), or null when every bucket was covered
  };
  // Fills at most max_iovecs entries from the memory buckets at the front, skipping metadata,
  // merging adjacent views that are contiguous in one storage into one entry. Stops at the
  // first file or source bucket so the caller can sendfile it. Counts the bytes as shared.
  IovecExport ToIovec(struct iovec* iov, size_t max_iovecs);

  // --- The buffered writer. Each returns FailedPrecondition after EOS. ---
  [[nodiscard]] absl::Status Write(absl::string_view data);
  [[nodiscard]] absl::Status Writev(absl::Span<const absl::string_view> parts);
  [[nodiscard]] absl::Status Puts(const char* s);
  [[nodiscard]] absl::Status Printf(const char* format, ...) __attribute__((format(printf, 2, 3)));
  // Appends a bucket that adopts `data` (no copy; the string is freed with the last view).
  [[nodiscard]] absl::Status WriteOwned(std::string data);
  // Copies `data` whatever its size (packed into blocks), for bytes that die with the call.
  [[nodiscard]] absl::Status WriteCopy(absl::string_view data);
  size_t copy_threshold() const { return copy_threshold_; }
  void set_copy_threshold(size_t bytes) { copy_threshold_ = bytes; }

  // Makes every bucket safe to keep past the current call (copies TRANSIENT ones).
  void Setaside();

  // True iff the last bucket is EOS.
  bool ends_with_eos() const { return !empty() && back()->is_eos(); }

  // Copy accounting of operations on this brigade.
  const CopyStats& stats() const { return stats_; }

  // "HEAP(5) FLUSH FILE(100) EOS" — for test failures and logs.
  std::string DebugString() const;

 private:
  // For the REQUIRES checks: walks in from both ends, so O(1) at the front and the back, O(n)
  // in the middle.
  bool Contains(const Bucket* b) const;
  static Bucket* AsBucket(BucketLink* l) { return static_cast<Bucket*>(l); }
  static BucketLink* AsLink(Bucket* b) { return static_cast<BucketLink*>(b); }
  void LinkBefore(BucketLink* pos, Bucket* b);
  // Moves every bucket of `other` in front of `pos` (a link of this brigade), in O(1).
  void SpliceBefore(BucketLink* pos, Brigade& other);
  [[nodiscard]] absl::Status CheckWritable() const;
  // Appends `data` into the tail heap block's free space as far as it fits; returns the rest.
  absl::string_view PackIntoTail(absl::string_view data);
  // Copies `data` into the tail block, adding blocks as needed.
  void AppendCopy(absl::string_view data);
  // Reads `b` if it is a file or source, dropping it when it turns out empty. Returns the
  // bucket that now holds the data at b's place, or null when b was an empty source at EOF.
  [[nodiscard]] absl::StatusOr<Bucket*> ReadInPlace(Bucket* b, BlockMode mode);

  BucketAllocator* allocator_;
  BucketLink sentinel_;  // ring: sentinel_.next is the front, sentinel_.prev the back
  size_t copy_threshold_ = kDefaultCopyThreshold;
  CopyStats stats_;
};

}  // namespace brigade

#endif  // BRIGADE_BRIGADE_H_
