#include "builtin/filters/chunk_filter.h"

#include "absl/strings/str_cat.h"

namespace brigade::filters {

bool ChunkFilter::Applies() const {
  const Exchange& ex = exchange();
  if (!ex.is_http11() || ex.is_head()) return false;
  if (ex.status < 200 || ex.status == 204 || ex.status == 304) return false;
  return !ex.response_headers.Has("Content-Length") &&
         !ex.response_headers.Has("Transfer-Encoding");
}

absl::Status ChunkFilter::EmitChunk(Brigade& bb, Bucket* end, Brigade& out) {
  uint64_t size = 0;
  Bucket* b = bb.front();
  while (b != end) {
    if (b->is_source()) {
      // A socket or pipe has no length until read; read it so that the size line is exact.
      absl::StatusOr<absl::string_view> v = b->Read();
      if (!v.ok()) return v.status();
      if (b->length() == 0) {
        Bucket* next = bb.Next(b);
        bb.Delete(b);
        b = next;
        continue;
      }
    }
    size += b->length();
    b = bb.Next(b);
  }
  if (size == 0) return absl::OkStatus();
  out.Append(SizeLine(out.allocator(), size));
  while (bb.front() != end) out.Append(bb.Remove(bb.front()));
  out.Append(Bucket::Immortal(out.allocator(), "\r\n"));
  return absl::OkStatus();
}

BucketPtr ChunkFilter::SizeLine(BucketAllocator* allocator, uint64_t size) {
  // Size lines are at most 18 bytes; many of them share one block, each bucket viewing its own.
  constexpr size_t kMaxLine = 18;
  if (!lines_ || lines_->free_space() < kMaxLine) lines_ = allocator->AllocateBlock();
  char digits[16];
  int n = 0;
  do {
    digits[n++] = "0123456789abcdef"[size & 0xf];
    size >>= 4;
  } while (size != 0);
  char line[kMaxLine];
  for (int i = 0; i < n; ++i) line[i] = digits[n - 1 - i];
  line[n] = '\r';
  line[n + 1] = '\n';
  size_t length = static_cast<size_t>(n) + 2;
  size_t offset = lines_->fill();
  CountedCopy(lines_->data() + offset, line, length, nullptr);
  lines_->Commit(length);
  return Bucket::Heap(allocator, lines_, offset, length);
}

void ChunkFilter::EmitLastChunk(Brigade& out) {
  std::string last = "0\r\n";
  for (const HeaderMap::Field& f : exchange().response_trailers) {
    absl::StrAppend(&last, f.first, ": ", f.second, "\r\n");
  }
  last += "\r\n";
  out.Append(Bucket::CopyOf(out.allocator(), last));
}

absl::StatusOr<Flow> ChunkFilter::Filter(Brigade& bb) {
  if (!started_) {
    if (bb.empty()) return Flow::kDone;
    started_ = true;
    if (!Applies()) {
      RemoveSelf();
      return PassNext(bb);
    }
    exchange().response_headers.Set("Transfer-Encoding", "chunked");
  }
  Brigade out(bb.allocator());
  while (!bb.empty()) {
    Bucket* meta = bb.front();
    while (meta != nullptr && !meta->is_metadata()) meta = bb.Next(meta);
    if (absl::Status s = EmitChunk(bb, meta, out); !s.ok()) return s;
    if (meta == nullptr) break;
    if (meta->is_error()) failed_ = true;
    if (meta->is_eos() && !failed_) EmitLastChunk(out);
    out.Append(bb.Remove(meta));
  }
  return PassNext(out);
}

}  // namespace brigade::filters
