// BrigadeModel: applies a sequence of brigade operations (writes, immortal and file buckets,
// splits, partitions, concatenation, line splits, flattening, iovec export, copies, flushes,
// set-aside, truncation) both to a Brigade and to a std::string holding the same bytes, and
// compares the two after every step. The unit test draws the operations from a seeded
// generator; the fuzz target (//brigade/fuzz:brigade_fuzzer) from the fuzzer's bytes.
//
// Thread-safety: none.

#ifndef TESTS_BRIGADE_BRIGADE_MODEL_H_
#define TESTS_BRIGADE_BRIGADE_MODEL_H_

#include <cstddef>
#include <string>

#include "brigade/allocator.h"
#include "brigade/brigade.h"
#include "brigade/storage.h"

namespace brigade::testing_util {

// Where a model run takes its choices from.
class Choices {
 public:
  virtual ~Choices() = default;
  // A number in [lo, hi]. REQUIRES: lo <= hi.
  virtual size_t Uniform(size_t lo, size_t hi) = 0;
};

class BrigadeModel {
 public:
  // The bytes file buckets are cut from: `file` holds `content`.
  static std::string FileContent();

  // REQUIRES: `choices` outlives the model; `file` holds FileContent().
  BrigadeModel(Choices& choices, Ref<File> file);

  // Applies one operation. False when the brigade disagreed with the model: failure() says
  // where.
  bool Step();
  // Compares the whole brigade with the model. False on a difference: failure() says what.
  bool Check();
  const std::string& failure() const { return failure_; }

 private:
  bool Fail(std::string what);
  Bucket* RandomBucket();
  std::string RandomText(size_t n);

  bool WriteSmall();
  bool WriteLarge();
  bool AppendImmortal();
  bool AppendFile();
  bool PrependImmortal();
  bool SplitRandomBucket();
  bool PartitionAndRejoin();
  bool DropPrefixOf(uint64_t n);
  bool TruncateTail();
  bool SplitLineAndPutBack();
  bool FlattenPrefix();
  bool ExportIovec();
  bool CopyRandomBucket();
  bool InsertFlush();
  bool ReadRandomBucket();

  Choices& choices_;
  AllocatorHandle alloc_;
  Brigade bb_;
  std::string model_;
  const std::string file_content_ = FileContent();
  Ref<File> file_;
  std::string failure_;
};

}  // namespace brigade::testing_util

#endif  // TESTS_BRIGADE_BRIGADE_MODEL_H_
