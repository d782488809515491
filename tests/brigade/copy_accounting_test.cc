// Copy accounting: the operations that promise zero copies copy zero bytes, and the writer
// copies exactly what it packs.

#include <sys/uio.h>

#include <string>

#include "brigade/brigade.h"
#include "gtest/gtest.h"
#include "tests/brigade/test_util.h"

namespace brigade {
namespace {

class CopyAccountingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 8; ++i) {
      std::string chunk(3000, static_cast<char>('a' + i));
      ASSERT_TRUE(source_.Write(chunk).ok());
      source_.Setaside();  // the write was transient: keep it past `chunk`
    }
    before_ = GlobalCopyStats();
    local_before_ = source_.stats();
  }
  CopyStats GlobalDelta() const { return GlobalCopyStats().Since(before_); }
  CopyStats LocalDelta() const { return source_.stats().Since(local_before_); }

  AllocatorHandle alloc_ = BucketAllocator::Create({.block_size = 1024});
  Brigade source_{alloc_.get()};
  CopyStats before_;
  CopyStats local_before_;
};

TEST_F(CopyAccountingTest, SplitCopiesZeroBytes) {
  size_t before = source_.bucket_count();
  for (Bucket* b = source_.front(); b != nullptr; b = source_.Next(b)) {
    absl::StatusOr<Bucket*> tail = b->Split(b->length() / 2);
    ASSERT_TRUE(tail.ok()) << tail.status();
    b = *tail;  // step over the new half
  }
  EXPECT_EQ(source_.bucket_count(), 2 * before);
  EXPECT_EQ(GlobalDelta().bytes_copied, 0u);
}

TEST_F(CopyAccountingTest, ConcatAndSplitAtCopyZeroBytes) {
  Brigade tail = source_.SplitAt(source_.Next(source_.front()));
  Brigade other(alloc_.get());
  other.Concat(tail);
  other.Concat(source_);
  EXPECT_EQ(GlobalDelta().bytes_copied, 0u);
  EXPECT_EQ(other.Length(), 24000u);
}

TEST_F(CopyAccountingTest, PartitionCopiesZeroBytes) {
  for (uint64_t offset : {1u, 2999u, 3000u, 12345u, 23999u}) {
    ASSERT_TRUE(source_.Partition(offset).ok());
  }
  absl::StatusOr<Brigade> tail = source_.SplitAtOffset(7777);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(GlobalDelta().bytes_copied, 0u);
  EXPECT_EQ(LocalDelta().bytes_copied, 0u);
}

TEST_F(CopyAccountingTest, ToIovecCopiesZeroBytesAndCountsShared) {
  iovec iov[64];
  Brigade::IovecExport e = source_.ToIovec(iov, 64);
  EXPECT_EQ(e.bytes, 24000u);
  EXPECT_EQ(GlobalDelta().bytes_copied, 0u);
  EXPECT_EQ(LocalDelta().bytes_shared, 24000u);
}

TEST_F(CopyAccountingTest, LargeWritesCopyZeroBytes) {
  Brigade bb(alloc_.get());
  std::string big(64 * 1024, 'x');
  ASSERT_TRUE(bb.Write(big).ok());
  ASSERT_TRUE(bb.WriteOwned(std::string(10000, 'y')).ok());
  EXPECT_EQ(GlobalDelta().bytes_copied, 0u);
  EXPECT_EQ(bb.stats().bytes_copied, 0u);
  EXPECT_EQ(bb.stats().bytes_shared, 64u * 1024 + 10000);
}

TEST_F(CopyAccountingTest, SmallWritesCopyExactlyWhatTheyPack) {
  Brigade bb(alloc_.get());
  uint64_t written = 0;
  for (int i = 1; i < 200; ++i) {
    std::string s(static_cast<size_t>(i % 37), 'w');
    ASSERT_TRUE(bb.Write(s).ok());
    written += s.size();
  }
  EXPECT_EQ(bb.stats().bytes_copied, written);
  EXPECT_EQ(GlobalDelta().bytes_copied, written);
  EXPECT_EQ(bb.Length(), written);
  // Packed: ceil(written / block_size) buckets, not one per write.
  EXPECT_EQ(bb.bucket_count(), (written + 1023) / 1024);
}

TEST_F(CopyAccountingTest, FlattenCountsItsCopyAndOneFlatten) {
  std::string out(24000, '\0');
  absl::StatusOr<size_t> n = source_.Flatten(absl::MakeSpan(out));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(LocalDelta().bytes_copied, 24000u);
  EXPECT_EQ(LocalDelta().flattens, 1u);
  EXPECT_EQ(GlobalDelta().flattens, 1u);
}

TEST(CopyStatsTest, SinceSubtractsFieldByField) {
  CopyStats a{.bytes_copied = 10, .bytes_shared = 20, .bytes_read = 30, .blocks_allocated = 4,
              .flattens = 5};
  CopyStats b{.bytes_copied = 1, .bytes_shared = 2, .bytes_read = 3, .blocks_allocated = 1,
              .flattens = 1};
  CopyStats expected{.bytes_copied = 9, .bytes_shared = 18, .bytes_read = 27,
                     .blocks_allocated = 3, .flattens = 4};
  EXPECT_EQ(a.Since(b), expected);
  b += expected;
  EXPECT_EQ(b, a);
  EXPECT_EQ(a.DebugString(), "copied=10 shared=20 read=30 blocks=4 flattens=5");
}

}  // namespace
}  // namespace brigade
