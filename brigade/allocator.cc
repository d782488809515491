#include "brigade/allocator.h"

#include <new>

#include "brigade/copy_stats.h"

namespace brigade {
namespace {

HeapBlock* NewBlockMemory(size_t capacity) {
  return static_cast<HeapBlock*>(::operator new(sizeof(HeapBlock) + capacity));
}

}  // namespace

void HeapBlock::Destroy() {
  BucketAllocator* allocator = allocator_;
  size_t capacity = capacity_;
  this->~HeapBlock();
  allocator->FreeBlock(this, capacity);
}

BucketAllocator::Handle BucketAllocator::Create(const Options& options) {
  Options o = options;
  if (o.block_size == 0) o.block_size = Options().block_size;
  return Handle(new BucketAllocator(o));
}

BucketAllocator* BucketAllocator::ForThisThread() {
  thread_local Handle allocator = Create();
  return allocator.get();
}

BucketAllocator::~BucketAllocator() {
  for (void* b : free_blocks_) ::operator delete(b);
  for (void* r : free_records_) ::operator delete(r);
}

Ref<HeapBlock> BucketAllocator::AllocateBlock(size_t min_capacity) {
  internal::AddGlobalBlock();
  ++stats_.blocks_live;
  size_t capacity = options_.block_size;
  void* memory;
  if (min_capacity > capacity) {
    capacity = min_capacity;
    memory = NewBlockMemory(capacity);
    ++stats_.block_mallocs;
  } else if (!free_blocks_.empty()) {
    memory = free_blocks_.back();
    free_blocks_.pop_back();
  } else {
    memory = NewBlockMemory(capacity);
    ++stats_.block_mallocs;
  }
  return Ref<HeapBlock>::Adopt(new (memory) HeapBlock(this, capacity));
}

void BucketAllocator::FreeBlock(void* block, size_t capacity) {
  --stats_.blocks_live;
  if (!orphaned_ && capacity == options_.block_size &&
      free_blocks_.size() < options_.max_free_blocks) {
    free_blocks_.push_back(block);
    return;
  }
  ::operator delete(block);
  MaybeDeleteOrphan();
}

void* BucketAllocator::AllocateRecord() {
  ++stats_.records_live;
  if (!free_records_.empty()) {
    void* r = free_records_.back();
    free_records_.pop_back();
    return r;
  }
  ++stats_.record_mallocs;
  return ::operator new(kRecordSize);
}

void BucketAllocator::FreeRecord(void* record) {
  --stats_.records_live;
  if (orphaned_ || free_records_.size() >= options_.max_free_records) {
    ::operator delete(record);
    MaybeDeleteOrphan();
    return;
  }
  free_records_.push_back(record);
}

void BucketAllocator::Orphan() {
  orphaned_ = true;
  for (void* b : free_blocks_) ::operator delete(b);
  for (void* r : free_records_) ::operator delete(r);
  free_blocks_.clear();
  free_records_.clear();
  MaybeDeleteOrphan();
}

void BucketAllocator::MaybeDeleteOrphan() {
  if (orphaned_ && stats_.records_live == 0 && stats_.blocks_live == 0) delete this;
}

}  // namespace brigade
