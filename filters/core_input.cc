#include "filters/core_input.h"

#include "absl/strings/str_cat.h"
#include "brigade/requires.h"

namespace brigade::filters {

absl::Status CoreInputFilter::FillFront(BlockMode block) {
  while (!pending_.empty()) {
    Bucket* b = pending_.front();
    if (b->is_memory() && b->length() == 0) {
      pending_.Delete(b);
      continue;
    }
    if (!b->is_file() && !b->is_source()) return absl::OkStatus();
    absl::StatusOr<absl::string_view> data = b->Read(block);
    if (!data.ok()) return data.status();
    if (b->length() == 0) pending_.Delete(b);  // a source at EOF
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::string_view> CoreInputFilter::PeekFront(BlockMode block) {
  if (absl::Status s = FillFront(block); !s.ok()) return s;
  if (pending_.empty() || !pending_.front()->is_memory()) return absl::string_view();
  return pending_.front()->view();
}

void CoreInputFilter::ConsumeFront(size_t n) {
  Bucket* b = pending_.front();
  BRIGADE_REQUIRES(b != nullptr && b->is_memory() && n <= b->length());
  if (n == b->length()) {
    pending_.Delete(b);
  } else {
    b->ConsumeFront(n);
  }
}

uint64_t CoreInputFilter::FrontMemoryBytes() const {
  uint64_t n = 0;
  for (const Bucket& b : pending_) {
    if (!b.is_memory()) break;
    n += b.length();
  }
  return n;
}

bool CoreInputFilter::TakeEnd(Brigade& out) {
  if (pending_.empty()) {
    out.Append(Bucket::Eos(out.allocator()));
    return true;
  }
  if (pending_.front()->is_metadata()) {
    out.Append(pending_.Remove(pending_.front()));
    return true;
  }
  return false;
}

absl::Status CoreInputFilter::Read(Brigade& out, ReadMode mode, BlockMode block,
                                   size_t readbytes) {
  switch (mode) {
    case ReadMode::kInit:
      return absl::OkStatus();
    case ReadMode::kEatCrlf:
      return EatCrlf(block);
    case ReadMode::kGetLine:
      return GetLine(out, block, readbytes == 0 ? kDefaultMaxLine : readbytes);
    case ReadMode::kReadBytes:
    case ReadMode::kSpeculative:
      if (readbytes == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("CORE_IN: ", ReadModeName(mode), " needs readbytes > 0"));
      }
      return ReadBytes(out, block, readbytes, mode == ReadMode::kSpeculative);
    case ReadMode::kExhaustive:
      return Exhaustive(out, block);
  }
  return absl::InvalidArgumentError("CORE_IN: unknown read mode");
}

absl::Status CoreInputFilter::ReadBytes(Brigade& out, BlockMode block, size_t readbytes,
                                        bool keep) {
  if (absl::Status s = FillFront(block); !s.ok()) return s;
  if (TakeEnd(out)) return absl::OkStatus();
  return internal::TakeFront(pending_, std::min<uint64_t>(readbytes, FrontMemoryBytes()), out,
                             keep, block);
}

absl::Status internal::TakeFront(Brigade& from, uint64_t n, Brigade& out, bool keep,
                                 BlockMode block) {
  absl::StatusOr<Bucket*> end = from.Partition(n, block);
  if (!end.ok()) return end.status();
  for (Bucket* b = from.front(); b != *end;) {
    Bucket* next = from.Next(b);
    if (keep) {
      absl::StatusOr<BucketPtr> copy = b->Copy();
      if (!copy.ok()) return copy.status();
      out.Append(std::move(*copy));
    } else {
      out.Append(from.Remove(b));
    }
    b = next;
  }
  return absl::OkStatus();
}

absl::Status CoreInputFilter::GetLine(Brigade& out, BlockMode block, size_t max) {
  Brigade line(out.allocator());
  absl::StatusOr<Brigade::LineResult> r = pending_.SplitLine(line, max, block);
  if (!r.ok()) return r.status();
  bool got = !line.empty();
  out.Concat(line);
  if (got) return absl::OkStatus();
  if (*r == Brigade::LineResult::kIncomplete && block == BlockMode::kNonBlock &&
      !pending_.empty() && pending_.front()->is_source()) {
    return absl::UnavailableError("CORE_IN: no input ready");
  }
  TakeEnd(out);
  return absl::OkStatus();
}

absl::Status CoreInputFilter::EatCrlf(BlockMode block) {
  while (true) {
    // NONBLOCK with nothing to read says so (Unavailable), as every mode does: the caller can
    // go back to waiting instead of asking again at once.
    absl::Status s = FillFront(block);
    if (!s.ok()) return s;
    if (pending_.empty() || pending_.front()->is_metadata()) return absl::OkStatus();
    Bucket* b = pending_.front();
    absl::string_view v = b->view();
    size_t n = 0;
    while (n < v.size() && (v[n] == '\r' || v[n] == '\n')) ++n;
    if (n == v.size()) {
      pending_.Delete(b);
      continue;
    }
    b->ConsumeFront(n);
    return absl::OkStatus();
  }
}

absl::Status CoreInputFilter::Exhaustive(Brigade& out, BlockMode block) {
  while (true) {
    absl::Status s = FillFront(block);
    if (absl::IsUnavailable(s) && !out.empty()) return absl::OkStatus();
    if (!s.ok()) return s;
    if (TakeEnd(out)) {
      if (out.ends_with_eos()) return absl::OkStatus();
      continue;  // FLUSH or ERROR passed on in order; keep reading
    }
    while (!pending_.empty() && pending_.front()->is_memory()) {
      out.Append(pending_.Remove(pending_.front()));
    }
  }
}

}  // namespace brigade::filters
