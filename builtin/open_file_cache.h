// OpenFileCache: the files the static module opened recently, per worker thread, so that a hot
// file costs no open and close per request (nginx's open_file_cache; its fstat stays, so a
// file changed in place is always served as it is now).
//
// A path beneath a document root maps to its open descriptor. The entry is trusted for
// kValidMs; the first use after that re-resolves the path (fstatat beneath the root) and keeps
// the descriptor only while the path still names the same file (device and inode): a file
// replaced (renamed over, deleted, recreated) is reopened with OpenBeneath's checks within
// kValidMs. Entries unused for kIdleMs are closed at the next lookup, so a deleted file's
// space is not held for long by a server that is still serving; at most kCapacity entries are
// kept (when full, the least recently used goes). Only successful opens are cached.
//
// Thread-safety: one cache per thread (ForThisThread); its Files belong to that thread, as
// every Storage does.

#ifndef BUILTIN_OPEN_FILE_CACHE_H_
#define BUILTIN_OPEN_FILE_CACHE_H_

#include <sys/types.h>

#include <cstdint>
#include <list>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "brigade/storage.h"

namespace brigade::builtin {

class OpenFileCache {
 public:
  static constexpr int64_t kValidMs = 1000;
  static constexpr int64_t kIdleMs = 10000;
  static constexpr size_t kCapacity = 256;

  struct Stats {
    uint64_t hits = 0;
    uint64_t opens = 0;        // misses and revalidations that reopened
    uint64_t revalidated = 0;  // re-resolved after kValidMs and kept
  };

  static OpenFileCache& ForThisThread();

  // `decoded_path` beneath `root_fd` (as server::OpenBeneath takes it), from the cache or
  // opened now. `now_ms`: a monotonic clock. Errors: those of OpenBeneath.
  [[nodiscard]] absl::StatusOr<Ref<File>> Open(int root_fd, absl::string_view decoded_path,
                                               int64_t now_ms);

  const Stats& stats() const { return stats_; }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Ref<File> file;
    dev_t dev = 0;
    ino_t ino = 0;
    int64_t validated_ms = 0;
    int64_t used_ms = 0;
    std::list<std::pair<int, std::string>>::iterator lru;  // in lru_, most recent first
  };
  using Key = std::pair<int, std::string>;
  using KeyView = std::pair<int, absl::string_view>;
  // Lookups by KeyView: a hit builds no string.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(const KeyView& k) const { return absl::HashOf(k.first, k.second); }
    size_t operator()(const Key& k) const { return (*this)(KeyView(k.first, k.second)); }
  };
  struct KeyEq {
    using is_transparent = void;
    bool operator()(const KeyView& a, const KeyView& b) const { return a == b; }
    bool operator()(const Key& a, const KeyView& b) const { return KeyView(a.first, a.second) == b; }
    bool operator()(const KeyView& a, const Key& b) const { return a == KeyView(b.first, b.second); }
    bool operator()(const Key& a, const Key& b) const { return a == b; }
  };

  void Erase(const Key& key);
  void CloseIdle(int64_t now_ms);

  absl::flat_hash_map<Key, Entry, KeyHash, KeyEq> entries_;
  std::list<Key> lru_;
  int64_t last_sweep_ms_ = 0;
  Stats stats_;
};

}  // namespace brigade::builtin

#endif  // BUILTIN_OPEN_FILE_CACHE_H_
