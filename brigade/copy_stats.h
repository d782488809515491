// Copy accounting: counters that prove how many bytes an operation copied.
//
// Every memcpy of payload bytes in brigade/ goes through CountedCopy(), and every time a view
// of existing storage is handed on instead, the bytes are counted as shared. The counters exist
// twice: once per Brigade (plain integers, owned by the brigade's thread) and once for the
// whole process (per-thread slots summed on read, readable from any thread, e.g. for
// /server-status; adding costs no locked instruction).
//
// Example:
//   CopyStats before = GlobalCopyStats();
//   ...operation under test...
//   EXPECT_EQ(GlobalCopyStats().Since(before).bytes_copied, 0);

#ifndef BRIGADE_COPY_STATS_H_
#define BRIGADE_COPY_STATS_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace brigade {

// A snapshot of the counters. Plain value type.
struct CopyStats {
  uint64_t bytes_copied = 0;      // payload bytes memcpy'd (small writes, flatten, setaside)
  uint64_t bytes_shared = 0;      // payload bytes passed on as a view of existing storage
  uint64_t bytes_read = 0;        // bytes read(2) from files, sockets and pipes into blocks
  uint64_t blocks_allocated = 0;  // data blocks handed out by an allocator (pooled or fresh)
  uint64_t flattens = 0;          // calls that gathered a brigade into one contiguous buffer

  // The counts accumulated between `earlier` and this snapshot.
  CopyStats Since(const CopyStats& earlier) const;
  CopyStats& operator+=(const CopyStats& other);
  std::string DebugString() const;
};

bool operator==(const CopyStats& a, const CopyStats& b);

// Returns the process-wide counters as of now. Thread-safe; takes a mutex, so keep it off
// per-byte paths.
CopyStats GlobalCopyStats();

namespace internal {

// Add to the process-wide counters. Thread-safe; the counters are statistics, never used to
// order memory.
void AddGlobalCopied(uint64_t bytes);
void AddGlobalShared(uint64_t bytes);
void AddGlobalRead(uint64_t bytes);
void AddGlobalBlock();
void AddGlobalFlatten();

}  // namespace internal

// The one function through which payload bytes are copied. Counts `n` bytes as copied in the
// process-wide counters and, when `local` is not null, in `*local`.
// REQUIRES: [dst, dst+n) and [src, src+n) do not overlap.
void CountedCopy(char* dst, const char* src, size_t n, CopyStats* local);

}  // namespace brigade

#endif  // BRIGADE_COPY_STATS_H_
