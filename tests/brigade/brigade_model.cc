#include "tests/brigade/brigade_model.h"

#include <sys/uio.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace brigade::testing_util {
namespace {

const std::string& StaticText() {
  static const std::string* const kText = [] {
    auto* s = new std::string;
    for (int i = 0; i < 500; ++i) *s += static_cast<char>(i % 11 == 0 ? '\n' : 'a' + i % 26);
    return s;
  }();
  return *kText;
}

}  // namespace

std::string BrigadeModel::FileContent() {
  std::string s;
  for (int i = 0; i < 2000; ++i) s += static_cast<char>(i % 7 == 6 ? '\n' : 'A' + i % 23);
  return s;
}

// Blocks of 32 bytes and a low mmap threshold, so that small operations cross block and
// storage boundaries.
BrigadeModel::BrigadeModel(Choices& choices, Ref<File> file)
    : choices_(choices),
      alloc_(BucketAllocator::Create({.block_size = 32, .mmap_threshold = 300})),
      bb_(alloc_.get()),
      file_(std::move(file)) {}

bool BrigadeModel::Fail(std::string what) {
  failure_ = absl::StrCat(what, " (brigade: ", bb_.DebugString(), ")");
  return false;
}

bool BrigadeModel::Step() {
  bool ok = true;
  switch (choices_.Uniform(0, 15)) {
    case 0: ok = WriteSmall(); break;
    case 1: ok = WriteLarge(); break;
    case 2: ok = AppendImmortal(); break;
    case 3: ok = AppendFile(); break;
    case 4: ok = PrependImmortal(); break;
    case 5: ok = SplitRandomBucket(); break;
    case 6: ok = PartitionAndRejoin(); break;
    case 7: ok = DropPrefixOf(choices_.Uniform(0, model_.size())); break;
    case 8: ok = SplitLineAndPutBack(); break;
    case 9: ok = FlattenPrefix(); break;
    case 10: ok = ExportIovec(); break;
    case 11: ok = CopyRandomBucket(); break;
    case 12: ok = InsertFlush(); break;
    case 13: ok = ReadRandomBucket(); break;
    case 14: bb_.Setaside(); break;
    case 15: ok = TruncateTail(); break;
  }
  if (ok && model_.size() > 16384) ok = DropPrefixOf(model_.size() - 4096);
  return ok;
}

bool BrigadeModel::Check() {
  if (bb_.Length() != model_.size()) {
    return Fail(absl::StrCat("length ", bb_.Length().value_or(~0ull), ", model ", model_.size()));
  }
  absl::StatusOr<std::string> all = bb_.FlattenToString(1 << 20);
  if (!all.ok()) return Fail(absl::StrCat("flatten: ", all.status().ToString()));
  if (*all != model_) return Fail("the bytes differ from the model's");
  for (const Bucket& b : bb_) {
    if (!b.is_metadata() && b.length() == 0) return Fail("an empty data bucket");
  }
  return true;
}

std::string BrigadeModel::RandomText(size_t n) {
  std::string s(n, ' ');
  for (char& c : s) c = "abcxyz\n\r 0"[choices_.Uniform(0, 9)];
  return s;
}

Bucket* BrigadeModel::RandomBucket() {
  size_t n = bb_.bucket_count();
  if (n == 0) return nullptr;
  size_t k = choices_.Uniform(0, n - 1);
  Bucket* b = bb_.front();
  while (k-- > 0) b = bb_.Next(b);
  return b;
}

bool BrigadeModel::WriteSmall() {
  std::string s = RandomText(choices_.Uniform(1, 40));
  if (absl::Status st = bb_.Write(s); !st.ok()) return Fail(st.ToString());
  model_ += s;
  return true;
}

bool BrigadeModel::WriteLarge() {
  std::string s = RandomText(choices_.Uniform(512, 3000));
  if (absl::Status st = bb_.Write(s); !st.ok()) return Fail(st.ToString());
  bb_.Setaside();  // transient: must be set aside before `s` dies
  model_ += s;
  return true;
}

bool BrigadeModel::AppendImmortal() {
  const std::string& text = StaticText();
  size_t off = choices_.Uniform(0, text.size() - 1);
  size_t len = choices_.Uniform(1, text.size() - off);
  bb_.Append(Bucket::Immortal(alloc_.get(), absl::string_view(text).substr(off, len)));
  model_ += text.substr(off, len);
  return true;
}

bool BrigadeModel::AppendFile() {
  size_t off = choices_.Uniform(0, file_content_.size() - 1);
  size_t len = choices_.Uniform(1, std::min<size_t>(file_content_.size() - off, 900));
  bb_.Append(Bucket::FileRange(alloc_.get(), file_, off, len));
  model_ += file_content_.substr(off, len);
  return true;
}

bool BrigadeModel::PrependImmortal() {
  bb_.Prepend(Bucket::Immortal(alloc_.get(), "pre\n"));
  model_.insert(0, "pre\n");
  return true;
}

bool BrigadeModel::SplitRandomBucket() {
  Bucket* b = RandomBucket();
  if (b == nullptr || b->is_metadata() || b->length() < 2) return true;
  absl::StatusOr<Bucket*> rest = b->Split(choices_.Uniform(1, b->length() - 1));
  return rest.ok() || Fail(absl::StrCat("split: ", rest.status().ToString()));
}

bool BrigadeModel::PartitionAndRejoin() {
  uint64_t at = choices_.Uniform(0, model_.size());
  absl::StatusOr<Brigade> tail = bb_.SplitAtOffset(at);
  if (!tail.ok()) return Fail(absl::StrCat("split at ", at, ": ", tail.status().ToString()));
  if (bb_.Length() != at) return Fail(absl::StrCat("split at ", at, " left another length"));
  bb_.Concat(*tail);
  return true;
}

bool BrigadeModel::DropPrefixOf(uint64_t n) {
  absl::StatusOr<Brigade> tail = bb_.SplitAtOffset(n);
  if (!tail.ok()) return Fail(absl::StrCat("split at ", n, ": ", tail.status().ToString()));
  bb_ = *std::move(tail);
  model_.erase(0, n);
  return true;
}

bool BrigadeModel::TruncateTail() {
  uint64_t keep = choices_.Uniform(0, model_.size());
  absl::StatusOr<Brigade> tail = bb_.SplitAtOffset(keep);
  if (!tail.ok()) return Fail(absl::StrCat("split at ", keep, ": ", tail.status().ToString()));
  model_.resize(keep);
  return true;
}

bool BrigadeModel::SplitLineAndPutBack() {
  size_t max = choices_.Uniform(1, 64);
  Brigade line(alloc_.get());
  absl::StatusOr<Brigade::LineResult> r = bb_.SplitLine(line, max);
  if (!r.ok()) return Fail(absl::StrCat("split line: ", r.status().ToString()));
  absl::StatusOr<std::string> got = line.FlattenToString(max);
  if (!got.ok()) return Fail(absl::StrCat("flatten line: ", got.status().ToString()));
  // SplitLine stops early at metadata, so the line is a prefix of what the model predicts.
  size_t lf = model_.find('\n');
  size_t expect_len = std::min(lf == std::string::npos ? model_.size() : lf + 1, max);
  if (got->size() > expect_len || *got != model_.substr(0, got->size())) {
    return Fail(absl::StrCat("line of ", got->size(), " bytes, model ", expect_len));
  }
  if (*r == Brigade::LineResult::kComplete && got->size() != lf + 1) {
    return Fail("a complete line that does not end at the model's LF");
  }
  if (*r == Brigade::LineResult::kTooLong && got->size() != max) {
    return Fail("a too-long line shorter than its limit");
  }
  bb_.PrependBrigade(line);
  return true;
}

bool BrigadeModel::FlattenPrefix() {
  std::string buf(choices_.Uniform(0, 200), '\0');
  absl::StatusOr<size_t> n = bb_.Flatten(absl::MakeSpan(buf));
  if (!n.ok()) return Fail(absl::StrCat("flatten: ", n.status().ToString()));
  if (*n != std::min(buf.size(), model_.size()) || buf.substr(0, *n) != model_.substr(0, *n)) {
    return Fail(absl::StrCat("flatten of ", buf.size(), " bytes gave ", *n, " other bytes"));
  }
  return true;
}

bool BrigadeModel::ExportIovec() {
  iovec iov[8];
  Brigade::IovecExport e = bb_.ToIovec(iov, 8);
  std::string joined;
  for (size_t i = 0; i < e.count; ++i) {
    joined.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
  }
  if (joined.size() != e.bytes || joined != model_.substr(0, joined.size())) {
    return Fail("iovecs differ from the model's prefix");
  }
  if (e.stop == nullptr && joined.size() != model_.size()) {
    return Fail("iovecs stopped short without naming where");
  }
  return true;
}

bool BrigadeModel::CopyRandomBucket() {
  Bucket* b = RandomBucket();
  if (b == nullptr) return true;
  absl::StatusOr<BucketPtr> c = b->Copy();
  if (!c.ok()) return Fail(absl::StrCat("copy: ", c.status().ToString()));
  std::string content;
  if (!b->is_metadata()) {
    absl::StatusOr<absl::string_view> v = (*c)->Read();
    if (!v.ok()) return true;  // an unlinked large file copy cannot be read whole: skip it
    content = std::string(*v);
  }
  bb_.Append(*std::move(c));
  model_ += content;
  return true;
}

bool BrigadeModel::InsertFlush() {
  Bucket* b = RandomBucket();
  if (b == nullptr) {
    bb_.Append(Bucket::Flush(alloc_.get()));
  } else {
    bb_.InsertBefore(b, Bucket::Flush(alloc_.get()));
  }
  return true;
}

bool BrigadeModel::ReadRandomBucket() {
  Bucket* b = RandomBucket();
  if (b == nullptr) return true;
  absl::StatusOr<absl::string_view> v = b->Read();
  return v.ok() || Fail(absl::StrCat("read: ", v.status().ToString()));
}

}  // namespace brigade::testing_util
