// Network stand-ins for driving resumable handlers without an event loop: an output sink that
// answers kAgain past a small buffer until the test drains it, and an input source that has
// nothing ready until the test delivers bytes.

#ifndef TESTS_HANDLERS_TEST_DOUBLES_H_
#define TESTS_HANDLERS_TEST_DOUBLES_H_

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "filters/filter.h"

namespace brigade::handlers::test {

// NETWORK output filter: holds what it is passed; answers kAgain while it holds more than
// `capacity` bytes, as CORE_OUT does with a full socket. Drain() "sends" what it holds.
class ThrottledSink : public filters::OutputFilter {
 public:
  ThrottledSink(Brigade* wire, uint64_t capacity)
      : OutputFilter("THROTTLED_SINK", filters::FilterKind::kNetwork),
        wire_(wire),
        capacity_(capacity),
        held_(wire->allocator()) {}
  [[nodiscard]] absl::StatusOr<filters::Flow> Filter(Brigade& bb) override {
    ++calls_;
    bb.Setaside();
    held_.Concat(bb);
    most_held_ = std::max(most_held_, held_bytes());
    return held_bytes() > capacity_ ? filters::Flow::kAgain : filters::Flow::kDone;
  }
  void Drain() { wire_->Concat(held_); }
  uint64_t held_bytes() const { return held_.Length().value_or(0); }
  uint64_t most_held() const { return most_held_; }
  int calls() const { return calls_; }

 private:
  Brigade* wire_;
  uint64_t capacity_;
  Brigade held_;
  uint64_t most_held_ = 0;
  int calls_ = 0;
};

// NETWORK input filter: serves READBYTES and GETLINE from what was delivered; NONBLOCK with
// nothing delivered is Unavailable; after End() and everything read, EOS.
class TrickleSource : public filters::InputFilter {
 public:
  TrickleSource() : InputFilter("TRICKLE", filters::FilterKind::kNetwork) {}
  void Deliver(absl::string_view bytes) { data_ += std::string(bytes); }
  void End() { ended_ = true; }
  int unavailable() const { return unavailable_; }

  [[nodiscard]] absl::Status Read(Brigade& out, filters::ReadMode mode, BlockMode block,
                                  size_t readbytes) override {
    if (mode == filters::ReadMode::kInit) return absl::OkStatus();
    if (data_.empty()) {
      if (ended_) {
        out.Append(Bucket::Eos(out.allocator()));
        return absl::OkStatus();
      }
      if (block == BlockMode::kBlock) return absl::FailedPreconditionError("TRICKLE: would block");
      ++unavailable_;
      return absl::UnavailableError("TRICKLE: nothing delivered");
    }
    size_t n = std::min(data_.size(), readbytes == 0 ? data_.size() : readbytes);
    if (mode == filters::ReadMode::kGetLine) {
      size_t lf = data_.find('\n');
      if (lf != std::string::npos && lf + 1 < n) n = lf + 1;
    }
    if (absl::Status s = out.WriteCopy(data_.substr(0, n)); !s.ok()) return s;
    data_.erase(0, n);
    return absl::OkStatus();
  }

 private:
  std::string data_;
  bool ended_ = false;
  int unavailable_ = 0;
};

// The bytes and metadata that reached `wire`: "body<FLUSH><EOS>".
inline std::string Render(const Brigade& wire) {
  std::string out;
  for (const Bucket& b : wire) {
    if (b.is_metadata()) {
      absl::StrAppend(&out, "<", b.kind_name(), ">");
    } else {
      Bucket& m = const_cast<Bucket&>(b);
      absl::StrAppend(&out, *m.Read());
    }
  }
  return out;
}

}  // namespace brigade::handlers::test

#endif  // TESTS_HANDLERS_TEST_DOUBLES_H_
