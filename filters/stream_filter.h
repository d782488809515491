// The stream API: output filters written as "here is some text, emit some text, here is the
// end", without touching buckets. Two styles:
//
//  1. Callbacks — MakeStreamFilter(name, kind, callbacks): on_data gets each data bucket's bytes
//     as a view, on_flush and on_eos run at FLUSH and EOS; each may emit text.
//  2. A read/print loop in the style of mod_perl's $f->read / $f->print — subclass
//     StreamLoopFilter and implement Run(StreamIo&).
//
// Either way the adapter reads file buckets into memory, keeps metadata order (what the filter
// emits for the data before a FLUSH goes out before that FLUSH), runs the end-of-stream step
// exactly once and passes EOS on after it. Emitted text is copied (it may die with the call).
//
// Example (upper-casing, callbacks style):
//   StreamCallbacks cb;
//   cb.on_data = [](absl::string_view in, Emitter& out) {
//     return out.Emit(absl::AsciiStrToUpper(in));
//   };
//   chain.Add(MakeStreamFilter("UPPER", FilterKind::kResource, std::move(cb)));

#ifndef FILTERS_STREAM_FILTER_H_
#define FILTERS_STREAM_FILTER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "filters/filter.h"

namespace brigade::filters {

// Where a stream filter's output goes: appended to the brigade passed on at the end of the call.
class Emitter {
 public:
  explicit Emitter(Brigade& out) : out_(out) {}
  // Copies `text` into the output.
  [[nodiscard]] absl::Status Emit(absl::string_view text) { return out_.WriteCopy(text); }
  // Adopts `text` without copying.
  [[nodiscard]] absl::Status EmitOwned(std::string text) {
    return out_.WriteOwned(std::move(text));
  }

 private:
  Brigade& out_;
};

struct StreamCallbacks {
  std::function<absl::Status(absl::string_view data, Emitter& out)> on_data;  // required
  std::function<absl::Status(Emitter& out)> on_flush;  // optional: before FLUSH goes on
  std::function<absl::Status(Emitter& out)> on_eos;    // optional: before EOS goes on
};

// An output filter running `callbacks`. Each instance needs its own callbacks (their captured
// state is the filter's context), so make one per response.
std::unique_ptr<OutputFilter> MakeStreamFilter(std::string name, FilterKind kind,
                                               StreamCallbacks callbacks,
                                               FilterTraits traits = FilterTraits());

// The read/print side of one call of a StreamLoopFilter.
class StreamIo {
 public:
  // Copies up to `max` bytes of this segment's data into `*buf` (replacing its contents) and
  // returns how many; 0 when this segment's data is used up.
  [[nodiscard]] absl::StatusOr<size_t> Read(std::string* buf, size_t max);
  [[nodiscard]] absl::Status Print(absl::string_view text) { return out_.WriteCopy(text); }
  // True iff EOS follows this segment: the last chance to print.
  bool seen_eos() const { return seen_eos_; }

 private:
  friend class StreamLoopFilter;
  StreamIo(Brigade& in, Brigade& out, bool seen_eos) : in_(in), out_(out), seen_eos_(seen_eos) {}
  Brigade& in_;
  Brigade& out_;
  bool seen_eos_;
};

// Subclass and implement Run(). Run is called for each stretch of data between metadata buckets
// (and once with no data before an EOS, so that a filter holding text can print it). Run must
// read its segment to the end (Read returning 0); unread input is an Internal error, never
// dropped silently.
class StreamLoopFilter : public OutputFilter {
 public:
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) final;

 protected:
  using OutputFilter::OutputFilter;
  [[nodiscard]] virtual absl::Status Run(StreamIo& io) = 0;
};

}  // namespace brigade::filters

#endif  // FILTERS_STREAM_FILTER_H_
