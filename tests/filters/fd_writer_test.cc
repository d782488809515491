#include "filters/fd_writer.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "filters/chain.h"
#include "gtest/gtest.h"
#include "tests/brigade/test_util.h"

namespace brigade::filters {
namespace {

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7) % 26);
  return s;
}

class FdWriterTest : public ::testing::Test {
 protected:
  // Writes "head:" + the file + ":tail" through a WRITE on `fd`.
  [[nodiscard]] absl::StatusOr<FdWriter*> Write(int fd, OutputChain& chain) {
    auto* w = static_cast<FdWriter*>(chain.Add(std::make_unique<FdWriter>(fd)));
    Brigade bb(alloc_.get());
    bb.Append(Bucket::Immortal(alloc_.get(), "head:"));
    bb.Append(Bucket::FileRange(alloc_.get(), file_.file(), 0, content_.size()));
    bb.Append(Bucket::Immortal(alloc_.get(), ":tail"));
    bb.Append(Bucket::Eos(alloc_.get()));
    absl::StatusOr<Flow> flow = chain.Pass(bb);
    if (!flow.ok()) return flow.status();
    return w;
  }
  std::string Expected() const { return "head:" + content_ + ":tail"; }

  std::string ReadFile(const std::string& path) {
    std::string out;
    int fd = open(path.c_str(), O_RDONLY);
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
    close(fd);
    return out;
  }

  AllocatorHandle alloc_ = BucketAllocator::Create();
  Exchange exchange_;
  std::string content_ = Pattern(3 << 20);
  testing_util::TempFile file_{content_};
  testing_util::TempFile out_{""};
};

TEST_F(FdWriterTest, ARegularFileGetsTheRangeByCopyFileRangeWithoutReadingIt) {
  int fd = open(out_.path().c_str(), O_WRONLY | O_TRUNC);
  OutputChain chain(&exchange_);
  CopyStats before = GlobalCopyStats();
  absl::StatusOr<FdWriter*> w = Write(fd, chain);
  close(fd);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(GlobalCopyStats().Since(before).bytes_read, 0u);
  EXPECT_EQ((*w)->zero_copy_bytes(), content_.size());
  EXPECT_EQ((*w)->written(), Expected().size());
  EXPECT_TRUE((*w)->saw_eos());
  EXPECT_EQ(ReadFile(out_.path()), Expected());
}

TEST_F(FdWriterTest, AnAppendingFileFallsBackToReadAndWrite) {
  int fd = open(out_.path().c_str(), O_WRONLY | O_APPEND);
  OutputChain chain(&exchange_);
  absl::StatusOr<FdWriter*> w = Write(fd, chain);
  close(fd);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ((*w)->path(), FdWriter::Path::kReadWrite);
  EXPECT_EQ(ReadFile(out_.path()), Expected());
}

TEST_F(FdWriterTest, APipeGetsTheRangeBySpliceAndASocketBySendfile) {
  for (bool socket : {false, true}) {
    int fds[2];
    ASSERT_EQ(socket ? socketpair(AF_UNIX, SOCK_STREAM, 0, fds) : pipe(fds), 0);
    std::string got;
    std::thread reader([&] {
      char buf[65536];
      ssize_t n;
      while ((n = read(fds[0], buf, sizeof(buf))) > 0) got.append(buf, static_cast<size_t>(n));
    });
    OutputChain chain(&exchange_);
    CopyStats before = GlobalCopyStats();
    absl::StatusOr<FdWriter*> w = Write(fds[1], chain);
    close(fds[1]);
    reader.join();
    close(fds[0]);
    ASSERT_TRUE(w.ok()) << w.status();
    EXPECT_EQ((*w)->path(), socket ? FdWriter::Path::kSendfile : FdWriter::Path::kSplice);
    EXPECT_EQ(GlobalCopyStats().Since(before).bytes_read, 0u);
    EXPECT_EQ(got, Expected());
  }
}

TEST_F(FdWriterTest, AFileThatShrankIsDataLossNotAShortCopy) {
  int fd = open(out_.path().c_str(), O_WRONLY | O_TRUNC);
  OutputChain chain(&exchange_);
  chain.Add(std::make_unique<FdWriter>(fd));
  Brigade bb(alloc_.get());
  bb.Append(Bucket::FileRange(alloc_.get(), file_.file(), 0, content_.size() + 10));
  absl::StatusOr<Flow> flow = chain.Pass(bb);
  close(fd);
  EXPECT_EQ(flow.status().code(), absl::StatusCode::kDataLoss) << flow.status();
}

}  // namespace
}  // namespace brigade::filters
