#include "brigade/spool.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace brigade {

Spool::Spool(BucketAllocator* allocator, uint64_t memory_budget, std::string temp_dir)
    : allocator_(allocator),
      budget_(memory_budget),
      temp_dir_(std::move(temp_dir)),
      memory_(allocator) {
  if (temp_dir_.empty()) {
    const char* env = std::getenv("TMPDIR");
    temp_dir_ = env != nullptr && *env != '\0' ? env : "/tmp";
  }
}

absl::Status Spool::OpenFile() {
  int fd = open(temp_dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    return internal::ErrnoStatus(errno, absl::StrCat("spool: temporary file in ", temp_dir_));
  }
  file_ = File::Adopt(fd, /*take_ownership=*/true);
  return absl::OkStatus();
}

absl::Status Spool::WriteToFile(Bucket* b) {
  if (!file_) {
    if (absl::Status s = OpenFile(); !s.ok()) return s;
  }
  absl::StatusOr<absl::string_view> data = b->Read();
  if (!data.ok()) return data.status();
  size_t done = 0;
  while (done < data->size()) {
    off_t at = static_cast<off_t>(file_start_ + file_bytes_);
    ssize_t n = pwrite(file_->fd(), data->data() + done, data->size() - done, at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return internal::ErrnoStatus(errno, absl::StrCat("spool: writing to ", temp_dir_));
    }
    done += static_cast<size_t>(n);
    file_bytes_ += static_cast<uint64_t>(n);
  }
  // The bytes now live twice (in the file and, until released, in memory): a counted copy.
  internal::AddGlobalCopied(data->size());
  return absl::OkStatus();
}

absl::Status Spool::Append(Brigade& bb) {
  absl::Status status;
  while (!bb.empty()) {
    Bucket* b = bb.front();
    if (b->is_metadata() || !status.ok()) {
      bb.Delete(b);
      continue;
    }
    if (b->is_source()) {
      status = absl::InvalidArgumentError(
          "spool: a socket or pipe bucket must be read before it is spooled");
      continue;
    }
    if (!file_ && memory_bytes_ + b->length() <= budget_) {
      memory_bytes_ += b->length();
      BucketPtr kept = bb.Remove(b);
      kept->Setaside();
      memory_.Append(std::move(kept));
      continue;
    }
    status = WriteToFile(b);
    bb.Delete(b);
  }
  return status;
}

Brigade Spool::Take() {
  Brigade out(allocator_);
  out.Concat(memory_);
  memory_bytes_ = 0;
  if (file_ && file_bytes_ > 0) {
    out.Append(Bucket::FileRange(allocator_, file_, file_start_, file_bytes_));
    file_start_ += file_bytes_;
    file_bytes_ = 0;
  }
  return out;
}

}  // namespace brigade
