#include "builtin/filters/inflate_filter.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace brigade::filters {
namespace {

bool IsGzip(absl::string_view coding) {
  coding = absl::StripAsciiWhitespace(coding);
  return absl::EqualsIgnoreCase(coding, "gzip") || absl::EqualsIgnoreCase(coding, "x-gzip");
}

// Decoded bytes passed on at a time by the output filter.
constexpr size_t kPassBytes = 64 * 1024;

[[nodiscard]] absl::Status Named(const absl::Status& s) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat("INFLATE: ", s.message()));
}

struct Decoded {
  size_t consumed = 0;
  size_t produced = 0;
};

// Decodes `in` into heap buckets of `block_size` appended to `out`, until `in` is used up and
// zlib holds nothing more, or `max_out` decoded bytes were made.
[[nodiscard]] absl::StatusOr<Decoded> DecodeInto(GzipDecoder& decoder, absl::string_view in,
                                                 Brigade& out, size_t block_size, size_t max_out) {
  Decoded d;
  while (d.produced < max_out) {
    Ref<HeapBlock> block = out.allocator()->AllocateBlock(block_size);
    absl::StatusOr<GzipDecoder::Step> step =
        decoder.Decode(in.substr(d.consumed), block->data(), block->capacity());
    if (!step.ok()) return Named(step.status());
    d.consumed += step->consumed;
    d.produced += step->produced;
    if (step->produced > 0) {
      block->Commit(step->produced);
      out.Append(Bucket::Heap(out.allocator(), std::move(block), 0, step->produced));
    }
    // Less than a full block with all input taken: zlib has nothing more for now.
    if (step->produced < block_size && d.consumed == in.size()) break;
    if (step->produced == 0 && step->consumed == 0) break;
  }
  return d;
}

}  // namespace

const OptionTable<InflateOptions>& InflateOptions::Table() {
  using O = InflateOptions;
  static const auto* table =
      &(*new OptionTable<O>())
           .Int("limit", [](O& o) -> uint64_t& { return o.codec.max_output; }, 0,
                int64_t{1} << 50, "largest decoded size in bytes over all members, 0 = none")
           .Int("ratio", [](O& o) -> uint64_t& { return o.codec.max_ratio; }, 0, 1 << 20,
                "largest decoded/compressed ratio, 0 = none")
           .Int("block", [](O& o) -> size_t& { return o.block_size; }, 64, 1 << 20,
                "decoded block bytes")
           .Custom("backend",
                   [](absl::string_view name, O& o) {
                     return ParseGzipBackendInto(name, o.codec.backend);
                   },
                   "zlib", "zlib (portable) or isal (ISA-L, faster)");
  return *table;
}

// --- input ---

absl::Status InflateInputFilter::DecodePending(size_t want) {
  while (pending_out_->Length().value_or(0) < want) {
    size_t room = want - pending_out_->Length().value_or(0);
    if (pending_in_->empty()) {
      // No input left, but zlib may still hold output from a block that filled up.
      absl::StatusOr<Decoded> d = DecodeInto(*decoder_, {}, *pending_out_, options_.block_size, room);
      if (!d.ok()) return d.status();
      if (d->produced == 0) break;
      continue;
    }
    Bucket* b = pending_in_->front();
    if (b->is_metadata()) {
      pending_in_->Delete(b);
      continue;
    }
    absl::StatusOr<absl::string_view> data = b->Read();
    if (!data.ok()) return data.status();
    absl::StatusOr<Decoded> d =
        DecodeInto(*decoder_, *data, *pending_out_, options_.block_size, room);
    if (!d.ok()) return d.status();
    if (d->consumed == data->size()) {
      pending_in_->Delete(b);
    } else {
      b->ConsumeFront(d->consumed);
    }
  }
  return absl::OkStatus();
}

absl::Status InflateInputFilter::Read(Brigade& out, ReadMode mode, BlockMode block,
                                      size_t readbytes) {
  if (!started_) {
    started_ = true;
    HeaderMap& h = exchange().request_headers;
    if (!IsGzip(h.Get("Content-Encoding").value_or(""))) {
      RemoveSelf();
      return ReadNext(out, mode, block, readbytes);
    }
    h.Remove("Content-Encoding");
    h.Remove("Content-Length");
    absl::StatusOr<std::unique_ptr<GzipDecoder>> d = GzipDecoder::Create(options_.codec);
    if (!d.ok()) return d.status();
    decoder_ = std::move(*d);
    pending_in_ = std::make_unique<Brigade>(out.allocator());
    pending_out_ = std::make_unique<Brigade>(out.allocator());
  }
  if (mode == ReadMode::kInit) return absl::OkStatus();
  if (mode != ReadMode::kReadBytes) {
    return absl::UnimplementedError(
        absl::StrCat("INFLATE: ", ReadModeName(mode), " reads of a gzip body are not supported"));
  }
  while (true) {
    if (failed_.ok()) failed_ = DecodePending(readbytes);
    // What was decoded before an error is read first.
    if (!failed_.ok() && pending_out_->empty()) return failed_;
    if (!pending_out_->empty()) {
      absl::StatusOr<Brigade> rest =
          pending_out_->SplitAtOffset(std::min<uint64_t>(readbytes, *pending_out_->Length()));
      if (!rest.ok()) return rest.status();
      out.Concat(*pending_out_);
      *pending_out_ = std::move(*rest);
      return absl::OkStatus();
    }
    if (eos_below_) {
      if (absl::Status s = decoder_->Finish(); !s.ok()) return Named(s);
      out.Append(Bucket::Eos(out.allocator()));
      return absl::OkStatus();
    }
    Brigade raw(out.allocator());
    if (absl::Status s = ReadNext(raw, ReadMode::kReadBytes, block, options_.block_size);
        !s.ok()) {
      return s;
    }
    eos_below_ = raw.ends_with_eos();
    raw.Setaside();
    pending_in_->Concat(raw);
  }
}

// --- output ---

absl::StatusOr<Flow> InflateOutputFilter::Filter(Brigade& bb) {
  if (!started_) {
    if (bb.empty()) return Flow::kDone;
    started_ = true;
    HeaderMap& h = exchange().response_headers;
    std::optional<absl::string_view> ce = h.Get("Content-Encoding");
    if (ce.has_value() && !IsGzip(*ce)) {
      RemoveSelf();
      return PassNext(bb);
    }
    h.Remove("Content-Encoding");
    h.Remove("Content-Length");
    absl::StatusOr<std::unique_ptr<GzipDecoder>> d = GzipDecoder::Create(options_.codec);
    if (!d.ok()) return d.status();
    decoder_ = std::move(*d);
  }
  Brigade out(bb.allocator());
  while (!bb.empty()) {
    Bucket* b = bb.front();
    if (b->is_eos()) {
      if (absl::Status s = decoder_->Finish(); !s.ok()) return Named(s);
      RemoveSelf();
    }
    if (b->is_metadata()) {
      out.Append(bb.Remove(b));
      continue;
    }
    absl::StatusOr<absl::string_view> data = b->Read();
    if (!data.ok()) return data.status();
    // Decode in steps of kPassBytes so that a highly compressed bucket never sits in memory
    // decoded whole.
    absl::string_view rest = *data;
    while (true) {
      absl::StatusOr<Decoded> d =
          DecodeInto(*decoder_, rest, out, options_.block_size, kPassBytes);
      if (!d.ok()) {
        // What was decoded before the error goes out first.
        absl::StatusOr<Flow> flow = PassNext(out);
        if (!flow.ok()) return flow;
        return d.status();
      }
      rest.remove_prefix(d->consumed);
      if (out.Length().value_or(0) >= kPassBytes) {
        absl::StatusOr<Flow> flow = PassNext(out);
        if (!flow.ok()) return flow;
      }
      if (rest.empty() && d->produced < kPassBytes) break;
    }
    bb.Delete(b);
  }
  return PassNext(out);
}

}  // namespace brigade::filters
