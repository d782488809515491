#include "brigade/copy_stats.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <vector>

#include "absl/strings/str_format.h"
#include "brigade/requires.h"

namespace brigade {
namespace {

// Process-wide counters without a locked instruction on the data path: each thread adds to its
// own slots (a relaxed load and store, which only that thread writes), and readers sum every
// live thread's slots plus what exited threads left behind.
enum Slot { kCopied, kShared, kRead, kBlocks, kFlattens, kSlots };

struct ThreadCounters;

// std::mutex rather than absl::Mutex: ThreadSanitizer sees through pthread's, while Debian's
// Abseil is built without the annotations it would need.
struct Registry {
  std::mutex mu;
  std::vector<ThreadCounters*> live;  // guarded by mu
  uint64_t retired[kSlots] = {};      // guarded by mu
};

Registry& GetRegistry() {
  static Registry* registry = new Registry;  // never destroyed: threads may exit after main
  return *registry;
}

// This thread's counters once made: a plain thread-local pointer, which costs a load where
// the object's own thread_local (it has a constructor) costs a guarded call on every count.
constinit thread_local ThreadCounters* this_thread = nullptr;

struct ThreadCounters {
  std::atomic<uint64_t> slot[kSlots] = {};

  ThreadCounters() {
    Registry& r = GetRegistry();
    std::lock_guard<std::mutex> lock(r.mu);
    r.live.push_back(this);
    this_thread = this;
  }
  ~ThreadCounters() {
    this_thread = nullptr;
    Registry& r = GetRegistry();
    std::lock_guard<std::mutex> lock(r.mu);
    for (int i = 0; i < kSlots; ++i) r.retired[i] += slot[i].load(std::memory_order_relaxed);
    r.live.erase(std::find(r.live.begin(), r.live.end(), this));
  }
};

[[gnu::noinline]] ThreadCounters* MakeThreadCounters() {
  thread_local ThreadCounters counters;
  return &counters;
}

void Add(Slot s, uint64_t n) {
  ThreadCounters* t = this_thread != nullptr ? this_thread : MakeThreadCounters();
  std::atomic<uint64_t>& c = t->slot[s];
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace

CopyStats CopyStats::Since(const CopyStats& earlier) const {
  CopyStats d;
  d.bytes_copied = bytes_copied - earlier.bytes_copied;
  d.bytes_shared = bytes_shared - earlier.bytes_shared;
  d.bytes_read = bytes_read - earlier.bytes_read;
  d.blocks_allocated = blocks_allocated - earlier.blocks_allocated;
  d.flattens = flattens - earlier.flattens;
  return d;
}

CopyStats& CopyStats::operator+=(const CopyStats& other) {
  bytes_copied += other.bytes_copied;
  bytes_shared += other.bytes_shared;
  bytes_read += other.bytes_read;
  blocks_allocated += other.blocks_allocated;
  flattens += other.flattens;
  return *this;
}

std::string CopyStats::DebugString() const {
  return absl::StrFormat(
      "copied=%d shared=%d read=%d blocks=%d flattens=%d", bytes_copied, bytes_shared,
      bytes_read, blocks_allocated, flattens);
}

bool operator==(const CopyStats& a, const CopyStats& b) {
  return a.bytes_copied == b.bytes_copied && a.bytes_shared == b.bytes_shared &&
         a.bytes_read == b.bytes_read && a.blocks_allocated == b.blocks_allocated &&
         a.flattens == b.flattens;
}

CopyStats GlobalCopyStats() {
  Registry& r = GetRegistry();
  uint64_t sum[kSlots];
  std::lock_guard<std::mutex> lock(r.mu);
  for (int i = 0; i < kSlots; ++i) sum[i] = r.retired[i];
  for (const ThreadCounters* t : r.live) {
    for (int i = 0; i < kSlots; ++i) sum[i] += t->slot[i].load(std::memory_order_relaxed);
  }
  CopyStats s;
  s.bytes_copied = sum[kCopied];
  s.bytes_shared = sum[kShared];
  s.bytes_read = sum[kRead];
  s.blocks_allocated = sum[kBlocks];
  s.flattens = sum[kFlattens];
  return s;
}

namespace internal {

void AddGlobalCopied(uint64_t bytes) { Add(kCopied, bytes); }
void AddGlobalShared(uint64_t bytes) { Add(kShared, bytes); }
void AddGlobalRead(uint64_t bytes) { Add(kRead, bytes); }
void AddGlobalBlock() { Add(kBlocks, 1); }
void AddGlobalFlatten() { Add(kFlattens, 1); }

}  // namespace internal

void CountedCopy(char* dst, const char* src, size_t n, CopyStats* local) {
  if (n == 0) return;
  BRIGADE_REQUIRES(dst + n <= src || src + n <= dst);
  std::memcpy(dst, src, n);
  internal::AddGlobalCopied(n);
  if (local != nullptr) local->bytes_copied += n;
}

}  // namespace brigade
