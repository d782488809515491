// InputStage: runs one input filter as a stage of an output stream, so that a decoder (DECHUNK,
// INFLATE's input form, a user's input filter) can sit anywhere in a chain run in the order
// named, as brigade-filter runs it ("DEFLATE CHUNK DECHUNK INFLATE" is the identity).
//
// What the stage is passed becomes the input below its filter (a feed of set-aside buckets);
// it then reads the filter NONBLOCK until the filter needs more input, passing what it returns
// down the chain. Data buckets keep their kind: a file range the filter passes up unread (as
// DECHUNK does with chunk data) stays a file range. The filter's EOS is the stream's end; input
// left over after it is an error naming the filter, never silently dropped. A FLUSH in the
// input is passed on after everything the filter could decode before it.
//
// The stage is named after its filter and reports its filter's kind and traits.
//
// Thread-safety: none; belongs to its chain's thread.

#ifndef FILTERS_INPUT_STAGE_H_
#define FILTERS_INPUT_STAGE_H_

#include <cstddef>
#include <memory>

#include "filters/chain.h"
#include "filters/filter.h"

namespace brigade::filters {

class InputStage : public OutputFilter {
 public:
  // `read_size`: the most bytes asked of the filter per read.
  InputStage(std::unique_ptr<InputFilter> filter, size_t read_size = 64 * 1024);
  ~InputStage() override;

  [[nodiscard]] absl::Status Init() override;
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override;
  FilterTraits traits() const override { return traits_; }

 private:
  class Feed;
  // Reads the filter until it needs more input or ends, passing what it returns on.
  [[nodiscard]] absl::StatusOr<Flow> Drain();

  std::unique_ptr<InputFilter> filter_;  // until Init moves it into chain_
  FilterTraits traits_;
  size_t read_size_;
  std::unique_ptr<InputChain> chain_;
  Feed* feed_ = nullptr;  // owned by chain_
  bool flush_ = false;    // a FLUSH came in: pass one on once the filter is drained
  bool ended_ = false;    // the filter returned EOS
};

}  // namespace brigade::filters

#endif  // FILTERS_INPUT_STAGE_H_
