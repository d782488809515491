#include "filters/input_stage.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "filters/core_input.h"

namespace brigade::filters {

// The input below the stage's filter: buckets the stage was passed, set aside, in order.
// NONBLOCK reads with nothing left say Unavailable until the stage's input has ended; then
// they return EOS.
class InputStage::Feed : public InputFilter {
 public:
  explicit Feed(BucketAllocator* allocator)
      : InputFilter("STAGE_FEED", FilterKind::kNetwork), pending_(allocator) {}

  // REQUIRES: `bb` holds data buckets only, none of them a source.
  void Add(Brigade& bb) {
    fed_ += bb.Length().value_or(0);
    bb.Setaside();
    pending_.Concat(bb);
  }
  void Close() { closed_ = true; }
  bool closed() const { return closed_; }
  uint64_t left() const { return pending_.Length().value_or(0); }
  uint64_t fed() const { return fed_; }

  [[nodiscard]] absl::Status Read(Brigade& out, ReadMode mode, BlockMode,
                                  size_t readbytes) override {
    switch (mode) {
      case ReadMode::kInit:
        return absl::OkStatus();
      case ReadMode::kEatCrlf:
        return EatCrlf();
      case ReadMode::kGetLine: {
        absl::StatusOr<Brigade::LineResult> r =
            pending_.SplitLine(out, readbytes == 0 ? 8192 : readbytes, BlockMode::kNonBlock);
        if (!r.ok()) return r.status();
        if (!out.empty()) return absl::OkStatus();
        return End(out);
      }
      case ReadMode::kReadBytes:
      case ReadMode::kSpeculative: {
        if (pending_.empty()) return End(out);
        uint64_t take = std::min<uint64_t>(std::max<size_t>(readbytes, 1), left());
        return internal::TakeFront(pending_, take, out, mode == ReadMode::kSpeculative);
      }
      case ReadMode::kExhaustive:
        if (pending_.empty()) return End(out);
        out.Concat(pending_);
        if (closed_) out.Append(Bucket::Eos(out.allocator()));
        return absl::OkStatus();
    }
    return absl::InvalidArgumentError("STAGE_FEED: unknown read mode");
  }

 private:
  [[nodiscard]] absl::Status End(Brigade& out) {
    if (!closed_) return absl::UnavailableError("no input yet");
    out.Append(Bucket::Eos(out.allocator()));
    return absl::OkStatus();
  }

  [[nodiscard]] absl::Status EatCrlf() {
    while (!pending_.empty()) {
      Bucket* b = pending_.front();
      absl::StatusOr<absl::string_view> v = b->Read();
      if (!v.ok()) return v.status();
      size_t n = 0;
      while (n < v->size() && ((*v)[n] == '\r' || (*v)[n] == '\n')) ++n;
      if (n < v->size()) {
        b->ConsumeFront(n);
        return absl::OkStatus();
      }
      pending_.Delete(b);
    }
    return absl::OkStatus();
  }

  Brigade pending_;
  uint64_t fed_ = 0;
  bool closed_ = false;
};

InputStage::InputStage(std::unique_ptr<InputFilter> filter, size_t read_size)
    : OutputFilter(filter->name(), filter->kind()),
      filter_(std::move(filter)),
      traits_(filter_->traits()),
      read_size_(read_size) {}

InputStage::~InputStage() = default;

absl::Status InputStage::Init() {
  chain_ = std::make_unique<InputChain>(&exchange(), nullptr, ChainOrder::kAsAdded);
  chain_->Add(std::move(filter_));
  auto feed = std::make_unique<Feed>(BucketAllocator::ForThisThread());
  feed_ = feed.get();
  chain_->Add(std::move(feed));
  return absl::OkStatus();
}

absl::StatusOr<Flow> InputStage::Filter(Brigade& bb) {
  Brigade data(bb.allocator());
  while (!bb.empty()) {
    Bucket* b = bb.front();
    if (b->is_eos()) {
      feed_->Close();
    } else if (b->is_flush()) {
      flush_ = true;
    } else if (b->is_metadata()) {
      // An ERROR bucket: the stream upstream failed; say so downstream at once.
      Brigade error(bb.allocator());
      error.Append(bb.Remove(b));
      absl::StatusOr<Flow> flow = PassNext(error);
      if (!flow.ok()) return flow;
      continue;
    } else {
      if (b->is_source()) {
        absl::StatusOr<absl::string_view> v = b->Read();
        if (!v.ok()) return v.status();
      }
      data.Append(bb.Remove(b));
      continue;
    }
    bb.Delete(b);
  }
  if (ended_) {
    uint64_t more = data.Length().value_or(0);
    if (more == 0) return Flow::kDone;
    return absl::InvalidArgumentError(absl::StrCat(name(), ": ", more,
                                                   " bytes after the end of its stream at byte ",
                                                   feed_->fed()));
  }
  feed_->Add(data);
  return Drain();
}

absl::StatusOr<Flow> InputStage::Drain() {
  while (true) {
    uint64_t before = feed_->left();
    Brigade got(BucketAllocator::ForThisThread());
    absl::Status s = chain_->Read(got, ReadMode::kReadBytes, BlockMode::kNonBlock, read_size_);
    if (absl::IsUnavailable(s)) break;
    if (!s.ok()) return s;
    bool eos = got.ends_with_eos();
    if (got.empty() && feed_->left() == before) {
      if (!feed_->closed()) break;
      return absl::InternalError(
          absl::StrCat(name(), ": returned nothing at the end of its input"));
    }
    if (eos) {
      ended_ = true;
      if (uint64_t left = feed_->left(); left > 0) {
        // What came before the error goes out first.
        got.Delete(got.back());
        absl::StatusOr<Flow> flow = PassNext(got);
        if (!flow.ok()) return flow;
        return absl::InvalidArgumentError(
            absl::StrCat(name(), ": ", left, " bytes after the end of its stream at byte ",
                         feed_->fed() - left));
      }
    }
    absl::StatusOr<Flow> flow = PassNext(got);
    if (!flow.ok() || eos || *flow == Flow::kAgain) return flow;
  }
  if (flush_) {
    flush_ = false;
    Brigade flush(BucketAllocator::ForThisThread());
    flush.Append(Bucket::Flush(flush.allocator()));
    return PassNext(flush);
  }
  return Flow::kDone;
}

}  // namespace brigade::filters
