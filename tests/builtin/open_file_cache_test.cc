#include "builtin/open_file_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace brigade::builtin {
namespace {

class OpenFileCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = ::testing::TempDir() + "/ofc_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    outside_ = root_ + "_outside";
    mkdir(root_.c_str(), 0755);
    mkdir(outside_.c_str(), 0755);
    Write("a.txt", "first\n");
    root_fd_ = open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(root_fd_, 0);
  }
  void TearDown() override { close(root_fd_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(root_ + "/" + name) << text;
  }
  static std::string Contents(const Ref<File>& f) {
    char buf[64];
    ssize_t n = pread(f->fd(), buf, sizeof(buf), 0);
    return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
  }

  OpenFileCache cache_;
  std::string root_, outside_;
  int root_fd_ = -1;
};

TEST_F(OpenFileCacheTest, AHotFileIsOpenedOnce) {
  absl::StatusOr<Ref<File>> a = cache_.Open(root_fd_, "/a.txt", 0);
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<Ref<File>> again = cache_.Open(root_fd_, "/a.txt", 500);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*a)->fd(), (*again)->fd());
  EXPECT_EQ(cache_.stats().opens, 1u);
  EXPECT_EQ(cache_.stats().hits, 1u);
  // Revalidated after the interval: the same file, kept.
  absl::StatusOr<Ref<File>> later = cache_.Open(root_fd_, "/a.txt", 500 + OpenFileCache::kValidMs);
  ASSERT_TRUE(later.ok());
  EXPECT_EQ((*later)->fd(), (*a)->fd());
  EXPECT_EQ(cache_.stats().revalidated, 1u);
}

TEST_F(OpenFileCacheTest, AReplacedFileIsReopenedAfterTheInterval) {
  ASSERT_TRUE(cache_.Open(root_fd_, "/a.txt", 0).ok());
  Write("new.txt", "second\n");
  ASSERT_EQ(rename((root_ + "/new.txt").c_str(), (root_ + "/a.txt").c_str()), 0);
  EXPECT_EQ(Contents(*cache_.Open(root_fd_, "/a.txt", 10)), "first\n") << "within the interval";
  absl::StatusOr<Ref<File>> now = cache_.Open(root_fd_, "/a.txt", OpenFileCache::kValidMs);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(Contents(*now), "second\n");
  EXPECT_EQ(cache_.stats().opens, 2u);
}

TEST_F(OpenFileCacheTest, ADeletedFileIsNotFoundAfterTheInterval) {
  ASSERT_TRUE(cache_.Open(root_fd_, "/a.txt", 0).ok());
  ASSERT_EQ(unlink((root_ + "/a.txt").c_str()), 0);
  EXPECT_TRUE(absl::IsNotFound(cache_.Open(root_fd_, "/a.txt", OpenFileCache::kValidMs).status()));
  EXPECT_EQ(cache_.size(), 0u);
}

TEST_F(OpenFileCacheTest, APathTurnedIntoASymlinkOutOfTheRootIsRefused) {
  ASSERT_TRUE(cache_.Open(root_fd_, "/a.txt", 0).ok());
  std::ofstream(outside_ + "/secret.txt") << "secret\n";
  ASSERT_EQ(unlink((root_ + "/a.txt").c_str()), 0);
  ASSERT_EQ(symlink((outside_ + "/secret.txt").c_str(), (root_ + "/a.txt").c_str()), 0);
  absl::StatusOr<Ref<File>> f = cache_.Open(root_fd_, "/a.txt", OpenFileCache::kValidMs);
  EXPECT_TRUE(absl::IsPermissionDenied(f.status())) << f.status();
}

TEST_F(OpenFileCacheTest, IdleEntriesAreClosedAndTheCacheIsBounded) {
  ASSERT_TRUE(cache_.Open(root_fd_, "/a.txt", 0).ok());
  Write("b.txt", "b\n");
  ASSERT_TRUE(cache_.Open(root_fd_, "/b.txt", OpenFileCache::kIdleMs).ok());
  EXPECT_EQ(cache_.size(), 1u) << "a.txt, unused for kIdleMs, was closed";
  for (size_t i = 0; i < OpenFileCache::kCapacity + 10; ++i) {
    std::string name = "f" + std::to_string(i);
    Write(name, name);
    ASSERT_TRUE(cache_.Open(root_fd_, "/" + name, OpenFileCache::kIdleMs + 1).ok());
  }
  EXPECT_EQ(cache_.size(), OpenFileCache::kCapacity);
  // The most recent stay: the last one opened is still a hit.
  uint64_t hits = cache_.stats().hits;
  std::string last = "/f" + std::to_string(OpenFileCache::kCapacity + 9);
  ASSERT_TRUE(cache_.Open(root_fd_, last, OpenFileCache::kIdleMs + 2).ok());
  EXPECT_EQ(cache_.stats().hits, hits + 1);
}

TEST_F(OpenFileCacheTest, FailedOpensAreNotCached) {
  EXPECT_TRUE(absl::IsNotFound(cache_.Open(root_fd_, "/missing.txt", 0).status()));
  Write("missing.txt", "here now\n");
  absl::StatusOr<Ref<File>> f = cache_.Open(root_fd_, "/missing.txt", 1);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(Contents(*f), "here now\n");
}

}  // namespace
}  // namespace brigade::builtin
