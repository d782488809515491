#include "builtin/open_file_cache.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "server/uri.h"

namespace brigade::builtin {
namespace {

// The path as OpenBeneath resolves it: relative to the root.
std::string Relative(absl::string_view decoded_path) {
  size_t start = decoded_path.find_first_not_of('/');
  std::string relative(start == absl::string_view::npos ? "" : decoded_path.substr(start));
  return relative.empty() ? "." : relative;
}

}  // namespace

OpenFileCache& OpenFileCache::ForThisThread() {
  thread_local OpenFileCache cache;
  return cache;
}

void OpenFileCache::Erase(const Key& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

void OpenFileCache::CloseIdle(int64_t now_ms) {
  if (now_ms - last_sweep_ms_ < kIdleMs / 4) return;
  last_sweep_ms_ = now_ms;
  while (!lru_.empty()) {
    auto it = entries_.find(lru_.back());
    if (now_ms - it->second.used_ms < kIdleMs) break;
    entries_.erase(it);
    lru_.pop_back();
  }
}

absl::StatusOr<Ref<File>> OpenFileCache::Open(int root_fd, absl::string_view decoded_path,
                                              int64_t now_ms) {
  CloseIdle(now_ms);
  auto it = entries_.find(KeyView(root_fd, decoded_path));
  if (it != entries_.end()) {
    Entry& e = it->second;
    bool valid = now_ms - e.validated_ms < kValidMs;
    if (!valid) {
      struct stat st;
      valid = fstatat(root_fd, Relative(decoded_path).c_str(), &st, 0) == 0 &&
              st.st_dev == e.dev && st.st_ino == e.ino;
      if (valid) {
        e.validated_ms = now_ms;
        ++stats_.revalidated;
      }
    }
    if (valid) {
      e.used_ms = now_ms;
      lru_.splice(lru_.begin(), lru_, e.lru);
      ++stats_.hits;
      return e.file;
    }
    lru_.erase(e.lru);
    entries_.erase(it);
  }
  absl::StatusOr<Ref<File>> file = server::OpenBeneath(root_fd, decoded_path);
  if (!file.ok()) return file.status();
  ++stats_.opens;
  struct stat st;
  if (fstat((*file)->fd(), &st) != 0) return file;  // served, not cached
  if (entries_.size() >= kCapacity) {
    Key oldest = lru_.back();
    Erase(oldest);
  }
  Key key(root_fd, std::string(decoded_path));
  lru_.push_front(key);
  Entry& e = entries_[key];
  e.file = *file;
  e.dev = st.st_dev;
  e.ino = st.st_ino;
  e.validated_ms = now_ms;
  e.used_ms = now_ms;
  e.lru = lru_.begin();
  return file;
}

}  // namespace brigade::builtin
