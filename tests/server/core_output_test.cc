// CORE_OUT against a real socket: what it sends per write, and that nothing is lost.

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

#include "brigade/brigade.h"
#include "filters/chain.h"
#include "gtest/gtest.h"
#include "server/http_filters.h"

namespace brigade::server {
namespace {

TEST(CoreOutputTest, AFileGoesOutInSlicesEvenToAReaderThatKeepsUp) {
  constexpr uint64_t kSize = 5 * CoreOutputFilter::kFileSlice + 12345;
  std::string path = ::testing::TempDir() + "/core_out_slices.bin";
  {
    FILE* f = fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::string block(1 << 20, 'x');
    for (uint64_t left = kSize; left > 0;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(left, block.size()));
      fwrite(block.data(), 1, n, f);
      left -= n;
    }
    fclose(f);
  }
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  std::atomic<uint64_t> received{0};
  std::thread reader([&] {
    std::string buf(1 << 20, '\0');
    ssize_t n;
    while ((n = read(fds[1], buf.data(), buf.size())) > 0) received += static_cast<uint64_t>(n);
  });
  {
    absl::StatusOr<Ref<File>> file = File::Open(path);
    ASSERT_TRUE(file.ok()) << file.status();
    AllocatorHandle alloc = BucketAllocator::Create();
    filters::Exchange ex;
    filters::OutputChain chain(&ex);
    auto* out = static_cast<CoreOutputFilter*>(chain.Add(std::make_unique<CoreOutputFilter>(fds[0])));
    Brigade bb(alloc.get());
    bb.Append(Bucket::FileRange(alloc.get(), *file, 0, kSize));
    bb.Append(Bucket::Eos(alloc.get()));
    absl::StatusOr<filters::Flow> flow = chain.Pass(bb);
    ASSERT_TRUE(flow.ok()) << flow.status();
    // One write sends one slice at most, and then asks to be resumed.
    EXPECT_EQ(*flow, filters::Flow::kAgain);
    EXPECT_LE(out->bytes_written(), CoreOutputFilter::kFileSlice);
    int writes = 1;
    while (out->has_pending()) {
      uint64_t before = out->bytes_written();
      ASSERT_TRUE(out->Flush().ok());
      EXPECT_LE(out->bytes_written() - before, CoreOutputFilter::kFileSlice);
      ++writes;
    }
    EXPECT_EQ(out->bytes_written(), kSize);
    EXPECT_GE(writes, 6);
  }
  shutdown(fds[0], SHUT_WR);
  reader.join();
  close(fds[0]);
  close(fds[1]);
  EXPECT_EQ(received.load(), kSize);
}

// Memory, a flush, more memory, a file and the end: each byte goes out once and in order,
// whether the memory before the file leaves in one write (the buckets dropped whole) or the
// socket takes it in pieces; the end is noted only once everything before it has gone.
TEST(CoreOutputTest, MemoryAroundMetadataAndAFileGoesOutOnceInOrder) {
  std::string path = ::testing::TempDir() + "/core_out_order.txt";
  {
    FILE* f = fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    fputs("<file>", f);
    fclose(f);
  }
  absl::StatusOr<Ref<File>> file = File::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  for (size_t head : {size_t{5}, size_t{300000}}) {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    ASSERT_EQ(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);  // partial writes, as a worker's
    std::string received;
    std::thread reader([&] {
      char buf[65536];
      ssize_t n;
      while ((n = read(fds[1], buf, sizeof(buf))) > 0) received.append(buf, static_cast<size_t>(n));
    });
    std::string a(head, 'a');
    {
      AllocatorHandle alloc = BucketAllocator::Create();
      filters::Exchange ex;
      filters::OutputChain chain(&ex);
      auto* out =
          static_cast<CoreOutputFilter*>(chain.Add(std::make_unique<CoreOutputFilter>(fds[0])));
      ResponseProgress progress;
      out->set_progress(&progress);
      Brigade bb(alloc.get());
      bb.Append(Bucket::Immortal(alloc.get(), a));
      bb.Append(Bucket::Flush(alloc.get()));
      bb.Append(Bucket::Immortal(alloc.get(), "<b>"));
      bb.Append(Bucket::FileRange(alloc.get(), *file, 0, 6));
      bb.Append(Bucket::Immortal(alloc.get(), "<tail>"));
      bb.Append(Bucket::Eos(alloc.get()));
      absl::StatusOr<filters::Flow> flow = chain.Pass(bb);
      ASSERT_TRUE(flow.ok()) << flow.status();
      while (out->has_pending()) {
        EXPECT_FALSE(progress.eos_written);
        ASSERT_TRUE(out->Flush().ok());
      }
      EXPECT_TRUE(progress.eos_written);
      EXPECT_EQ(out->bytes_written(), head + 3 + 6 + 6);
    }
    shutdown(fds[0], SHUT_WR);
    reader.join();
    close(fds[0]);
    close(fds[1]);
    EXPECT_EQ(received, a + "<b><file><tail>") << head;
  }
}

}  // namespace
}  // namespace brigade::server
