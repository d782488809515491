// FdWriter (WRITE): the end of a tool's output chain — writes every byte it is passed to a file
// descriptor, file ranges without bringing them into user space.
//
// Memory buckets go out with writev, gathered up to IOV_MAX at a time. A file range goes out the
// way the kernel takes it for this kind of descriptor: copy_file_range to a regular file, splice
// to a pipe, sendfile to anything else (a socket, a terminal); where the kernel refuses one
// (EXDEV, EINVAL, ENOSYS, EOPNOTSUPP) the writer falls back to the next, and last to pread and
// write, which are counted as bytes read into memory. Source buckets (a pipe) are read first.
//
// The descriptor is used as it is: blocking writes for a tool, never for a server's worker
// (which has CORE_OUT).
//
// Thread-safety: none; one writer per stream.

#ifndef FILTERS_FD_WRITER_H_
#define FILTERS_FD_WRITER_H_

#include <cstdint>

#include "absl/status/status.h"
#include "filters/filter.h"

namespace brigade::filters {

class FdWriter : public OutputFilter {
 public:
  // How file ranges leave, from the fastest the descriptor allows down to the fallback.
  enum class Path { kCopyFileRange, kSplice, kSendfile, kReadWrite };

  // REQUIRES: `fd` stays open for the writer's life.
  explicit FdWriter(int fd);

  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override;
  FilterTraits traits() const override { return {.needs_bytes = false}; }

  uint64_t written() const { return written_; }
  // Bytes of file ranges that went out without entering user space.
  uint64_t zero_copy_bytes() const { return zero_copy_bytes_; }
  // The path file ranges take now (after any fallback).
  Path path() const { return path_; }
  bool saw_eos() const { return saw_eos_; }

 private:
  [[nodiscard]] absl::Status WriteMemory(Brigade& bb);
  [[nodiscard]] absl::Status WriteFileRange(int in_fd, uint64_t offset, uint64_t length);
  // One kernel-side transfer of at most `length` bytes by path_; 0 means path_ was refused
  // and has been lowered.
  [[nodiscard]] absl::StatusOr<uint64_t> Transfer(int in_fd, uint64_t offset, uint64_t length);
  [[nodiscard]] absl::Status ReadWrite(int in_fd, uint64_t offset, uint64_t length);
  [[nodiscard]] absl::Status WriteAll(const char* data, size_t size);

  int fd_;
  Path path_;
  uint64_t written_ = 0;
  uint64_t zero_copy_bytes_ = 0;
  bool saw_eos_ = false;
};

}  // namespace brigade::filters

#endif  // FILTERS_FD_WRITER_H_
