// Helpers shared by the brigade tests: temporary files and reading a brigade back.

#ifndef TESTS_BRIGADE_TEST_UTIL_H_
#define TESTS_BRIGADE_TEST_UTIL_H_

#include <string>

#include "brigade/brigade.h"
#include "brigade/storage.h"

namespace brigade::testing_util {

// A temporary file holding `content`, removed on destruction.
class TempFile {
 public:
  explicit TempFile(const std::string& content);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }
  Ref<File> file() const;

 private:
  std::string path_;
};

// Every data byte of `bb` (reading files and sources to the end); fails the test on error.
std::string ReadAll(Brigade& bb);

}  // namespace brigade::testing_util

#endif  // TESTS_BRIGADE_TEST_UTIL_H_
