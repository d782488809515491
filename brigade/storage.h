// Storage: the refcounted, immutable-once-shared memory (or file, or source) behind buckets.
//
// A Bucket is a view (offset, length) of one Storage. Storage is reference counted with a
// plain (non-atomic) count: a storage object and every bucket viewing it belong to one thread
// (DESIGN.md section 3). For heap blocks the count lives in the same allocation as the bytes.
//
// Kinds:
//   HeapBlock      pooled block from a BucketAllocator; the writer may append into the unused
//                  tail past `fill()` (bytes already viewed are never rewritten).
//   ExternalData   memory adopted from the caller plus a release callback.
//   MmapRegion     a mapped range of a file, unmapped on the last release.
//   File           a shared file descriptor; buckets carry (file offset, length).
//   Source         a socket or pipe read on demand (see Bucket::Read); can be closed while
//                  buckets still point at it, after which reads fail cleanly.
//   ErrorInfo      the HTTP status and message of an ERROR bucket.
//
// Thread-safety: none. Hand storage to another thread only after every reference on the
// first thread is gone.

#ifndef BRIGADE_STORAGE_H_
#define BRIGADE_STORAGE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "brigade/requires.h"

namespace brigade {

class BucketAllocator;

// Base of every storage kind. The count starts at 1, owned by whoever created it.
class Storage {
 public:
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void AddRef() { ++refs_; }
  void Release() {
    if (--refs_ == 0) Destroy();
  }
  uint32_t refs() const { return refs_; }

 protected:
  Storage() = default;
  virtual ~Storage() = default;
  // Called once when the last reference goes. Default: delete this.
  virtual void Destroy() { delete this; }

 private:
  uint32_t refs_ = 1;  // >= 1 while any Ref or bucket points here
};

// An owning smart pointer for any Storage kind: copy adds a reference, destruction releases.
template <typename T>
class Ref {
 public:
  Ref() = default;
  // Adopts the creator's reference (no AddRef).
  static Ref Adopt(T* p) {
    Ref r;
    r.p_ = p;
    return r;
  }
  Ref(const Ref& o) : p_(o.p_) {
    if (p_ != nullptr) p_->AddRef();
  }
  Ref(Ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  Ref& operator=(Ref o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~Ref() {
    if (p_ != nullptr) p_->Release();
  }
  T* get() const { return p_; }
  T* operator->() const { return p_; }
  T& operator*() const { return *p_; }
  explicit operator bool() const { return p_ != nullptr; }
  // Gives up ownership of the reference without releasing it.
  T* Leak() { return std::exchange(p_, nullptr); }

 private:
  T* p_ = nullptr;
};

// A data block from a BucketAllocator. Memory layout (one allocation):
//
//   +-----------------------------+--------------------------------------------+
//   | HeapBlock header            | capacity() bytes of payload                |
//   | refs | allocator | cap|fill | [0, fill) written, immutable | [fill, cap) |
//   +-----------------------------+--------------------------------------------+
//
// Bytes below fill() may be viewed by buckets and are never changed; only the owner of the
// bucket whose view ends exactly at fill() may append (see Brigade's writer).
class HeapBlock final : public Storage {
 public:
  char* data() { return reinterpret_cast<char*>(this + 1); }
  size_t capacity() const { return capacity_; }
  size_t fill() const { return fill_; }
  size_t free_space() const { return capacity_ - fill_; }
  // Marks `n` more bytes as written. REQUIRES: n <= free_space().
  void Commit(size_t n) {
    BRIGADE_REQUIRES(n <= free_space());
    fill_ += n;
  }

 private:
  friend class BucketAllocator;
  HeapBlock(BucketAllocator* allocator, size_t capacity)
      : allocator_(allocator), capacity_(capacity) {}
  void Destroy() override;

  BucketAllocator* allocator_;  // pool the block returns to
  size_t capacity_;             // payload bytes after the header
  size_t fill_ = 0;             // bytes written so far; grows only
};

// Memory adopted from the caller; `release` runs once when the last bucket lets go.
// WARNING: the memory must stay valid and unchanged until `release` runs, not merely until
// the call that created the bucket returns.
class ExternalData final : public Storage {
 public:
  using Releaser = std::function<void(const char* data, size_t size)>;
  static Ref<ExternalData> Create(const char* data, size_t size, Releaser release);
  const char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  ExternalData(const char* data, size_t size, Releaser release)
      : data_(data), size_(size), release_(std::move(release)) {}
  ~ExternalData() override;
  const char* data_;
  size_t size_;
  Releaser release_;
};

// A read-only private mapping of a file range, unmapped on the last release.
class MmapRegion final : public Storage {
 public:
  // Maps [offset, offset+length) of `fd`. Errors: an empty range → InvalidArgument.
  [[nodiscard]] static absl::StatusOr<Ref<MmapRegion>> Map(int fd, uint64_t offset, size_t length);
  // The first byte of the requested range (the mapping itself starts at a page boundary).
  const char* data() const { return static_cast<const char*>(base_) + skew_; }
  size_t size() const { return length_; }

 private:
  MmapRegion(void* base, size_t map_length, size_t skew, size_t length)
      : base_(base), map_length_(map_length), skew_(skew), length_(length) {}
  ~MmapRegion() override;
  void* base_;
  size_t map_length_;
  size_t skew_;  // offset of the requested byte within the first page
  size_t length_;
};

// A file descriptor shared by file buckets. Closed on the last release when owned.
class File final : public Storage {
 public:
  // Opens `path` read-only.
  [[nodiscard]] static absl::StatusOr<Ref<File>> Open(const std::string& path);
  // Wraps an open descriptor; closes it at the end iff `take_ownership`.
  static Ref<File> Adopt(int fd, bool take_ownership);
  int fd() const { return fd_; }
  // The file's current size (fstat).
  [[nodiscard]] absl::StatusOr<uint64_t> Size() const;

 private:
  File(int fd, bool owned) : fd_(fd), owned_(owned) {}
  ~File() override;
  int fd_;
  bool owned_;
};

// A socket or pipe that buckets read on demand. Close() may be called while buckets still
// reference it; their reads then fail with FailedPrecondition instead of touching a dead fd.
class Source final : public Storage {
 public:
  enum class Kind { kSocket, kPipe };
  static Ref<Source> Adopt(Kind kind, int fd, bool take_ownership);
  Kind kind() const { return kind_; }
  int fd() const { return fd_; }
  bool closed() const { return fd_ < 0; }
  bool at_eof() const { return eof_; }
  void MarkEof() { eof_ = true; }
  // How long a BLOCK read waits for data before failing with DeadlineExceeded; -1 = forever.
  int timeout_ms() const { return timeout_ms_; }
  bool nonblocking() const { return nonblocking_; }
  void set_timeout_ms(int ms) { timeout_ms_ = ms; }
  // Closes the descriptor (if owned) and makes every later read fail. Idempotent.
  void Close();
  absl::string_view name() const { return kind_ == Kind::kSocket ? "socket" : "pipe"; }

 private:
  Source(Kind kind, int fd, bool owned);
  ~Source() override { Close(); }
  Kind kind_;
  int fd_;  // -1 once closed
  bool owned_;
  bool nonblocking_;  // O_NONBLOCK was set when adopted: read first, poll only on EAGAIN
  bool eof_ = false;
  int timeout_ms_ = -1;
};

// Payload of an ERROR bucket.
class ErrorInfo final : public Storage {
 public:
  static Ref<ErrorInfo> Create(int http_status, std::string message) {
    return Ref<ErrorInfo>::Adopt(new ErrorInfo(http_status, std::move(message)));
  }
  int http_status() const { return http_status_; }
  const std::string& message() const { return message_; }

 private:
  ErrorInfo(int http_status, std::string message)
      : http_status_(http_status), message_(std::move(message)) {}
  int http_status_;
  std::string message_;
};

namespace internal {
// A Status for a failed system call: the errno's closest code and "what: strerror". A peer
// that went away (reset, broken pipe) is Aborted; what has no closer code is Internal.
[[nodiscard]] absl::Status ErrnoStatus(int err, absl::string_view what);
}  // namespace internal

}  // namespace brigade

#endif  // BRIGADE_STORAGE_H_
