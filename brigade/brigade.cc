#include "brigade/brigade.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace brigade {

Brigade::Brigade(BucketAllocator* allocator) : allocator_(allocator) {
  sentinel_.next = sentinel_.prev = &sentinel_;
}

Brigade::~Brigade() { Clear(); }

Brigade::Brigade(Brigade&& other) noexcept
    : allocator_(other.allocator_),
      copy_threshold_(other.copy_threshold_),
      stats_(other.stats_) {
  sentinel_.next = sentinel_.prev = &sentinel_;
  Concat(other);
}

Brigade& Brigade::operator=(Brigade&& other) noexcept {
  if (this != &other) {
    Clear();
    allocator_ = other.allocator_;
    copy_threshold_ = other.copy_threshold_;
    stats_ = other.stats_;
    Concat(other);
  }
  return *this;
}

bool Brigade::Contains(const Bucket* b) const {
  const BucketLink* target = static_cast<const BucketLink*>(b);
  const BucketLink* f = sentinel_.next;
  const BucketLink* r = sentinel_.prev;
  while (f != &sentinel_) {
    if (f == target || r == target) return true;
    if (f == r || f->next == r) return false;
    f = f->next;
    r = r->prev;
  }
  return false;
}

// Next and Prev check only that `b` is linked: a full check would make every walk O(n²).
Bucket* Brigade::Next(const Bucket* b) const {
  BucketLink* n = static_cast<const BucketLink*>(b)->next;
  BRIGADE_REQUIRES(n != nullptr);
  return n == &sentinel_ ? nullptr : AsBucket(n);
}

Bucket* Brigade::Prev(const Bucket* b) const {
  BucketLink* p = static_cast<const BucketLink*>(b)->prev;
  BRIGADE_REQUIRES(p != nullptr);
  return p == &sentinel_ ? nullptr : AsBucket(p);
}

size_t Brigade::bucket_count() const {
  size_t n = 0;
  for (BucketLink* l = sentinel_.next; l != &sentinel_; l = l->next) ++n;
  return n;
}

void Brigade::LinkBefore(BucketLink* pos, Bucket* b) {
  BucketLink* link = AsLink(b);
  link->prev = pos->prev;
  link->next = pos;
  pos->prev->next = link;
  pos->prev = link;
}

void Brigade::Append(BucketPtr b) { LinkBefore(&sentinel_, b.release()); }

void Brigade::Prepend(BucketPtr b) { LinkBefore(sentinel_.next, b.release()); }

void Brigade::InsertBefore(Bucket* pos, BucketPtr b) {
  BRIGADE_REQUIRES(Contains(pos));
  LinkBefore(AsLink(pos), b.release());
}

void Brigade::InsertAfter(Bucket* pos, BucketPtr b) {
  BRIGADE_REQUIRES(Contains(pos));
  LinkBefore(AsLink(pos)->next, b.release());
}

BucketPtr Brigade::Remove(Bucket* b) {
  BRIGADE_REQUIRES(Contains(b));
  BucketLink* link = AsLink(b);
  link->prev->next = link->next;
  link->next->prev = link->prev;
  link->prev = link->next = nullptr;
  return BucketPtr(b);
}

void Brigade::Delete(Bucket* b) { Remove(b); }

void Brigade::Clear() {
  while (!empty()) Delete(front());
}

void Brigade::SpliceBefore(BucketLink* pos, Brigade& other) {
  if (other.empty() || &other == this) return;
  BucketLink* first = other.sentinel_.next;
  BucketLink* last = other.sentinel_.prev;
  first->prev = pos->prev;
  pos->prev->next = first;
  last->next = pos;
  pos->prev = last;
  other.sentinel_.next = other.sentinel_.prev = &other.sentinel_;
}

void Brigade::Concat(Brigade& other) { SpliceBefore(&sentinel_, other); }

void Brigade::PrependBrigade(Brigade& other) { SpliceBefore(sentinel_.next, other); }

Brigade Brigade::SplitAt(Bucket* b) {
  Brigade tail(allocator_);
  tail.copy_threshold_ = copy_threshold_;
  if (b == nullptr) return tail;
  BRIGADE_REQUIRES(Contains(b));
  BucketLink* first = AsLink(b);
  BucketLink* last = sentinel_.prev;
  BucketLink* before = first->prev;
  before->next = &sentinel_;
  sentinel_.prev = before;
  first->prev = &tail.sentinel_;
  last->next = &tail.sentinel_;
  tail.sentinel_.next = first;
  tail.sentinel_.prev = last;
  return tail;
}

std::optional<uint64_t> Brigade::Length() const {
  uint64_t total = 0;
  for (const Bucket& b : *this) {
    if (b.is_source()) return std::nullopt;
    total += b.length();
  }
  return total;
}

absl::StatusOr<Bucket*> Brigade::ReadInPlace(Bucket* b, BlockMode mode) {
  if (!b->is_file() && !b->is_source()) return b;
  absl::StatusOr<absl::string_view> data = b->Read(mode);
  if (!data.ok()) return data.status();
  if (b->length() == 0) {
    Delete(b);
    return nullptr;
  }
  return b;
}

absl::StatusOr<Bucket*> Brigade::Partition(uint64_t offset, BlockMode mode) {
  uint64_t remaining = offset;
  Bucket* b = front();
  while (b != nullptr) {
    if (remaining == 0) return b;
    if (b->is_source()) {
      Bucket* next = Next(b);
      absl::StatusOr<Bucket*> read = ReadInPlace(b, mode);
      if (!read.ok()) return read.status();
      b = *read != nullptr ? *read : next;
      continue;
    }
    if (b->length() > remaining) {
      // A file bucket splits by offset without reading; memory buckets split by view.
      absl::StatusOr<Bucket*> tail = b->Split(remaining);
      if (!tail.ok()) return tail.status();
      return *tail;
    }
    remaining -= b->length();
    b = Next(b);
  }
  if (remaining == 0) return nullptr;
  std::optional<uint64_t> length = Length();
  return absl::OutOfRangeError(absl::StrCat("partition at offset ", offset,
                                            " is past the end of the brigade (length ",
                                            length.has_value() ? *length : 0, ")"));
}

absl::StatusOr<Brigade> Brigade::SplitAtOffset(uint64_t offset, BlockMode mode) {
  absl::StatusOr<Bucket*> at = Partition(offset, mode);
  if (!at.ok()) return at.status();
  return SplitAt(*at);
}

absl::StatusOr<size_t> Brigade::Flatten(absl::Span<char> out, BlockMode mode) {
  ++stats_.flattens;
  internal::AddGlobalFlatten();
  size_t done = 0;
  Bucket* b = front();
  while (b != nullptr && done < out.size()) {
    Bucket* next = Next(b);
    if (b->is_file() || b->is_source()) {
      absl::StatusOr<Bucket*> read = ReadInPlace(b, mode);
      if (!read.ok()) return read.status();
      if (*read == nullptr) {
        b = next;
        continue;
      }
      next = Next(b);  // reading may have linked a remainder after b
    }
    if (b->is_memory()) {
      size_t n = std::min<uint64_t>(b->length(), out.size() - done);
      CountedCopy(out.data() + done, b->view().data(), n, &stats_);
      done += n;
    }
    b = next;
  }
  return done;
}

absl::StatusOr<std::string> Brigade::FlattenToString(size_t max_bytes, BlockMode mode) {
  ++stats_.flattens;
  internal::AddGlobalFlatten();
  std::string out;
  for (Bucket* b = front(); b != nullptr;) {
    Bucket* next = Next(b);
    if (b->is_file() || b->is_source()) {
      absl::StatusOr<Bucket*> read = ReadInPlace(b, mode);
      if (!read.ok()) return read.status();
      if (*read == nullptr) {
        b = next;
        continue;
      }
      next = Next(b);  // reading may have linked a remainder after b
    }
    if (b->is_memory() && b->length() > 0) {
      if (b->length() > max_bytes - out.size()) {
        return absl::ResourceExhaustedError(
            absl::StrCat("brigade holds more than ", max_bytes, " bytes"));
      }
      size_t at = out.size();
      out.resize(at + b->length());
      CountedCopy(out.data() + at, b->view().data(), b->length(), &stats_);
    }
    b = next;
  }
  return out;
}

absl::StatusOr<Brigade::LineResult> Brigade::SplitLine(Brigade& out, size_t max_bytes,
                                                       BlockMode mode) {
  size_t moved = 0;
  while (!empty()) {
    Bucket* b = front();
    if (b->is_metadata()) return LineResult::kIncomplete;
    if (b->is_file() || b->is_source()) {
      absl::StatusOr<Bucket*> read = ReadInPlace(b, mode);
      if (!read.ok()) {
        if (mode == BlockMode::kNonBlock && absl::IsUnavailable(read.status())) {
          return LineResult::kIncomplete;
        }
        return read.status();
      }
      if (*read == nullptr) continue;
    }
    if (moved == max_bytes) return LineResult::kTooLong;
    absl::string_view data = b->view();
    size_t room = max_bytes - moved;
    size_t scan = std::min(data.size(), room);
    const void* lf = std::memchr(data.data(), '\n', scan);
    size_t take = lf != nullptr ? static_cast<const char*>(lf) - data.data() + 1 : scan;
    if (take < data.size()) {
      absl::StatusOr<Bucket*> tail = b->Split(take);
      if (!tail.ok()) return tail.status();
    }
    out.Append(Remove(b));
    moved += take;
    if (lf != nullptr) return LineResult::kComplete;
  }
  return moved == max_bytes && max_bytes > 0 ? LineResult::kTooLong : LineResult::kIncomplete;
}

Brigade::IovecExport Brigade::ToIovec(struct iovec* iov, size_t max_iovecs) {
  IovecExport result;
  for (Bucket& b : *this) {
    if (b.is_metadata()) continue;
    if (!b.is_memory()) {
      result.stop = &b;
      break;
    }
    if (b.length() == 0) continue;
    absl::string_view v = b.view();
    if (result.count > 0) {
      iovec& last = iov[result.count - 1];
      if (static_cast<const char*>(last.iov_base) + last.iov_len == v.data()) {
        last.iov_len += v.size();
        result.bytes += v.size();
        continue;
      }
    }
    if (result.count == max_iovecs) {
      result.stop = &b;
      break;
    }
    iov[result.count].iov_base = const_cast<char*>(v.data());
    iov[result.count].iov_len = v.size();
    ++result.count;
    result.bytes += v.size();
  }
  stats_.bytes_shared += result.bytes;
  internal::AddGlobalShared(result.bytes);
  return result;
}

void Brigade::Setaside() {
  for (Bucket& b : *this) b.Setaside(&stats_);
}

std::string Brigade::DebugString() const {
  std::string out;
  for (const Bucket& b : *this) {
    if (!out.empty()) out += ' ';
    out += std::string(b.kind_name());
    if (b.is_error()) {
      absl::StrAppend(&out, "(", b.error_status(), ")");
    } else if (b.is_source()) {
      out += "(?)";
    } else if (!b.is_metadata()) {
      absl::StrAppend(&out, "(", b.length(), ")");
    }
  }
  return out;
}

}  // namespace brigade
