#include "brigade/bucket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "brigade/brigade.h"
#include "gtest/gtest.h"
#include "tests/brigade/test_util.h"

namespace brigade {
namespace {

using testing_util::ReadAll;
using testing_util::TempFile;

class BucketTest : public ::testing::Test {
 protected:
  AllocatorHandle alloc_ = BucketAllocator::Create({.block_size = 64, .file_read_max = 64});
  BucketAllocator* a() { return alloc_.get(); }
};

TEST_F(BucketTest, MetadataBucketsHaveNoBytes) {
  Brigade bb(a());
  bb.Append(Bucket::Flush(a()));
  bb.Append(Bucket::Error(a(), 502, "upstream closed"));
  bb.Append(Bucket::Eos(a()));
  EXPECT_EQ(bb.DebugString(), "FLUSH ERROR(502) EOS");
  for (Bucket& b : bb) {
    EXPECT_TRUE(b.is_metadata());
    EXPECT_EQ(b.length(), 0u);
    absl::StatusOr<absl::string_view> v = b.Read();
    ASSERT_TRUE(v.ok());
    EXPECT_TRUE(v->empty());
  }
  Bucket* err = bb.Next(bb.front());
  EXPECT_EQ(err->error_status(), 502);
  EXPECT_EQ(err->error_message(), "upstream closed");
}

TEST_F(BucketTest, SplitSharesStorageAndCopiesNothing) {
  Brigade bb(a());
  bb.Append(Bucket::CopyOf(a(), "hello world"));
  Bucket* first = bb.front();
  CopyStats before = GlobalCopyStats();
  absl::StatusOr<Bucket*> tail = first->Split(5);
  ASSERT_TRUE(tail.ok()) << tail.status();
  EXPECT_EQ(GlobalCopyStats().Since(before).bytes_copied, 0u);
  EXPECT_EQ(first->view(), "hello");
  EXPECT_EQ((*tail)->view(), " world");
  EXPECT_EQ(first->heap_block(), (*tail)->heap_block());
  EXPECT_EQ(first->heap_block()->refs(), 2u);
  EXPECT_EQ(bb.Next(first), *tail);
}

TEST_F(BucketTest, SplitAtZeroOrEndIsOutOfRangeAndLeavesBucketIntact) {
  Brigade bb(a());
  bb.Append(Bucket::Immortal(a(), "abc"));
  for (uint64_t at : {0u, 3u, 4u}) {
    absl::StatusOr<Bucket*> r = bb.front()->Split(at);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kOutOfRange) << at;
    EXPECT_EQ(bb.front()->view(), "abc");
    EXPECT_EQ(bb.bucket_count(), 1u);
  }
}

TEST_F(BucketTest, SplitOfMetadataOrSourceOrUnlinkedIsFailedPrecondition) {
  Brigade bb(a());
  bb.Append(Bucket::Flush(a()));
  EXPECT_EQ(bb.front()->Split(1).status().code(), absl::StatusCode::kFailedPrecondition);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  bb.Append(Bucket::FromSource(a(), Source::Adopt(Source::Kind::kPipe, fds[0], true)));
  EXPECT_EQ(bb.back()->Split(1).status().code(), absl::StatusCode::kFailedPrecondition);
  close(fds[1]);
  BucketPtr loose = Bucket::Immortal(a(), "abcdef");
  EXPECT_EQ(loose->Split(2).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(BucketTest, CopySharesStorage) {
  BucketPtr b = Bucket::CopyOf(a(), "payload");
  absl::StatusOr<BucketPtr> c = b->Copy();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->view().data(), b->view().data());
  EXPECT_EQ(b->heap_block()->refs(), 2u);
  c->reset();
  EXPECT_EQ(b->heap_block()->refs(), 1u);
}

TEST_F(BucketTest, ExternalReleaseRunsOnceWhenLastViewGoes) {
  int released = 0;
  static const char kData[] = "external bytes";
  Brigade bb(a());
  bb.Append(Bucket::External(
      a(), ExternalData::Create(kData, 14, [&](const char* d, size_t n) {
        EXPECT_EQ(d, kData);
        EXPECT_EQ(n, 14u);
        ++released;
      }),
      0, 14));
  ASSERT_TRUE(bb.front()->Split(9).ok());
  bb.Delete(bb.front());
  EXPECT_EQ(released, 0);
  EXPECT_EQ(bb.front()->view(), "bytes");
  bb.Clear();
  EXPECT_EQ(released, 1);
}

TEST_F(BucketTest, TransientSetasideCopiesIntoHeap) {
  std::string scratch = "short-lived";
  Brigade bb(a());
  bb.Append(Bucket::Transient(a(), scratch));
  bb.Setaside();
  scratch.assign("XXXXXXXXXXX");
  EXPECT_EQ(bb.front()->kind(), BucketKind::kHeap);
  EXPECT_EQ(bb.front()->view(), "short-lived");
  EXPECT_EQ(bb.stats().bytes_copied, 11u);
}

TEST_F(BucketTest, SmallFileReadGoesIntoOneBlockAndLeavesRemainder) {
  TempFile f(std::string(200, 'x') + "tail");
  Brigade bb(a());
  bb.Append(Bucket::FileRange(a(), f.file(), 0, 204));
  absl::StatusOr<absl::string_view> v = bb.front()->Read();
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->size(), 64u);  // file_read_max, in one block of the allocator's block_size
  EXPECT_EQ(bb.front()->kind(), BucketKind::kHeap);
  EXPECT_EQ(bb.DebugString(), "HEAP(64) FILE(140)");
  EXPECT_EQ(bb.back()->file_offset(), 64u);
  EXPECT_EQ(ReadAll(bb), std::string(200, 'x') + "tail");
}

// Files are read with pread unless mmap is asked for: a file that shrinks under a read is then
// DataLoss, where a mapping would raise SIGBUS and kill the process.
TEST_F(BucketTest, AFileThatShrinksUnderItsBucketIsDataLossByDefault) {
  AllocatorHandle alloc = BucketAllocator::Create({.file_read_max = 64 * 1024});
  TempFile f(std::string(256 * 1024, 'q'));
  Brigade bb(alloc.get());
  bb.Append(Bucket::FileRange(alloc.get(), f.file(), 0, 256 * 1024));
  absl::StatusOr<absl::string_view> v = bb.front()->Read();
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->size(), 64u * 1024);
  EXPECT_EQ(bb.front()->kind(), BucketKind::kHeap);
  ASSERT_EQ(truncate(f.path().c_str(), 100 * 1024), 0);
  Bucket* rest = bb.Next(bb.front());
  absl::StatusOr<absl::string_view> more = rest->Read();
  EXPECT_EQ(more.status().code(), absl::StatusCode::kDataLoss) << more.status();
  EXPECT_NE(more.status().message().find("the file ends at offset 102400"), std::string::npos)
      << more.status();
}

TEST_F(BucketTest, LargeFileReadIsMmappedInBoundedRegions) {
  AllocatorHandle alloc = BucketAllocator::Create({.mmap_threshold = 4096, .mmap_max = 8192});
  std::string content;
  for (int i = 0; i < 5000; ++i) content += static_cast<char>('a' + i % 26);
  TempFile f(content);
  Brigade bb(alloc.get());
  bb.Append(Bucket::FileRange(alloc.get(), f.file(), 100, 4900));
  absl::StatusOr<absl::string_view> v = bb.front()->Read();
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(bb.front()->kind(), BucketKind::kMmap);
  EXPECT_EQ(*v, content.substr(100));
  EXPECT_EQ(bb.bucket_count(), 1u);

  std::string big(20000, 'q');
  TempFile g(big);
  Brigade bb2(alloc.get());
  bb2.Append(Bucket::FileRange(alloc.get(), g.file(), 0, 20000));
  ASSERT_TRUE(bb2.front()->Read().ok());
  EXPECT_EQ(bb2.DebugString(), "MMAP(8192) FILE(11808)");
  EXPECT_EQ(ReadAll(bb2), big);
}

TEST_F(BucketTest, MmapBucketViewsAMappedRangeWithoutCopying) {
  TempFile f("0123456789abcdef");
  absl::StatusOr<Ref<MmapRegion>> region = MmapRegion::Map(f.file()->fd(), 3, 10);
  ASSERT_TRUE(region.ok()) << region.status();
  CopyStats before = GlobalCopyStats();
  Brigade bb(a());
  bb.Append(Bucket::Mmap(a(), *region, 2, 6));
  EXPECT_EQ(bb.front()->kind(), BucketKind::kMmap);
  EXPECT_EQ(bb.front()->view(), "56789a");
  EXPECT_EQ(GlobalCopyStats().Since(before).bytes_copied, 0u);
  EXPECT_EQ(MmapRegion::Map(f.file()->fd(), 0, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(BucketTest, FileShorterThanBucketIsDataLoss) {
  TempFile f("only ten b");
  Brigade bb(a());
  bb.Append(Bucket::FileRange(a(), f.file(), 0, 30));
  absl::StatusOr<absl::string_view> v = bb.front()->Read();
  EXPECT_EQ(v.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(v.status().message().find("ends at offset 10"), std::string::npos)
      << v.status();
  EXPECT_EQ(bb.front()->kind(), BucketKind::kFile);  // unchanged, nothing lost
}

TEST_F(BucketTest, UnlinkedFileBucketNeedingRemainderIsFailedPrecondition) {
  TempFile f(std::string(100, 'z'));
  BucketPtr loose = Bucket::FileRange(a(), f.file(), 0, 100);
  EXPECT_EQ(loose->Read().status().code(), absl::StatusCode::kFailedPrecondition);
  BucketPtr small = Bucket::FileRange(a(), f.file(), 0, 10);
  absl::StatusOr<absl::string_view> v = small->Read();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, std::string(10, 'z'));
}

TEST_F(BucketTest, PipeReadMorphsIntoHeapAndLeavesSourceBehind) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(write(fds[1], "first", 5), 5);
  Brigade bb(a());
  bb.Append(Bucket::FromSource(a(), Source::Adopt(Source::Kind::kPipe, fds[0], true)));
  EXPECT_FALSE(bb.Length().has_value());
  absl::StatusOr<absl::string_view> v = bb.front()->Read();
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, "first");
  EXPECT_EQ(bb.DebugString(), "HEAP(5) PIPE(?)");
  // Nothing more yet: a NONBLOCK read says so without changing anything.
  EXPECT_EQ(bb.back()->Read(BlockMode::kNonBlock).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(bb.DebugString(), "HEAP(5) PIPE(?)");
  ASSERT_EQ(write(fds[1], "second", 6), 6);
  close(fds[1]);
  EXPECT_EQ(ReadAll(bb), "firstsecond");
  EXPECT_EQ(bb.Length(), 11u);  // EOF reached: the source bucket is gone
}

TEST_F(BucketTest, SocketpairReadsAreSocketKind) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  std::string payload(150, 'S');
  ASSERT_EQ(write(sv[1], payload.data(), payload.size()), 150);
  shutdown(sv[1], SHUT_WR);
  Brigade bb(a());
  bb.Append(Bucket::FromSource(a(), Source::Adopt(Source::Kind::kSocket, sv[0], true)));
  EXPECT_EQ(bb.front()->kind(), BucketKind::kSocket);
  EXPECT_EQ(ReadAll(bb), payload);
  // 150 bytes through 64-byte blocks: three heap buckets, the source dropped at EOF.
  EXPECT_EQ(bb.DebugString(), "HEAP(64) HEAP(64) HEAP(22)");
  close(sv[1]);
}

TEST_F(BucketTest, BlockingReadTimesOutWithDeadlineExceeded) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  Ref<Source> src = Source::Adopt(Source::Kind::kPipe, fds[0], true);
  src->set_timeout_ms(50);
  Brigade bb(a());
  bb.Append(Bucket::FromSource(a(), src));
  absl::StatusOr<absl::string_view> v = bb.front()->Read(BlockMode::kBlock);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kDeadlineExceeded) << v.status();
  EXPECT_TRUE(bb.front()->is_source());  // nothing consumed, nothing lost
  close(fds[1]);
}

TEST_F(BucketTest, ReadingClosedSourceIsFailedPrecondition) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  Ref<Source> src = Source::Adopt(Source::Kind::kPipe, fds[0], true);
  Brigade bb(a());
  bb.Append(Bucket::FromSource(a(), src));
  src->Close();
  absl::StatusOr<absl::string_view> v = bb.front()->Read();
  EXPECT_EQ(v.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(v.status().message().find("closed"), std::string::npos);
  close(fds[1]);
}

TEST_F(BucketTest, UnlinkedSourceReadIsFailedPrecondition) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(write(fds[1], "x", 1), 1);
  BucketPtr b = Bucket::FromSource(a(), Source::Adopt(Source::Kind::kPipe, fds[0], true));
  EXPECT_EQ(b->Read().status().code(), absl::StatusCode::kFailedPrecondition);
  close(fds[1]);
}

TEST_F(BucketTest, SourceCannotBeCopied) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  BucketPtr b = Bucket::FromSource(a(), Source::Adopt(Source::Kind::kPipe, fds[0], true));
  EXPECT_EQ(b->Copy().status().code(), absl::StatusCode::kFailedPrecondition);
  close(fds[1]);
}

TEST(AllocatorTest, SteadyStateReusesRecordsAndBlocks) {
  AllocatorHandle alloc = BucketAllocator::Create({.block_size = 128});
  auto cycle = [&] {
    Brigade bb(alloc.get());
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(bb.Write(std::string(100, 'x')).ok());
      bb.Append(Bucket::Flush(alloc.get()));
    }
  };
  cycle();
  BucketAllocator::PoolStats warm = alloc->pool_stats();
  for (int i = 0; i < 20; ++i) cycle();
  BucketAllocator::PoolStats after = alloc->pool_stats();
  EXPECT_EQ(after.record_mallocs, warm.record_mallocs);
  EXPECT_EQ(after.block_mallocs, warm.block_mallocs);
  EXPECT_EQ(after.records_live, 0u);
  EXPECT_EQ(after.blocks_live, 0u);
}

TEST(AllocatorTest, IdleRecordsBeyondTheBoundGoBackToMalloc) {
  AllocatorHandle alloc = BucketAllocator::Create({.max_free_records = 8});
  auto burst = [&] {
    Brigade bb(alloc.get());
    for (int i = 0; i < 20; ++i) bb.Append(Bucket::Flush(alloc.get()));
  };
  burst();
  EXPECT_EQ(alloc->pool_stats().record_mallocs, 20u);
  // Eight came back to the free list, twelve to malloc: the next burst mallocs twelve again.
  burst();
  EXPECT_EQ(alloc->pool_stats().record_mallocs, 32u);
  EXPECT_EQ(alloc->pool_stats().records_live, 0u);
}

TEST(AllocatorTest, OutlivedAllocatorIsFreedByLastBucket) {
  AllocatorHandle alloc = BucketAllocator::Create();
  auto bb = std::make_unique<Brigade>(alloc.get());
  ASSERT_TRUE(bb->Write("kept after the allocator is dropped").ok());
  alloc.reset();  // orphaned: must not free the block under the brigade
  EXPECT_EQ(bb->front()->view(), "kept after the allocator is dropped");
  bb.reset();  // LSan checks the allocator went with it
}

TEST(AllocatorTest, OversizedBlockIsExactAndNotPooled) {
  AllocatorHandle alloc = BucketAllocator::Create({.block_size = 64});
  {
    Ref<HeapBlock> big = alloc->AllocateBlock(1000);
    EXPECT_EQ(big->capacity(), 1000u);
  }
  Ref<HeapBlock> normal = alloc->AllocateBlock();
  EXPECT_EQ(normal->capacity(), 64u);
}

}  // namespace
}  // namespace brigade
