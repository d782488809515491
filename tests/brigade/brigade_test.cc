#include "brigade/brigade.h"

#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/brigade/test_util.h"

namespace brigade {
namespace {

using testing_util::ReadAll;
using testing_util::TempFile;

class BrigadeTest : public ::testing::Test {
 protected:
  AllocatorHandle alloc_ = BucketAllocator::Create({.block_size = 64});
  BucketAllocator* a() { return alloc_.get(); }
  // A brigade of immortal buckets, one per piece.
  Brigade Make(std::vector<const char*> pieces) {
    Brigade bb(a());
    for (const char* p : pieces) bb.Append(Bucket::Immortal(a(), p));
    return bb;
  }
};

TEST_F(BrigadeTest, AppendPrependInsertKeepOrder) {
  Brigade bb(a());
  bb.Append(Bucket::Immortal(a(), "b"));
  bb.Prepend(Bucket::Immortal(a(), "a"));
  bb.Append(Bucket::Immortal(a(), "d"));
  bb.InsertAfter(bb.Next(bb.front()), Bucket::Immortal(a(), "c"));
  bb.InsertBefore(bb.front(), Bucket::Flush(a()));
  EXPECT_EQ(bb.DebugString(), "FLUSH IMMORTAL(1) IMMORTAL(1) IMMORTAL(1) IMMORTAL(1)");
  EXPECT_EQ(ReadAll(bb), "abcd");
  EXPECT_EQ(bb.bucket_count(), 5u);
  EXPECT_EQ(bb.Prev(bb.front()), nullptr);
  EXPECT_EQ(bb.Next(bb.back()), nullptr);
}

TEST_F(BrigadeTest, RemoveHandsOwnershipBack) {
  Brigade bb = Make({"one", "two"});
  BucketPtr b = bb.Remove(bb.front());
  EXPECT_FALSE(b->in_brigade());
  EXPECT_EQ(ReadAll(bb), "two");
  bb.Append(std::move(b));
  EXPECT_EQ(ReadAll(bb), "twoone");
}

TEST_F(BrigadeTest, ConcatAndPrependBrigadeMoveEverything) {
  Brigade x = Make({"1", "2"});
  Brigade y = Make({"3"});
  Brigade z = Make({"0"});
  x.Concat(y);
  x.PrependBrigade(z);
  EXPECT_TRUE(y.empty());
  EXPECT_TRUE(z.empty());
  EXPECT_EQ(ReadAll(x), "0123");
  Brigade empty(a());
  x.Concat(empty);
  empty.Concat(x);
  EXPECT_TRUE(x.empty());
  EXPECT_EQ(ReadAll(empty), "0123");
}

TEST_F(BrigadeTest, SplitAtBucketMovesTail) {
  Brigade bb = Make({"a", "b", "c"});
  Brigade tail = bb.SplitAt(bb.Next(bb.front()));
  EXPECT_EQ(ReadAll(bb), "a");
  EXPECT_EQ(ReadAll(tail), "bc");
  Brigade none = bb.SplitAt(nullptr);
  EXPECT_TRUE(none.empty());
  Brigade all = bb.SplitAt(bb.front());
  EXPECT_TRUE(bb.empty());
  EXPECT_EQ(ReadAll(all), "a");
}

TEST_F(BrigadeTest, MoveConstructionKeepsBuckets) {
  Brigade bb = Make({"x", "y"});
  Brigade moved(std::move(bb));
  EXPECT_EQ(ReadAll(moved), "xy");
  Brigade assigned(a());
  assigned = std::move(moved);
  EXPECT_EQ(ReadAll(assigned), "xy");
}

TEST_F(BrigadeTest, PartitionSplitsInsideABucket) {
  Brigade bb = Make({"hello", " ", "world"});
  absl::StatusOr<Bucket*> at = bb.Partition(3);
  ASSERT_TRUE(at.ok()) << at.status();
  EXPECT_EQ((*at)->view(), "lo");
  absl::StatusOr<Bucket*> boundary = bb.Partition(5);
  ASSERT_TRUE(boundary.ok());
  EXPECT_EQ((*boundary)->view(), " ");
  absl::StatusOr<Bucket*> end = bb.Partition(11);
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(*end, nullptr);
  EXPECT_EQ(ReadAll(bb), "hello world");
}

TEST_F(BrigadeTest, PartitionPastEndIsOutOfRange) {
  Brigade bb = Make({"abc"});
  absl::StatusOr<Bucket*> r = bb.Partition(4);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(r.status().message().find("length 3"), std::string::npos) << r.status();
  EXPECT_EQ(ReadAll(bb), "abc");
}

TEST_F(BrigadeTest, PartitionReturnsMetadataAtTheOffset) {
  Brigade bb = Make({"ab"});
  bb.Append(Bucket::Flush(a()));
  bb.Append(Bucket::Immortal(a(), "cd"));
  absl::StatusOr<Bucket*> at = bb.Partition(2);
  ASSERT_TRUE(at.ok());
  EXPECT_TRUE((*at)->is_flush());
}

TEST_F(BrigadeTest, PartitionSplitsFileBucketsWithoutReading) {
  TempFile f("0123456789");
  Brigade bb(a());
  bb.Append(Bucket::FileRange(a(), f.file(), 0, 10));
  CopyStats before = GlobalCopyStats();
  absl::StatusOr<Brigade> tail = bb.SplitAtOffset(4);
  ASSERT_TRUE(tail.ok()) << tail.status();
  EXPECT_EQ(GlobalCopyStats().Since(before).bytes_read, 0u);
  EXPECT_EQ(bb.DebugString(), "FILE(4)");
  EXPECT_EQ(tail->DebugString(), "FILE(6)");
  EXPECT_EQ(ReadAll(*tail), "456789");
  EXPECT_EQ(ReadAll(bb), "0123");
}

TEST_F(BrigadeTest, PartitionReadsSourceOnlyAsFarAsNeeded) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(write(fds[1], "abcdef", 6), 6);
  Brigade bb = Make({"xy"});
  bb.Append(Bucket::FromSource(a(), Source::Adopt(Source::Kind::kPipe, fds[0], true)));
  // Offset 2 is the boundary before the pipe: nothing is read.
  absl::StatusOr<Bucket*> at = bb.Partition(2);
  ASSERT_TRUE(at.ok());
  EXPECT_TRUE((*at)->is_source());
  at = bb.Partition(5);
  ASSERT_TRUE(at.ok()) << at.status();
  EXPECT_EQ((*at)->view(), "def");
  EXPECT_EQ(bb.DebugString(), "IMMORTAL(2) HEAP(3) HEAP(3) PIPE(?)");
  close(fds[1]);
}

TEST_F(BrigadeTest, LengthIsUnknownWhileSourcePresent) {
  Brigade bb = Make({"abc"});
  EXPECT_EQ(bb.Length(), 3u);
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  bb.Append(Bucket::FromSource(a(), Source::Adopt(Source::Kind::kSocket, sv[0], true)));
  EXPECT_FALSE(bb.Length().has_value());
  close(sv[1]);
  EXPECT_EQ(ReadAll(bb), "abc");
  EXPECT_EQ(bb.Length(), 3u);
}

TEST_F(BrigadeTest, FlattenIsBoundedByTheCallersBuffer) {
  Brigade bb = Make({"abc", "defgh"});
  bb.Append(Bucket::Flush(a()));
  bb.Append(Bucket::Immortal(a(), "ij"));
  char buf[6];
  absl::StatusOr<size_t> n = bb.Flatten(absl::MakeSpan(buf));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 6u);
  EXPECT_EQ(std::string(buf, 6), "abcdef");
  char big[64];
  n = bb.Flatten(absl::MakeSpan(big));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(big, *n), "abcdefghij");
  EXPECT_EQ(bb.stats().flattens, 2u);
  EXPECT_EQ(bb.stats().bytes_copied, 16u);
}

TEST_F(BrigadeTest, FlattenToStringRefusesToTruncate) {
  Brigade bb = Make({"0123456789"});
  absl::StatusOr<std::string> s = bb.FlattenToString(9);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kResourceExhausted);
  s = bb.FlattenToString(10);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, "0123456789");
}

TEST_F(BrigadeTest, SplitLineFindsLineAcrossBuckets) {
  Brigade bb = Make({"GET / HT", "TP/1.1\r", "\nHost: x\r\n"});
  Brigade line(a());
  absl::StatusOr<Brigade::LineResult> r = bb.SplitLine(line, 100);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Brigade::LineResult::kComplete);
  EXPECT_EQ(ReadAll(line), "GET / HTTP/1.1\r\n");
  EXPECT_EQ(ReadAll(bb), "Host: x\r\n");
}

TEST_F(BrigadeTest, SplitLineStopsAtMaxBytes) {
  Brigade bb = Make({"abcdefgh\n"});
  Brigade line(a());
  absl::StatusOr<Brigade::LineResult> r = bb.SplitLine(line, 4);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Brigade::LineResult::kTooLong);
  EXPECT_EQ(ReadAll(line), "abcd");
  EXPECT_EQ(ReadAll(bb), "efgh\n");
}

TEST_F(BrigadeTest, SplitLineWithLineOfExactlyMaxBytesIsComplete) {
  Brigade bb = Make({"abc\n", "rest"});
  Brigade line(a());
  absl::StatusOr<Brigade::LineResult> r = bb.SplitLine(line, 4);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Brigade::LineResult::kComplete);
  EXPECT_EQ(ReadAll(line), "abc\n");
}

TEST_F(BrigadeTest, SplitLineStopsBeforeMetadata) {
  Brigade bb = Make({"par"});
  bb.Append(Bucket::Eos(a()));
  Brigade line(a());
  absl::StatusOr<Brigade::LineResult> r = bb.SplitLine(line, 100);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Brigade::LineResult::kIncomplete);
  EXPECT_EQ(ReadAll(line), "par");
  EXPECT_EQ(bb.DebugString(), "EOS");
}

TEST_F(BrigadeTest, SplitLineOnNonBlockingPipeReturnsIncomplete) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(write(fds[1], "partial", 7), 7);
  Brigade bb(a());
  bb.Append(Bucket::FromSource(a(), Source::Adopt(Source::Kind::kPipe, fds[0], true)));
  Brigade line(a());
  absl::StatusOr<Brigade::LineResult> r = bb.SplitLine(line, 100, BlockMode::kNonBlock);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, Brigade::LineResult::kIncomplete);
  EXPECT_EQ(ReadAll(line), "partial");
  ASSERT_EQ(write(fds[1], " line\nnext", 10), 10);
  r = bb.SplitLine(line, 100, BlockMode::kNonBlock);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, Brigade::LineResult::kComplete);
  EXPECT_EQ(ReadAll(line), "partial line\n");
  close(fds[1]);
  EXPECT_EQ(ReadAll(bb), "next");
}

TEST_F(BrigadeTest, ToIovecMergesContiguousViewsOfOneBlock) {
  Brigade bb(a());
  ASSERT_TRUE(bb.Write("0123456789").ok());
  ASSERT_TRUE(bb.front()->Split(3).ok());
  ASSERT_TRUE(bb.Next(bb.front())->Split(4).ok());
  bb.Append(Bucket::Flush(a()));
  bb.Append(Bucket::Immortal(a(), "xyz"));
  EXPECT_EQ(bb.bucket_count(), 5u);
  iovec iov[8];
  Brigade::IovecExport e = bb.ToIovec(iov, 8);
  EXPECT_EQ(e.count, 2u);
  EXPECT_EQ(e.bytes, 13u);
  EXPECT_EQ(e.stop, nullptr);
  EXPECT_EQ(std::string(static_cast<char*>(iov[0].iov_base), iov[0].iov_len), "0123456789");
  EXPECT_EQ(std::string(static_cast<char*>(iov[1].iov_base), iov[1].iov_len), "xyz");
}

TEST_F(BrigadeTest, ToIovecStopsAtFileAndAtMaxCount) {
  TempFile f("file");
  Brigade bb = Make({"a", "b", "c"});
  bb.Append(Bucket::FileRange(a(), f.file(), 0, 4));
  iovec iov[2];
  Brigade::IovecExport e = bb.ToIovec(iov, 2);
  EXPECT_EQ(e.count, 2u);
  EXPECT_EQ(e.bytes, 2u);
  EXPECT_EQ(e.stop, bb.Next(bb.Next(bb.front())));
  iovec iov4[4];
  e = bb.ToIovec(iov4, 4);
  EXPECT_EQ(e.count, 3u);
  EXPECT_TRUE(e.stop->is_file());
}

TEST_F(BrigadeTest, WriterPacksSmallWritesIntoTailBlock) {
  Brigade bb(a());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(bb.Write("abcd").ok());
  EXPECT_EQ(bb.bucket_count(), 1u);  // 40 bytes in one 64-byte block
  ASSERT_TRUE(bb.Write(std::string(30, 'z')).ok());
  EXPECT_EQ(bb.DebugString(), "HEAP(64) HEAP(6)");
  EXPECT_EQ(bb.stats().bytes_copied, 70u);
}

TEST_F(BrigadeTest, WriterDoesNotGrowIntoBytesAnotherBucketViews) {
  Brigade bb(a());
  ASSERT_TRUE(bb.Write("abc").ok());
  absl::StatusOr<BucketPtr> copy = bb.front()->Copy();
  ASSERT_TRUE(copy.ok());
  Brigade other(a());
  other.Append(std::move(*copy));
  ASSERT_TRUE(other.Write("XYZ").ok());  // grows other's tail into the block
  ASSERT_TRUE(bb.Write("def").ok());     // must not overwrite "XYZ"
  EXPECT_EQ(ReadAll(other), "abcXYZ");
  EXPECT_EQ(ReadAll(bb), "abcdef");
}

TEST_F(BrigadeTest, WriterSharesLargeWritesAsTransient) {
  Brigade bb(a());
  std::string big(4096, 'L');
  ASSERT_TRUE(bb.Write(big).ok());
  EXPECT_EQ(bb.front()->kind(), BucketKind::kTransient);
  EXPECT_EQ(bb.front()->view().data(), big.data());
  EXPECT_EQ(bb.stats().bytes_copied, 0u);
  EXPECT_EQ(bb.stats().bytes_shared, 4096u);
}

TEST_F(BrigadeTest, WritevPutsPrintfAndWriteOwned) {
  Brigade bb(a());
  absl::string_view parts[] = {"a", "b", "c"};
  ASSERT_TRUE(bb.Writev(parts).ok());
  ASSERT_TRUE(bb.Puts("-puts-").ok());
  ASSERT_TRUE(bb.Printf("%d/%s", 42, "x").ok());
  ASSERT_TRUE(bb.Printf("%s", std::string(700, 'p').c_str()).ok());
  ASSERT_TRUE(bb.WriteOwned(std::string(1000, 'o')).ok());
  EXPECT_EQ(bb.back()->kind(), BucketKind::kExternal);
  EXPECT_EQ(ReadAll(bb), "abc-puts-42/x" + std::string(700, 'p') + std::string(1000, 'o'));
}

TEST_F(BrigadeTest, WriteAfterEosIsFailedPrecondition) {
  Brigade bb(a());
  ASSERT_TRUE(bb.Write("body").ok());
  bb.Append(Bucket::Eos(a()));
  absl::Status s = bb.Write("more");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("after its EOS"), std::string::npos);
  EXPECT_EQ(bb.Printf("%d", 1).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(bb.WriteOwned("x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadAll(bb), "body");
}

TEST_F(BrigadeTest, SetasideMakesEveryBucketOutliveTheCall) {
  Brigade kept(a());
  {
    std::string scratch(1000, 's');
    ASSERT_TRUE(kept.Write(scratch).ok());
    kept.Setaside();
    scratch.assign(1000, '!');
  }
  EXPECT_EQ(ReadAll(kept), std::string(1000, 's'));
  EXPECT_EQ(kept.front()->kind(), BucketKind::kHeap);
}

}  // namespace
}  // namespace brigade
