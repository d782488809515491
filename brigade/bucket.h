// Bucket: one view (offset, length) of one Storage, or a metadata marker (FLUSH, EOS, ERROR).
//
// Buckets live in Brigades (an intrusive list). Factories return a BucketPtr that owns a bucket
// not yet in any brigade; Brigade::Append() and friends take it over. Operations that make
// new buckets next to this one (Split, and Read of a file or a socket/pipe source) need the
// bucket to be in a brigade, where the new bucket is linked right after it, as in APR.
//
// Memory layout of a memory bucket over a heap block:
//
//   Bucket record (64 B, pooled)          HeapBlock (one allocation)
//   +------------------+                  +--------+--------------------------------+
//   | prev/next links  |      storage_ -> | refs=2 | ....[=====view=====]......     |
//   | storage_, kind_  |                  +--------+----^-----------------^---------+
//   | data_, length_   |                                data_        data_+length_
//   +------------------+
//
// Thread-safety: none; a bucket belongs to its allocator's thread.

#ifndef BRIGADE_BUCKET_H_
#define BRIGADE_BUCKET_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "brigade/allocator.h"
#include "brigade/copy_stats.h"
#include "brigade/requires.h"
#include "brigade/storage.h"

namespace brigade {

enum class BucketKind : uint8_t {
  kHeap,       // view of a pooled HeapBlock
  kImmortal,   // static memory, never freed
  kTransient,  // caller's memory, valid only until the current call returns (see Setaside)
  kExternal,   // adopted memory with a release callback
  kMmap,       // view of an MmapRegion
  kFile,       // (offset, length) range of a File; bytes not in memory
  kSocket,     // unread remainder of a socket; length unknown
  kPipe,       // unread remainder of a pipe; length unknown
  kFlush,      // metadata: pass everything buffered so far
  kEos,        // metadata: end of stream
  kError,      // metadata: an error with an HTTP status and message
};

absl::string_view BucketKindName(BucketKind kind);

enum class BlockMode { kBlock, kNonBlock };

// Length of a socket or pipe bucket, whose size is known only after reading it.
inline constexpr uint64_t kUnknownLength = std::numeric_limits<uint64_t>::max();

class Bucket;
struct BucketDeleter {
  void operator()(Bucket* b) const;
};
using BucketPtr = std::unique_ptr<Bucket, BucketDeleter>;

// The list links; a Brigade's sentinel is a bare BucketLink.
struct BucketLink {
  BucketLink* prev = nullptr;
  BucketLink* next = nullptr;
};

class Bucket : private BucketLink {
 public:
  // --- Factories. `allocator` supplies the record and is the thread the bucket lives on. ---

  // A view of [offset, offset+length) of `block`. REQUIRES: offset+length <= block->fill().
  static BucketPtr Heap(BucketAllocator* allocator, Ref<HeapBlock> block, size_t offset,
                        size_t length);
  // A heap bucket holding a copy of `data` (counted as copied).
  static BucketPtr CopyOf(BucketAllocator* allocator, absl::string_view data);
  // `data` must outlive every bucket viewing it (string literals, static tables).
  static BucketPtr Immortal(BucketAllocator* allocator, absl::string_view data);
  // WARNING: `data` is only borrowed until the current call returns. Whoever keeps the bucket
  // longer must call Setaside() (Brigade::Setaside()) first, which copies it.
  static BucketPtr Transient(BucketAllocator* allocator, absl::string_view data);
  // A view of [offset, offset+length) of adopted memory.
  // Example:
  //   auto* s = new std::string(BigBody());
  //   bb.Append(Bucket::External(alloc, ExternalData::Create(
  //       s->data(), s->size(), [s](const char*, size_t) { delete s; }), 0, s->size()));
  static BucketPtr External(BucketAllocator* allocator, Ref<ExternalData> data, size_t offset,
                            size_t length);
  static BucketPtr Mmap(BucketAllocator* allocator, Ref<MmapRegion> region, size_t offset,
                        size_t length);
  // Bytes [offset, offset+length) of `file`; nothing is read until Read().
  static BucketPtr FileRange(BucketAllocator* allocator, Ref<File> file, uint64_t offset,
                             uint64_t length);
  // The unread rest of a socket or pipe.
  static BucketPtr FromSource(BucketAllocator* allocator, Ref<Source> source);
  static BucketPtr Flush(BucketAllocator* allocator);
  static BucketPtr Eos(BucketAllocator* allocator);
  static BucketPtr Error(BucketAllocator* allocator, int http_status, std::string message);

  Bucket(const Bucket&) = delete;
  Bucket& operator=(const Bucket&) = delete;

  // --- Inspection. All O(1). ---
  BucketKind kind() const { return kind_; }
  absl::string_view kind_name() const { return BucketKindName(kind_); }
  bool is_metadata() const { return kind_ >= BucketKind::kFlush; }
  bool is_flush() const { return kind_ == BucketKind::kFlush; }
  bool is_eos() const { return kind_ == BucketKind::kEos; }
  bool is_error() const { return kind_ == BucketKind::kError; }
  // True iff the bytes are in memory and view() is valid.
  bool is_memory() const { return kind_ <= BucketKind::kMmap; }
  bool is_heap() const { return kind_ == BucketKind::kHeap; }
  bool is_file() const { return kind_ == BucketKind::kFile; }
  bool is_source() const { return kind_ == BucketKind::kSocket || kind_ == BucketKind::kPipe; }
  // True iff this bucket is linked into a brigade.
  bool in_brigade() const { return next != nullptr; }
  BucketAllocator* allocator() const { return allocator_; }

  // Bytes in the bucket: kUnknownLength for sources, 0 for metadata.
  uint64_t length() const { return length_; }
  // REQUIRES: is_memory(). The bytes, valid while this bucket (or a copy) lives.
  absl::string_view view() const {
    BRIGADE_REQUIRES(is_memory());
    return absl::string_view(data_, length_);
  }
  // REQUIRES: is_file().
  uint64_t file_offset() const {
    BRIGADE_REQUIRES(is_file());
    return file_offset_;
  }
  // REQUIRES: is_file().
  File* file() const {
    BRIGADE_REQUIRES(is_file());
    return static_cast<File*>(storage_);
  }
  // REQUIRES: is_heap(). The block this bucket views.
  HeapBlock* heap_block() const {
    BRIGADE_REQUIRES(is_heap());
    return static_cast<HeapBlock*>(storage_);
  }
  // REQUIRES: is_error().
  int error_status() const;
  const std::string& error_message() const;

  // --- Operations. ---

  // Returns the bytes of a data bucket as one view, without copying for memory kinds.
  //   memory kinds: the view; metadata: an empty view.
  //   file: reads the first part into memory (pread of at most the allocator's file_read_max
  //         bytes, or mmap when it enables that); this bucket becomes that memory
  //         bucket and the rest, if any, stays a file bucket linked after it.
  //   socket/pipe: reads what is available (at most one block); this bucket becomes a heap
  //         bucket of those bytes and a new source bucket for the rest is linked after it. At
  //         end of input the bucket becomes an empty immortal bucket and the view is empty.
  // Errors: NONBLOCK and no data ready → Unavailable; BLOCK and nothing within the source's
  //   timeout_ms → DeadlineExceeded; a closed source → FailedPrecondition;
  //   a file shorter than the bucket → DataLoss; I/O errors → the errno's code. A file or
  //   source bucket that must leave a remainder but is not in a brigade → FailedPrecondition.
  // The view stays valid while this bucket lives.
  [[nodiscard]] absl::StatusOr<absl::string_view> Read(BlockMode mode = BlockMode::kBlock);

  // Splits a data bucket in O(1) without copying: this keeps [0, at) and a new bucket viewing
  // [at, length) of the same storage is linked right after it and returned.
  // Errors: metadata or source (unknown length), or not in a brigade → FailedPrecondition;
  //   at == 0 or at >= length() → OutOfRange (a split may not make an empty bucket).
  [[nodiscard]] absl::StatusOr<Bucket*> Split(uint64_t at);

  // A new, unlinked bucket sharing this one's storage (O(1), no copy).
  // Errors: a source bucket cannot be copied (its bytes are unread) → FailedPrecondition.
  [[nodiscard]] absl::StatusOr<BucketPtr> Copy() const;

  // Makes the bucket safe to keep past the current call: a transient bucket's bytes are
  // copied into a heap block (counted, with `local` too when not null); every other kind
  // already owns or references long-lived storage and is left as is.
  void Setaside(CopyStats* local = nullptr);

  // Drops the first `n` bytes in O(1). REQUIRES: n <= length() and a known length.
  void ConsumeFront(uint64_t n);

 private:
  friend class Brigade;
  friend struct BucketDeleter;

  Bucket(BucketAllocator* allocator, BucketKind kind) : allocator_(allocator), kind_(kind) {}
  ~Bucket();
  static BucketPtr New(BucketAllocator* allocator, BucketKind kind);

  // Replaces this bucket's storage (taking over the caller's reference) and view.
  void Morph(BucketKind kind, Storage* storage, const char* data, uint64_t length);
  void InsertAfterThis(BucketPtr b);
  [[nodiscard]] absl::StatusOr<absl::string_view> ReadFile();
  [[nodiscard]] absl::StatusOr<absl::string_view> ReadSource(BlockMode mode);

  BucketAllocator* allocator_;
  Storage* storage_ = nullptr;  // one counted reference, or null (immortal, transient, markers)
  const char* data_ = nullptr;  // memory kinds: first byte of the view
  uint64_t file_offset_ = 0;    // file kind: offset of the first byte in the file
  uint64_t length_ = 0;         // bytes in the view; kUnknownLength for sources
  BucketKind kind_;
};

}  // namespace brigade

#endif  // BRIGADE_BUCKET_H_
