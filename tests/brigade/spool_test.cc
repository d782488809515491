#include "brigade/spool.h"

#include <string>

#include "brigade/copy_stats.h"
#include "gtest/gtest.h"

namespace brigade {
namespace {

std::string Contents(Brigade& bb) {
  absl::StatusOr<std::string> s = bb.FlattenToString(1 << 24);
  return s.ok() ? *s : "<" + s.status().ToString() + ">";
}

int FileBuckets(const Brigade& bb) {
  int n = 0;
  for (const Bucket& b : bb) n += b.is_file();
  return n;
}

class SpoolTest : public ::testing::Test {
 protected:
  BucketAllocator* allocator_ = BucketAllocator::ForThisThread();
};

TEST_F(SpoolTest, WithinTheBudgetBucketsStayInMemoryUncopied) {
  Spool spool(allocator_, 1024, ::testing::TempDir());
  std::string big(600, 'b');
  Brigade bb(allocator_);
  bb.Append(Bucket::Immortal(allocator_, "hello "));
  bb.Append(Bucket::Immortal(allocator_, big));
  bb.Append(Bucket::Eos(allocator_));
  CopyStats before = GlobalCopyStats();
  ASSERT_TRUE(spool.Append(bb).ok());
  EXPECT_TRUE(bb.empty());
  EXPECT_EQ(spool.size(), 606u);
  EXPECT_EQ(spool.file_bytes(), 0u);
  EXPECT_EQ(GlobalCopyStats().Since(before).bytes_copied, 0u);
  Brigade out = spool.Take();
  EXPECT_EQ(FileBuckets(out), 0);
  EXPECT_FALSE(out.ends_with_eos()) << "metadata is the caller's";
  EXPECT_EQ(Contents(out), "hello " + big);
}

TEST_F(SpoolTest, PastTheBudgetTheRestGoesToOneFileBucketInOrder) {
  Spool spool(allocator_, 100, ::testing::TempDir());
  std::string expected;
  for (int i = 0; i < 50; ++i) {
    std::string piece(37, static_cast<char>('a' + i % 26));
    expected += piece;
    Brigade bb(allocator_);
    ASSERT_TRUE(bb.WriteCopy(piece).ok());
    ASSERT_TRUE(spool.Append(bb).ok());
  }
  EXPECT_EQ(spool.size(), expected.size());
  EXPECT_EQ(spool.file_bytes(), expected.size() - 74) << "two pieces fit the budget";
  Brigade out = spool.Take();
  EXPECT_EQ(FileBuckets(out), 1);
  EXPECT_EQ(Contents(out), expected);
  EXPECT_EQ(spool.size(), 0u);
}

TEST_F(SpoolTest, ASpoolCanBeTakenAgainAfterMoreIsAppended) {
  Spool spool(allocator_, 0, ::testing::TempDir());
  Brigade a(allocator_);
  ASSERT_TRUE(a.WriteCopy("first").ok());
  ASSERT_TRUE(spool.Append(a).ok());
  Brigade one = spool.Take();
  Brigade b(allocator_);
  ASSERT_TRUE(b.WriteCopy("second").ok());
  ASSERT_TRUE(spool.Append(b).ok());
  Brigade two = spool.Take();
  EXPECT_EQ(Contents(one), "first");
  EXPECT_EQ(Contents(two), "second");
}

TEST_F(SpoolTest, AMissingDirectoryIsAnErrorNamingItAndKeepsWhatCameBefore) {
  Spool spool(allocator_, 4, "/nonexistent/spool-dir");
  Brigade a(allocator_);
  ASSERT_TRUE(a.WriteCopy("abc").ok());
  ASSERT_TRUE(spool.Append(a).ok());
  Brigade b(allocator_);
  ASSERT_TRUE(b.WriteCopy("more than four").ok());
  absl::Status s = spool.Append(b);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent/spool-dir"), absl::string_view::npos) << s;
  EXPECT_TRUE(b.empty());
  Brigade out = spool.Take();
  EXPECT_EQ(Contents(out), "abc");
}

}  // namespace
}  // namespace brigade
