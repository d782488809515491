#include "filters/stream_filter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace brigade::filters {
namespace {

class CallbackFilter : public OutputFilter {
 public:
  CallbackFilter(std::string name, FilterKind kind, StreamCallbacks callbacks,
                 FilterTraits traits)
      : OutputFilter(std::move(name), kind), cb_(std::move(callbacks)), traits_(traits) {}

  FilterTraits traits() const override { return traits_; }

  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override {
    Brigade out(bb.allocator());
    Emitter emitter(out);
    while (!bb.empty()) {
      Bucket* b = bb.front();
      if (b->is_metadata()) {
        if (absl::Status s = OnMetadata(*b, emitter); !s.ok()) return s;
        out.Append(bb.Remove(b));
        continue;
      }
      absl::StatusOr<absl::string_view> data = b->Read();
      if (!data.ok()) return Annotate(data.status());
      if (!data->empty()) {
        if (absl::Status s = cb_.on_data(*data, emitter); !s.ok()) return Annotate(s);
      }
      offset_ += data->size();
      bb.Delete(b);  // a read file bucket may have left its remainder after it
    }
    return PassNext(out);
  }

 private:
  [[nodiscard]] absl::Status OnMetadata(const Bucket& b, Emitter& emitter) {
    absl::Status s;
    if (b.is_flush() && cb_.on_flush) s = cb_.on_flush(emitter);
    if (b.is_eos() && cb_.on_eos) s = cb_.on_eos(emitter);
    return Annotate(s);
  }
  [[nodiscard]] absl::Status Annotate(const absl::Status& s) const {
    if (s.ok()) return s;
    return absl::Status(s.code(), absl::StrCat(name(), " at byte ", offset_, ": ", s.message()));
  }

  StreamCallbacks cb_;
  FilterTraits traits_;
  uint64_t offset_ = 0;  // input bytes consumed, for error messages
};

}  // namespace

std::unique_ptr<OutputFilter> MakeStreamFilter(std::string name, FilterKind kind,
                                               StreamCallbacks callbacks, FilterTraits traits) {
  return std::make_unique<CallbackFilter>(std::move(name), kind, std::move(callbacks), traits);
}

absl::StatusOr<size_t> StreamIo::Read(std::string* buf, size_t max) {
  buf->clear();
  while (!in_.empty() && buf->size() < max) {
    Bucket* b = in_.front();
    absl::StatusOr<absl::string_view> data = b->Read();
    if (!data.ok()) return data.status();
    size_t n = std::min(data->size(), max - buf->size());
    buf->append(data->data(), n);
    if (n == data->size()) {
      in_.Delete(b);
    } else {
      b->ConsumeFront(n);
    }
  }
  return buf->size();
}

absl::StatusOr<Flow> StreamLoopFilter::Filter(Brigade& bb) {
  Brigade out(bb.allocator());
  while (!bb.empty()) {
    // The data up to the next metadata bucket is one segment.
    Bucket* meta = nullptr;
    for (Bucket& b : bb) {
      if (b.is_metadata()) {
        meta = &b;
        break;
      }
    }
    Brigade rest = bb.SplitAt(meta);
    bool eos_next = meta != nullptr && meta->is_eos();
    if (!bb.empty() || eos_next) {
      StreamIo io(bb, out, eos_next);
      if (absl::Status s = Run(io); !s.ok()) {
        return absl::Status(s.code(), absl::StrCat(name(), ": ", s.message()));
      }
      if (!bb.empty()) {
        // Unread input would otherwise vanish without a trace.
        return absl::InternalError(absl::StrCat(name(), ": Run returned without reading ",
                                                bb.Length().value_or(0), " bytes of its input"));
      }
    }
    if (meta != nullptr) out.Append(rest.Remove(meta));
    bb = std::move(rest);
  }
  return PassNext(out);
}

}  // namespace brigade::filters
