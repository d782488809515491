#include "filters/fd_writer.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "absl/strings/str_cat.h"
#include "brigade/copy_stats.h"
#include "brigade/storage.h"

namespace brigade::filters {
namespace {

// Per kernel call: large enough that a 1 GiB copy takes a handful of calls, and within what
// sendfile and splice move in one call (0x7ffff000 bytes).
constexpr uint64_t kMaxTransfer = uint64_t{1} << 30;
// The pread/write fallback's buffer.
constexpr size_t kFallbackBuffer = 128 * 1024;

FdWriter::Path InitialPath(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return FdWriter::Path::kSendfile;
  if (S_ISREG(st.st_mode)) return FdWriter::Path::kCopyFileRange;
  if (S_ISFIFO(st.st_mode)) return FdWriter::Path::kSplice;
  return FdWriter::Path::kSendfile;
}

// The errors with which a kernel refuses a transfer path for this pair of descriptors (rather
// than failing the write): the next path may still work.
bool Refused(int err) {
  return err == EXDEV || err == EINVAL || err == ENOSYS || err == EOPNOTSUPP || err == EBADF;
}

}  // namespace

FdWriter::FdWriter(int fd)
    : OutputFilter("WRITE", FilterKind::kNetwork), fd_(fd), path_(InitialPath(fd)) {}

absl::Status FdWriter::WriteAll(const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd_, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return internal::ErrnoStatus(errno, "write");
    data += n;
    size -= static_cast<size_t>(n);
    written_ += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

absl::Status FdWriter::WriteMemory(Brigade& bb) {
  std::vector<struct iovec> iov(IOV_MAX);
  Brigade::IovecExport e = bb.ToIovec(iov.data(), iov.size());
  size_t first = 0;
  uint64_t left = e.bytes;
  while (left > 0) {
    ssize_t n = writev(fd_, iov.data() + first, static_cast<int>(e.count - first));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return internal::ErrnoStatus(errno, "writev");
    written_ += static_cast<uint64_t>(n);
    left -= static_cast<uint64_t>(n);
    // Step past what went out, leaving the rest of a partly written entry.
    size_t done = static_cast<size_t>(n);
    while (first < e.count && done >= iov[first].iov_len) done -= iov[first++].iov_len;
    if (first < e.count) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + done;
      iov[first].iov_len -= done;
    }
  }
  while (!bb.empty() && bb.front() != e.stop) {
    if (bb.front()->is_eos()) saw_eos_ = true;
    bb.Delete(bb.front());
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> FdWriter::Transfer(int in_fd, uint64_t offset, uint64_t length) {
  size_t want = static_cast<size_t>(std::min(length, kMaxTransfer));
  off_t off = static_cast<off_t>(offset);
  while (true) {
    ssize_t n = -1;
    switch (path_) {
      case Path::kCopyFileRange:
        n = copy_file_range(in_fd, &off, fd_, nullptr, want, 0);
        break;
      case Path::kSplice:
        n = splice(in_fd, &off, fd_, nullptr, want, SPLICE_F_MOVE);
        break;
      case Path::kSendfile:
        n = sendfile(fd_, in_fd, &off, want);
        break;
      case Path::kReadWrite:
        return 0;
    }
    if (n >= 0) return static_cast<uint64_t>(n);
    if (errno == EINTR) continue;
    if (!Refused(errno)) return internal::ErrnoStatus(errno, "writing a file range");
    path_ = path_ == Path::kSendfile ? Path::kReadWrite : Path::kSendfile;
    return 0;
  }
}

absl::Status FdWriter::ReadWrite(int in_fd, uint64_t offset, uint64_t length) {
  std::vector<char> buffer(static_cast<size_t>(std::min<uint64_t>(length, kFallbackBuffer)));
  while (length > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(length, buffer.size()));
    ssize_t n = pread(in_fd, buffer.data(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return internal::ErrnoStatus(errno, "pread");
    if (n == 0) {
      return absl::DataLossError(
          absl::StrCat("the file ends at byte ", offset, ", before its range (it shrank)"));
    }
    internal::AddGlobalRead(static_cast<uint64_t>(n));
    if (absl::Status s = WriteAll(buffer.data(), static_cast<size_t>(n)); !s.ok()) return s;
    offset += static_cast<uint64_t>(n);
    length -= static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

absl::Status FdWriter::WriteFileRange(int in_fd, uint64_t offset, uint64_t length) {
  while (length > 0) {
    Path before = path_;
    absl::StatusOr<uint64_t> n = Transfer(in_fd, offset, length);
    if (!n.ok()) return n.status();
    if (*n == 0) {
      if (path_ == Path::kReadWrite) return ReadWrite(in_fd, offset, length);
      if (path_ != before) continue;  // refused: the next path tries
      return absl::DataLossError(
          absl::StrCat("the file ends at byte ", offset, ", before its range (it shrank)"));
    }
    offset += *n;
    length -= *n;
    written_ += *n;
    zero_copy_bytes_ += *n;
  }
  return absl::OkStatus();
}

absl::StatusOr<Flow> FdWriter::Filter(Brigade& bb) {
  while (!bb.empty()) {
    Bucket* b = bb.front();
    if (b->is_metadata()) {
      if (b->is_eos()) saw_eos_ = true;
      bb.Delete(b);
    } else if (b->is_file()) {
      if (absl::Status s = WriteFileRange(b->file()->fd(), b->file_offset(), b->length());
          !s.ok()) {
        return s;
      }
      bb.Delete(b);
    } else if (b->is_source()) {
      // Reading morphs the front into memory (or finds the source at its end).
      absl::StatusOr<absl::string_view> data = b->Read();
      if (!data.ok()) return data.status();
      if (b->length() == 0) bb.Delete(b);
    } else if (absl::Status s = WriteMemory(bb); !s.ok()) {
      return s;
    }
  }
  return Flow::kDone;
}

}  // namespace brigade::filters
