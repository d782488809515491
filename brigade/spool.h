// Spool: a sink for a stream that must be kept whole (a request body a handler needs before it
// answers), holding up to a memory budget in buckets and moving the rest into an unlinked
// temporary file, so that any size costs bounded memory.
//
// Append() takes data buckets: while the bytes held in memory stay within the budget they are
// kept as they are (set aside, no copy for heap buckets); past it, everything from then on is
// written to the file. Take() hands back the stream in order: the memory buckets, then one file
// bucket for what was written, so that a spooled body can go out with sendfile.
//
// Copy accounting: bytes written to the file are counted as copied (CountedCopy's counters),
// so a test or /server-status sees what spooling cost.
//
// Example:
//   Spool spool(allocator, 64 * 1024, "/tmp");
//   while (...) { Brigade piece = ...; if (absl::Status s = spool.Append(piece); !s.ok()) ... }
//   Brigade body = spool.Take();   // memory buckets, then a file range
//
// Thread-safety: none; a spool belongs to its connection's thread.

#ifndef BRIGADE_SPOOL_H_
#define BRIGADE_SPOOL_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "brigade/brigade.h"

namespace brigade {

class Spool {
 public:
  // `memory_budget`: bytes kept in memory before spilling; `temp_dir`: where the file is made
  // (O_TMPFILE, so it never has a name); empty means $TMPDIR or /tmp.
  Spool(BucketAllocator* allocator, uint64_t memory_budget, std::string temp_dir);
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Moves every data bucket of `bb` into the spool (metadata buckets are dropped: the caller
  // handles EOS and FLUSH). `bb` is empty afterwards, also on error.
  // Errors: the temporary file cannot be made or written (the errno's code, naming the
  // directory); an unread socket or pipe bucket (InvalidArgument). What was appended before
  // stays in the spool.
  [[nodiscard]] absl::Status Append(Brigade& bb);

  uint64_t size() const { return memory_bytes_ + file_bytes_; }
  uint64_t file_bytes() const { return file_bytes_; }

  // The whole stream so far, in order; the spool is empty afterwards and can be reused.
  Brigade Take();

 private:
  [[nodiscard]] absl::Status OpenFile();
  [[nodiscard]] absl::Status WriteToFile(Bucket* b);

  BucketAllocator* allocator_;
  uint64_t budget_;
  std::string temp_dir_;
  Brigade memory_;  // the first bytes, at most budget_ of them
  uint64_t memory_bytes_ = 0;
  Ref<File> file_;  // null until the budget is passed
  uint64_t file_start_ = 0;  // where the part not yet taken begins in the file
  uint64_t file_bytes_ = 0;  // bytes in the file not yet taken
};

}  // namespace brigade

#endif  // BRIGADE_SPOOL_H_
