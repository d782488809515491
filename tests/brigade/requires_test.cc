// The REQUIRES: checks are on in debug builds (--config=asan, --config=debug) and compiled out
// in optimized ones, where these tests skip.

#include "brigade/requires.h"

#include "brigade/brigade.h"
#include "gtest/gtest.h"

namespace brigade {
namespace {

class RequiresTest : public ::testing::Test {
 protected:
  void SetUp() override {
#ifdef NDEBUG
    GTEST_SKIP() << "REQUIRES checks are compiled out with NDEBUG";
#endif
  }
};

TEST_F(RequiresTest, AskingABucketForAnotherKindsFieldsFailsTheCheck) {
  BucketAllocator* alloc = BucketAllocator::ForThisThread();
  BucketPtr b = Bucket::Immortal(alloc, "abc");
  EXPECT_DEATH((void)b->file(), "REQUIRES failed: is_file\\(\\)");
  EXPECT_DEATH((void)b->heap_block(), "REQUIRES failed: is_heap\\(\\)");
  EXPECT_DEATH((void)b->error_status(), "REQUIRES failed: is_error\\(\\)");
  BucketPtr eos = Bucket::Eos(alloc);
  EXPECT_DEATH((void)eos->view(), "REQUIRES failed: is_memory\\(\\)");
}

TEST_F(RequiresTest, RemovingABucketOfAnotherBrigadeFailsTheCheck) {
  Brigade a, b;
  a.Append(Bucket::Immortal(a.allocator(), "a1"));
  a.Append(Bucket::Immortal(a.allocator(), "a2"));
  a.Append(Bucket::Immortal(a.allocator(), "a3"));
  b.Append(Bucket::Immortal(b.allocator(), "b1"));
  Bucket* middle = a.Next(a.front());
  EXPECT_DEATH((void)b.Remove(middle), "REQUIRES failed: Contains\\(b\\)");
  EXPECT_DEATH(b.InsertBefore(middle, Bucket::Flush(b.allocator())),
               "REQUIRES failed: Contains\\(pos\\)");
  // Every bucket of its own brigade passes, wherever it is.
  for (Bucket* x = a.front(); x != nullptr;) {
    Bucket* next = a.Next(x);
    EXPECT_TRUE(a.Remove(x) != nullptr);
    x = next;
  }
  EXPECT_TRUE(a.empty());
}

TEST_F(RequiresTest, ConsumingMoreThanABucketHoldsFailsTheCheck) {
  BucketPtr b = Bucket::Immortal(BucketAllocator::ForThisThread(), "abc");
  EXPECT_DEATH(b->ConsumeFront(4), "REQUIRES failed");
  b->ConsumeFront(3);
  EXPECT_EQ(b->length(), 0u);
}

}  // namespace
}  // namespace brigade
