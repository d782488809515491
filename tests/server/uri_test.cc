#include "server/uri.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace brigade::server {
namespace {

TEST(UriTest, PercentDecodeDecodesAndRefusesMalformedEscapesAndNul) {
  EXPECT_EQ(PercentDecode("/a%20b/%41").value_or("?"), "/a b/A");
  EXPECT_EQ(PercentDecode("/%2e%2E").value_or("?"), "/..");
  EXPECT_EQ(PercentDecode("/a%2Fb").value_or("?"), "/a/b");
  for (const char* bad : {"/%", "/%2", "/%zz", "/%00"}) {
    EXPECT_EQ(PercentDecode(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

// Paths taken as they are (no '%', no dot or empty segment) and paths that need the full
// treatment come out as RemoveDotSegments of the decoded path would make them, into a string
// that had something else in it; a bad escape leaves that string as it was.
TEST(UriTest, NormalizePathIntoTakesPlainPathsAsTheyAreAndAgreesWithTheFullPath) {
  for (absl::string_view raw :
       {"/", "/a", "/a/", "/a/b.txt", "/.a", "/a.", "/..a", "/a..", "/.../x", "//", "/a//b",
        "/.", "/..", "/a/.", "/a/..", "/a/./b", "/a/../b", "a/b", "", "/%61/b", "/a%2f..%2fb"}) {
    std::string out = "/previous/request/path";
    ASSERT_TRUE(NormalizePathInto(raw, &out).ok()) << raw;
    EXPECT_EQ(out, RemoveDotSegments(PercentDecode(raw).value())) << raw;
  }
  std::string kept = "/previous";
  EXPECT_FALSE(NormalizePathInto("/%zz", &kept).ok());
  EXPECT_EQ(kept, "/previous");
}

TEST(UriTest, NormalizePathDecodesBeforeRemovingDotSegments) {
  EXPECT_EQ(NormalizePath("/%72everse/lines.txt").value_or("?"), "/reverse/lines.txt");
  EXPECT_EQ(NormalizePath("/echo/../index.html").value_or("?"), "/index.html");
  EXPECT_EQ(NormalizePath("/echo%2F..%2Findex.html").value_or("?"), "/index.html");
  EXPECT_EQ(NormalizePath("/./reverse/x").value_or("?"), "/reverse/x");
  EXPECT_EQ(NormalizePath("/..%2f..%2fetc/passwd").value_or("?"), "/etc/passwd");
  EXPECT_EQ(NormalizePath("/%2e%2e/%2e%2e/etc").value_or("?"), "/etc");
  EXPECT_FALSE(NormalizePath("/%zz").ok());
}

TEST(UriTest, NormalizedPathsAreFixedPoints) {
  for (const char* raw : {"/a/b/../c", "/%2e%2e/x", "/a%2F..%2F..%2Fb", "//x//y/./z/", "/"}) {
    absl::StatusOr<std::string> once = NormalizePath(raw);
    ASSERT_TRUE(once.ok()) << raw;
    EXPECT_EQ(once->front(), '/') << raw;
    EXPECT_EQ(once->find("/../"), std::string::npos) << raw;
    // A normalised path holds no '%' here, so normalising it again must change nothing.
    EXPECT_EQ(NormalizePath(*once).value_or("?"), *once) << raw;
  }
}

TEST(UriTest, RemoveDotSegmentsFollowsRfc3986) {
  EXPECT_EQ(RemoveDotSegments("/a/b/c/./../../g"), "/a/g");
  EXPECT_EQ(RemoveDotSegments("/../../etc/passwd"), "/etc/passwd");
  EXPECT_EQ(RemoveDotSegments("/a/.."), "/");
  EXPECT_EQ(RemoveDotSegments("/a/../"), "/");
  EXPECT_EQ(RemoveDotSegments("/dir/"), "/dir/");
  EXPECT_EQ(RemoveDotSegments("//a//b"), "/a/b");
  EXPECT_EQ(RemoveDotSegments("/"), "/");
}

// Every path over '/', '.' and 'a' up to 8 characters: the result is rooted, has no empty, "."
// or ".." segment, is a fixed point, and a path already so is returned as it was.
TEST(UriTest, RemoveDotSegmentsOnEveryShortPath) {
  auto normal = [](const std::string& p) {
    if (p.empty() || p[0] != '/' || p.find("//") != std::string::npos) return false;
    for (const char* bad : {"/./", "/../"}) {
      if (p.find(bad) != std::string::npos) return false;
    }
    for (const char* end : {"/.", "/.."}) {
      size_t n = std::strlen(end);
      if (p.size() >= n && p.compare(p.size() - n, n, end) == 0) return false;
    }
    return true;
  };
  std::vector<std::string> paths = {"/"};
  for (size_t at = 0; at < paths.size(); ++at) {
    const std::string p = paths[at];
    std::string out = RemoveDotSegments(p);
    EXPECT_TRUE(normal(out)) << p << " -> " << out;
    EXPECT_EQ(RemoveDotSegments(out), out) << p;
    if (normal(p)) {
      EXPECT_EQ(out, p);
    }
    if (p.size() < 8) {
      for (char c : {'/', '.', 'a'}) paths.push_back(p + c);
    }
  }
  EXPECT_EQ(paths.size(), 3280u);  // 1 + 3 + ... + 3^7
}

class RootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string base = std::string(std::getenv("TEST_TMPDIR")) + "/uri_XXXXXX";
    root_ = mkdtemp(base.data());
    outside_ = root_ + "_outside";
    mkdir((root_ + "/sub").c_str(), 0755);
    mkdir(outside_.c_str(), 0755);
    std::ofstream(root_ + "/sub/file.txt") << "inside";
    std::ofstream(outside_ + "/secret.txt") << "outside";
    ASSERT_EQ(symlink((outside_ + "/secret.txt").c_str(), (root_ + "/escape").c_str()), 0);
    ASSERT_EQ(symlink("sub/file.txt", (root_ + "/inside_link").c_str()), 0);
    real_root_ = *RealPath(root_);
    root_fd_ = open(real_root_.c_str(), O_PATH | O_DIRECTORY);
  }
  void TearDown() override { close(root_fd_); }
  std::string root_, outside_, real_root_;
  int root_fd_ = -1;
};

TEST_F(RootTest, MapToFileStaysInsideTheRoot) {
  EXPECT_EQ(MapToFile(real_root_, "/sub/file.txt").value_or("?"), real_root_ + "/sub/file.txt");
  EXPECT_EQ(MapToFile(real_root_, "/inside_link").value_or("?"), real_root_ + "/sub/file.txt");
  EXPECT_EQ(MapToFile(real_root_, "/escape").status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(MapToFile(real_root_, "/nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RootTest, OpenBeneathRefusesEveryWayOut) {
  absl::StatusOr<Ref<File>> f = OpenBeneath(root_fd_, "/sub/file.txt");
  ASSERT_TRUE(f.ok()) << f.status();
  char buf[16];
  EXPECT_EQ(pread((*f)->fd(), buf, sizeof(buf), 0), 6);
  EXPECT_TRUE(OpenBeneath(root_fd_, "/inside_link").ok());
  EXPECT_TRUE(OpenBeneath(root_fd_, "/").ok());  // the root directory itself
  EXPECT_EQ(OpenBeneath(root_fd_, "/escape").status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(OpenBeneath(root_fd_, "/../" + outside_.substr(outside_.rfind('/') + 1) + "/secret.txt")
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(OpenBeneath(root_fd_, "/nope").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace brigade::server
