#include "tests/brigade/test_util.h"

#include <unistd.h>

#include <cstdlib>

#include "gtest/gtest.h"

namespace brigade::testing_util {

TempFile::TempFile(const std::string& content) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string tmpl = std::string(dir != nullptr ? dir : "/tmp") + "/brigade_XXXXXX";
  int fd = mkstemp(tmpl.data());
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  close(fd);
  path_ = tmpl;
}

TempFile::~TempFile() { unlink(path_.c_str()); }

Ref<File> TempFile::file() const {
  absl::StatusOr<Ref<File>> f = File::Open(path_);
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? *f : Ref<File>();
}

std::string ReadAll(Brigade& bb) {
  absl::StatusOr<std::string> s = bb.FlattenToString(1 << 30);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : std::string();
}

}  // namespace brigade::testing_util
