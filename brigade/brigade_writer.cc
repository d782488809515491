// The buffered writer half of Brigade: Write, Writev, Puts, Printf, WriteOwned.

#include <cstdarg>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "brigade/brigade.h"

namespace brigade {

absl::Status Brigade::CheckWritable() const {
  if (ends_with_eos()) {
    return absl::FailedPreconditionError("write to a brigade after its EOS bucket");
  }
  return absl::OkStatus();
}

absl::string_view Brigade::PackIntoTail(absl::string_view data) {
  Bucket* tail = back();
  if (tail == nullptr || !tail->is_heap()) return data;
  HeapBlock* block = tail->heap_block();
  // Only the bucket whose view ends at the block's fill line may grow into the free space;
  // any other view of the block would otherwise see its neighbour's bytes change.
  if (tail->view().data() + tail->length() != block->data() + block->fill()) return data;
  size_t n = std::min(data.size(), block->free_space());
  if (n == 0) return data;
  CountedCopy(block->data() + block->fill(), data.data(), n, &stats_);
  block->Commit(n);
  tail->length_ += n;
  return data.substr(n);
}

void Brigade::AppendCopy(absl::string_view data) {
  data = PackIntoTail(data);
  while (!data.empty()) {
    Ref<HeapBlock> block = allocator_->AllocateBlock();
    ++stats_.blocks_allocated;
    size_t n = std::min(data.size(), block->capacity());
    CountedCopy(block->data(), data.data(), n, &stats_);
    block->Commit(n);
    Append(Bucket::Heap(allocator_, std::move(block), 0, n));
    data.remove_prefix(n);
  }
}

absl::Status Brigade::Write(absl::string_view data) {
  if (absl::Status s = CheckWritable(); !s.ok()) return s;
  if (data.empty()) return absl::OkStatus();
  if (data.size() < copy_threshold_) {
    AppendCopy(data);
  } else {
    stats_.bytes_shared += data.size();
    internal::AddGlobalShared(data.size());
    Append(Bucket::Transient(allocator_, data));
  }
  return absl::OkStatus();
}

absl::Status Brigade::WriteCopy(absl::string_view data) {
  if (absl::Status s = CheckWritable(); !s.ok()) return s;
  AppendCopy(data);
  return absl::OkStatus();
}

absl::Status Brigade::Writev(absl::Span<const absl::string_view> parts) {
  for (absl::string_view part : parts) {
    if (absl::Status s = Write(part); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Brigade::Puts(const char* s) { return Write(absl::string_view(s)); }

absl::Status Brigade::Printf(const char* format, ...) {
  if (absl::Status s = CheckWritable(); !s.ok()) return s;
  char local[512];
  va_list args;
  va_start(args, format);
  int n = vsnprintf(local, sizeof(local), format, args);
  va_end(args);
  if (n < 0) return absl::InvalidArgumentError(absl::StrCat("bad printf format: ", format));
  if (static_cast<size_t>(n) < sizeof(local)) {
    AppendCopy(absl::string_view(local, static_cast<size_t>(n)));
    return absl::OkStatus();
  }
  std::string big(static_cast<size_t>(n) + 1, '\0');
  va_start(args, format);
  vsnprintf(big.data(), big.size(), format, args);
  va_end(args);
  big.pop_back();
  AppendCopy(big);
  return absl::OkStatus();
}

absl::Status Brigade::WriteOwned(std::string data) {
  if (absl::Status s = CheckWritable(); !s.ok()) return s;
  if (data.empty()) return absl::OkStatus();
  auto* owned = new std::string(std::move(data));
  stats_.bytes_shared += owned->size();
  internal::AddGlobalShared(owned->size());
  Append(Bucket::External(
      allocator_,
      ExternalData::Create(owned->data(), owned->size(),
                           [owned](const char*, size_t) { delete owned; }),
      0, owned->size()));
  return absl::OkStatus();
}

}  // namespace brigade
