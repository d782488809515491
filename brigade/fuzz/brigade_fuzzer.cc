// libFuzzer target: a differential test of the brigade. The fuzzer's bytes choose a sequence of
// operations (BrigadeModel: writes, immortal and file buckets, split, partition, concat, line
// splits, flatten, to_iovec, copies, flushes, set-aside, truncation), applied to a Brigade and
// to a plain string; the two are compared after every step. Invariants: no crash or sanitizer
// report, and the brigade always holds exactly the model's bytes.

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "tests/brigade/brigade_model.h"
#include "tests/brigade/test_util.h"

namespace {

using brigade::testing_util::BrigadeModel;

// Two bytes per choice; the input running out ends the run.
class FuzzChoices : public brigade::testing_util::Choices {
 public:
  FuzzChoices(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  size_t Uniform(size_t lo, size_t hi) override {
    size_t v = 0;
    for (int i = 0; i < 2 && at_ < size_; ++i) v = v << 8 | data_[at_++];
    return lo + v % (hi - lo + 1);
  }
  bool exhausted() const { return at_ >= size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Opened once; the name goes at once, the open file stays for every run.
  static const brigade::Ref<brigade::File>* const kFile = [] {
    brigade::testing_util::TempFile file(BrigadeModel::FileContent());
    return new brigade::Ref<brigade::File>(file.file());
  }();
  FuzzChoices choices(data, size);
  BrigadeModel model(choices, *kFile);
  while (!choices.exhausted()) {
    if (!model.Step() || !model.Check()) {
      fprintf(stderr, "brigade and model differ: %s\n", model.failure().c_str());
      abort();
    }
  }
  return 0;
}
