#include "brigade/storage.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace brigade {
namespace internal {

[[nodiscard]] absl::Status ErrnoStatus(int err, absl::string_view what) {
  std::string message = absl::StrCat(what, ": ", strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case EINVAL:
      return absl::InvalidArgumentError(message);
    case ENOMEM:
      return absl::ResourceExhaustedError(message);
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
    case ENOTCONN:
      return absl::AbortedError(message);  // the peer went away: its doing, not a fault here
    default:
      return absl::InternalError(message);
  }
}

}  // namespace internal

using internal::ErrnoStatus;

Ref<ExternalData> ExternalData::Create(const char* data, size_t size, Releaser release) {
  return Ref<ExternalData>::Adopt(new ExternalData(data, size, std::move(release)));
}

ExternalData::~ExternalData() {
  if (release_) release_(data_, size_);
}

absl::StatusOr<Ref<MmapRegion>> MmapRegion::Map(int fd, uint64_t offset, size_t length) {
  if (length == 0) return absl::InvalidArgumentError("mmap of an empty range");
  static const uint64_t kPage = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  uint64_t aligned = offset - offset % kPage;
  size_t skew = static_cast<size_t>(offset - aligned);
  size_t map_length = length + skew;
  void* base = mmap(nullptr, map_length, PROT_READ, MAP_PRIVATE, fd, static_cast<off_t>(aligned));
  if (base == MAP_FAILED) {
    return ErrnoStatus(errno, absl::StrCat("mmap of ", length, " bytes at offset ", offset));
  }
  return Ref<MmapRegion>::Adopt(new MmapRegion(base, map_length, skew, length));
}

MmapRegion::~MmapRegion() { munmap(base_, map_length_); }

absl::StatusOr<Ref<File>> File::Open(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("open ", path));
  return Adopt(fd, /*take_ownership=*/true);
}

Ref<File> File::Adopt(int fd, bool take_ownership) {
  return Ref<File>::Adopt(new File(fd, take_ownership));
}

absl::StatusOr<uint64_t> File::Size() const {
  struct stat st;
  if (fstat(fd_, &st) != 0) return ErrnoStatus(errno, "fstat");
  return static_cast<uint64_t>(st.st_size);
}

File::~File() {
  if (owned_) close(fd_);
}

Source::Source(Kind kind, int fd, bool owned)
    : kind_(kind), fd_(fd), owned_(owned), nonblocking_((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0) {}

Ref<Source> Source::Adopt(Kind kind, int fd, bool take_ownership) {
  return Ref<Source>::Adopt(new Source(kind, fd, take_ownership));
}

void Source::Close() {
  if (fd_ >= 0 && owned_) close(fd_);
  fd_ = -1;
}

}  // namespace brigade
