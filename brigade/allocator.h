// BucketAllocator: free lists for bucket records and data blocks, so that a steady stream of
// buckets costs no malloc per bucket (after APR's apr_bucket_alloc).
//
// One allocator serves one thread: brigades, buckets and heap blocks made from it must be used
// and released on that thread. ForThisThread() returns the calling thread's default allocator.
// An allocator may be destroyed while blocks or records it handed out are still alive (a
// response kept in a queue, a thread exiting): it then frees its pools at once and deletes
// itself when the last outstanding block or record comes back.
//
// Example:
//   AllocatorHandle alloc = BucketAllocator::Create({.block_size = 256});
//   Brigade bb(alloc.get());   // tests shrink blocks to exercise block boundaries

#ifndef BRIGADE_ALLOCATOR_H_
#define BRIGADE_ALLOCATOR_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "brigade/storage.h"

namespace brigade {

class BucketAllocator {
 public:
  struct Options {
    // Payload bytes of a pooled block. 8 KiB matches APR's default and a typical socket read;
    // servers that stream large files may prefer 16 KiB.
    size_t block_size = 8192;
    // Idle blocks kept for reuse; beyond that, freed blocks go back to malloc.
    size_t max_free_blocks = 256;
    // Idle bucket records kept for reuse (kRecordSize bytes each); beyond that they go back to
    // malloc. Bounded so that the records of a crowd of connections, once closed, do not pin
    // the heap pages their neighbours freed.
    size_t max_free_records = 512;
    // A file bucket read into memory takes at most this many bytes per pread, in a pooled
    // block when it fits one and in a block of its own otherwise. 16 KiB: half the syscalls of
    // block-sized reads for a filter such as DEFLATE that reads a file whole, while what a
    // stalled stream holds of its input stays small (200 slow gzip readers, hostile_test).
    size_t file_read_max = 16 * 1024;
    // File buckets of at least this many bytes are read by mmap instead of pread. Off by
    // default. WARNING: a mapped file that another process truncates raises SIGBUS when the
    // mapping is touched past the new end, which kills the process; set it only for files
    // nobody changes while they are read.
    uint64_t mmap_threshold = std::numeric_limits<uint64_t>::max();
    // At most this many bytes of a file are mapped by one read (the rest stays a file bucket).
    size_t mmap_max = 4 * 1024 * 1024;
  };

  struct PoolStats {
    uint64_t record_mallocs = 0;  // bucket records that came from malloc (not a free list)
    uint64_t block_mallocs = 0;   // data blocks that came from malloc (not a free list)
    uint64_t records_live = 0;    // records handed out and not yet returned
    uint64_t blocks_live = 0;     // blocks handed out and not yet returned
  };

  struct Deleter {
    void operator()(BucketAllocator* a) const { a->Orphan(); }
  };
  using Handle = std::unique_ptr<BucketAllocator, Deleter>;

  static Handle Create(const Options& options);
  static Handle Create() { return Create(Options()); }

  // The calling thread's allocator, created with default options on first use.
  static BucketAllocator* ForThisThread();

  BucketAllocator(const BucketAllocator&) = delete;
  BucketAllocator& operator=(const BucketAllocator&) = delete;

  const Options& options() const { return options_; }
  size_t block_size() const { return options_.block_size; }

  // Returns an empty block with capacity() >= min_capacity: a pooled block of block_size()
  // when min_capacity <= block_size(), otherwise a block of exactly min_capacity that is
  // freed (not pooled) when released. Counts one block in the copy accounting.
  Ref<HeapBlock> AllocateBlock(size_t min_capacity = 0);

  // Storage for one bucket record of kRecordSize bytes. Used by Bucket only.
  static constexpr size_t kRecordSize = 64;
  void* AllocateRecord();
  void FreeRecord(void* record);

  PoolStats pool_stats() const { return stats_; }

 private:
  friend class HeapBlock;
  explicit BucketAllocator(const Options& options) : options_(options) {}
  ~BucketAllocator();

  // `block` is the raw memory of a destroyed HeapBlock of `capacity` payload bytes.
  void FreeBlock(void* block, size_t capacity);
  // Destroys now if nothing is outstanding, otherwise when the last thing comes back.
  void Orphan();
  void MaybeDeleteOrphan();

  Options options_;
  PoolStats stats_;
  std::vector<void*> free_blocks_;  // raw memory for blocks of block_size
  std::vector<void*> free_records_;
  bool orphaned_ = false;
};

using AllocatorHandle = BucketAllocator::Handle;

}  // namespace brigade

#endif  // BRIGADE_ALLOCATOR_H_
