#include "brigade/bucket.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <new>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "brigade/copy_stats.h"

namespace brigade {

static_assert(sizeof(Bucket) <= BucketAllocator::kRecordSize,
              "bucket records are pooled at a fixed size");

using internal::ErrnoStatus;

absl::string_view BucketKindName(BucketKind kind) {
  switch (kind) {
    case BucketKind::kHeap:
      return "HEAP";
    case BucketKind::kImmortal:
      return "IMMORTAL";
    case BucketKind::kTransient:
      return "TRANSIENT";
    case BucketKind::kExternal:
      return "EXTERNAL";
    case BucketKind::kMmap:
      return "MMAP";
    case BucketKind::kFile:
      return "FILE";
    case BucketKind::kSocket:
      return "SOCKET";
    case BucketKind::kPipe:
      return "PIPE";
    case BucketKind::kFlush:
      return "FLUSH";
    case BucketKind::kEos:
      return "EOS";
    case BucketKind::kError:
      return "ERROR";
  }
  return "?";
}

void BucketDeleter::operator()(Bucket* b) const {
  BucketAllocator* allocator = b->allocator_;
  b->~Bucket();
  allocator->FreeRecord(b);
}

Bucket::~Bucket() {
  if (storage_ != nullptr) storage_->Release();
}

BucketPtr Bucket::New(BucketAllocator* allocator, BucketKind kind) {
  void* record = allocator->AllocateRecord();
  return BucketPtr(new (record) Bucket(allocator, kind));
}

BucketPtr Bucket::Heap(BucketAllocator* allocator, Ref<HeapBlock> block, size_t offset,
                       size_t length) {
  BRIGADE_REQUIRES(offset + length <= block->fill());
  BucketPtr b = New(allocator, BucketKind::kHeap);
  b->data_ = block->data() + offset;
  b->length_ = length;
  b->storage_ = block.Leak();
  return b;
}

BucketPtr Bucket::CopyOf(BucketAllocator* allocator, absl::string_view data) {
  Ref<HeapBlock> block = allocator->AllocateBlock(data.size());
  CountedCopy(block->data(), data.data(), data.size(), nullptr);
  block->Commit(data.size());
  return Heap(allocator, std::move(block), 0, data.size());
}

BucketPtr Bucket::Immortal(BucketAllocator* allocator, absl::string_view data) {
  BucketPtr b = New(allocator, BucketKind::kImmortal);
  b->data_ = data.data();
  b->length_ = data.size();
  return b;
}

BucketPtr Bucket::Transient(BucketAllocator* allocator, absl::string_view data) {
  BucketPtr b = New(allocator, BucketKind::kTransient);
  b->data_ = data.data();
  b->length_ = data.size();
  return b;
}

BucketPtr Bucket::External(BucketAllocator* allocator, Ref<ExternalData> data, size_t offset,
                           size_t length) {
  BucketPtr b = New(allocator, BucketKind::kExternal);
  b->data_ = data->data() + offset;
  b->length_ = length;
  b->storage_ = data.Leak();
  return b;
}

BucketPtr Bucket::Mmap(BucketAllocator* allocator, Ref<MmapRegion> region, size_t offset,
                       size_t length) {
  BucketPtr b = New(allocator, BucketKind::kMmap);
  b->data_ = region->data() + offset;
  b->length_ = length;
  b->storage_ = region.Leak();
  return b;
}

BucketPtr Bucket::FileRange(BucketAllocator* allocator, Ref<File> file, uint64_t offset,
                            uint64_t length) {
  BucketPtr b = New(allocator, BucketKind::kFile);
  b->file_offset_ = offset;
  b->length_ = length;
  b->storage_ = file.Leak();
  return b;
}

BucketPtr Bucket::FromSource(BucketAllocator* allocator, Ref<Source> source) {
  BucketKind kind =
      source->kind() == Source::Kind::kSocket ? BucketKind::kSocket : BucketKind::kPipe;
  BucketPtr b = New(allocator, kind);
  b->length_ = kUnknownLength;
  b->storage_ = source.Leak();
  return b;
}

BucketPtr Bucket::Flush(BucketAllocator* allocator) {
  return New(allocator, BucketKind::kFlush);
}

BucketPtr Bucket::Eos(BucketAllocator* allocator) { return New(allocator, BucketKind::kEos); }

BucketPtr Bucket::Error(BucketAllocator* allocator, int http_status, std::string message) {
  BucketPtr b = New(allocator, BucketKind::kError);
  b->storage_ = ErrorInfo::Create(http_status, std::move(message)).Leak();
  return b;
}

int Bucket::error_status() const {
  BRIGADE_REQUIRES(is_error());
  return static_cast<ErrorInfo*>(storage_)->http_status();
}

const std::string& Bucket::error_message() const {
  BRIGADE_REQUIRES(is_error());
  return static_cast<ErrorInfo*>(storage_)->message();
}

void Bucket::Morph(BucketKind kind, Storage* storage, const char* data, uint64_t length) {
  if (storage_ != nullptr) storage_->Release();
  kind_ = kind;
  storage_ = storage;
  data_ = data;
  file_offset_ = 0;
  length_ = length;
}

void Bucket::InsertAfterThis(BucketPtr b) {
  Bucket* n = b.release();
  n->prev = this;
  n->next = next;
  next->prev = n;
  next = n;
}

absl::StatusOr<absl::string_view> Bucket::Read(BlockMode mode) {
  if (is_memory()) return view();
  if (is_metadata()) return absl::string_view();
  if (is_file()) return ReadFile();
  return ReadSource(mode);
}

absl::StatusOr<absl::string_view> Bucket::ReadFile() {
  const BucketAllocator::Options& options = allocator_->options();
  File* f = file();
  uint64_t offset = file_offset_;
  uint64_t want = length_;
  if (want == 0) {
    Morph(BucketKind::kImmortal, nullptr, nullptr, 0);
    return absl::string_view();
  }
  bool use_mmap = want >= options.mmap_threshold;
  uint64_t now = use_mmap ? std::min<uint64_t>(want, options.mmap_max)
                          : std::min<uint64_t>(want, options.file_read_max);
  if (now < want && !in_brigade()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "reading a ", want, "-byte file bucket leaves a remainder, but the bucket is not in a "
        "brigade"));
  }
  Storage* storage;
  const char* data;
  if (use_mmap) {
    absl::StatusOr<Ref<MmapRegion>> region = MmapRegion::Map(f->fd(), offset, now);
    if (!region.ok()) return region.status();
    data = (*region)->data();
    storage = region->Leak();
  } else {
    Ref<HeapBlock> block = allocator_->AllocateBlock(now);
    size_t got = 0;
    while (got < now) {
      ssize_t n = pread(f->fd(), block->data() + got, now - got, offset + got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus(errno, absl::StrCat("pread at offset ", offset + got));
      if (n == 0) {
        return absl::DataLossError(absl::StrCat("file bucket expects ", want, " bytes at offset ",
                                                offset, " but the file ends at offset ",
                                                offset + got));
      }
      got += static_cast<size_t>(n);
    }
    internal::AddGlobalRead(now);
    block->Commit(now);
    data = block->data();
    storage = block.Leak();
  }
  Ref<File> keep = Ref<File>::Adopt(f);  // takes over this bucket's reference before Morph
  storage_ = nullptr;
  BucketKind kind = use_mmap ? BucketKind::kMmap : BucketKind::kHeap;
  Morph(kind, storage, data, now);
  if (now < want) InsertAfterThis(FileRange(allocator_, std::move(keep), offset + now, want - now));
  return view();
}

absl::StatusOr<absl::string_view> Bucket::ReadSource(BlockMode mode) {
  Source* src = static_cast<Source*>(storage_);
  if (src->closed()) {
    return absl::FailedPreconditionError(
        absl::StrCat("read from a ", src->name(), " source that was closed"));
  }
  if (!src->at_eof() && !in_brigade()) {
    return absl::FailedPreconditionError(
        absl::StrCat("reading a ", src->name(), " bucket needs it to be in a brigade"));
  }
  Ref<HeapBlock> block;
  ssize_t n = 0;
  // A non-blocking descriptor is read first and polled only when it has nothing: one syscall
  // per read in the common case. A blocking one is polled first, so NONBLOCK cannot hang.
  bool poll_first = !src->nonblocking();
  while (!src->at_eof()) {
    if (poll_first) {
      pollfd p{src->fd(), POLLIN, 0};
      int ready = poll(&p, 1, mode == BlockMode::kBlock ? src->timeout_ms() : 0);
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) return ErrnoStatus(errno, absl::StrCat("poll on ", src->name()));
      if (ready == 0 && mode == BlockMode::kBlock) {
        return absl::DeadlineExceededError(absl::StrCat(
            "read from ", src->name(), " timed out after ", src->timeout_ms(), " ms"));
      }
      if (ready == 0) {
        return absl::UnavailableError(absl::StrCat("read from ", src->name(), " would block"));
      }
    }
    if (!block) block = allocator_->AllocateBlock();
    n = read(src->fd(), block->data(), block->capacity());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      if (mode == BlockMode::kNonBlock) {
        return absl::UnavailableError(absl::StrCat("read from ", src->name(), " would block"));
      }
      poll_first = true;  // wait for data, within the timeout
      continue;
    }
    if (n < 0) return ErrnoStatus(errno, absl::StrCat("read from ", src->name()));
    if (n == 0) src->MarkEof();
    break;
  }
  if (src->at_eof()) {
    // The source is used up: this bucket becomes empty and brigades drop it.
    Morph(BucketKind::kImmortal, nullptr, nullptr, 0);
    return absl::string_view();
  }
  internal::AddGlobalRead(static_cast<uint64_t>(n));
  block->Commit(static_cast<size_t>(n));
  Ref<Source> keep = Ref<Source>::Adopt(src);  // takes over this bucket's reference
  storage_ = nullptr;
  const char* data = block->data();
  Morph(BucketKind::kHeap, block.Leak(), data, static_cast<uint64_t>(n));
  InsertAfterThis(FromSource(allocator_, std::move(keep)));
  return view();
}

absl::StatusOr<Bucket*> Bucket::Split(uint64_t at) {
  if (is_metadata() || is_source()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot split a ", kind_name(), " bucket: ",
                     is_source() ? "its length is unknown until it is read" : "it holds no bytes"));
  }
  if (at == 0 || at >= length_) {
    return absl::OutOfRangeError(absl::StrCat("split at ", at, " of a ", length_,
                                              "-byte bucket would leave an empty bucket"));
  }
  if (!in_brigade()) {
    return absl::FailedPreconditionError("split needs the bucket to be in a brigade");
  }
  BucketPtr tail = New(allocator_, kind_);
  if (storage_ != nullptr) storage_->AddRef();
  tail->storage_ = storage_;
  tail->length_ = length_ - at;
  if (is_file()) {
    tail->file_offset_ = file_offset_ + at;
  } else {
    tail->data_ = data_ + at;
  }
  length_ = at;
  Bucket* result = tail.get();
  InsertAfterThis(std::move(tail));
  return result;
}

absl::StatusOr<BucketPtr> Bucket::Copy() const {
  if (is_source()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot copy a ", kind_name(), " bucket: its bytes are not read yet"));
  }
  BucketPtr b = New(allocator_, kind_);
  if (storage_ != nullptr) storage_->AddRef();
  b->storage_ = storage_;
  b->data_ = data_;
  b->file_offset_ = file_offset_;
  b->length_ = length_;
  return b;
}

void Bucket::Setaside(CopyStats* local) {
  if (kind_ != BucketKind::kTransient) return;
  Ref<HeapBlock> block = allocator_->AllocateBlock(length_);
  CountedCopy(block->data(), data_, length_, local);
  block->Commit(length_);
  const char* data = block->data();
  Morph(BucketKind::kHeap, block.Leak(), data, length_);
}

void Bucket::ConsumeFront(uint64_t n) {
  BRIGADE_REQUIRES(length_ != kUnknownLength && n <= length_);
  length_ -= n;
  if (is_file()) {
    file_offset_ += n;
  } else {
    data_ += n;
  }
}

}  // namespace brigade
