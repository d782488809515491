// The access log's buffering: every line written arrives once and whole, within the flush
// interval or at Flush, across threads, across a reopen and at destruction.

#include "builtin/access_log.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "handlers/request.h"

namespace brigade::server {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Lines(const std::string& path) {
  std::vector<std::string> out = absl::StrSplit(ReadAll(path), '\n', absl::SkipEmpty());
  return out;
}

class AccessLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    connection_.peer = "127.0.0.1:4000";
    path_ = ::testing::TempDir() + "/access_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".log";
    std::remove(path_.c_str());
  }
  // A request whose line names `n`, so that every written line can be found again.
  void WriteRequest(AccessLog& log, int n) {
    handlers::Request r(&connection_);
    r.the_request = absl::StrCat("GET /", n, " HTTP/1.1");
    r.status = 200;
    log.Write(r, true);
  }

  handlers::Connection connection_;
  std::string path_;
};

TEST_F(AccessLogTest, LinesArriveWithinTheFlushIntervalWithoutAFlush) {
  AccessLog log;
  ASSERT_TRUE(log.Open(path_).ok());
  WriteRequest(log, 1);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Lines(path_).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::vector<std::string> lines = Lines(path_);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"GET /1 HTTP/1.1\" 200"), std::string::npos) << lines[0];
}

TEST_F(AccessLogTest, EveryLineOfEveryThreadArrivesOnceAndWhole) {
  constexpr int kThreads = 4, kEach = 5000;  // past kFlushBytes per thread: flushes when full
  {
    AccessLog log;
    ASSERT_TRUE(log.Open(path_).ok());
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) WriteRequest(log, t * kEach + i);
      });
    }
    for (std::thread& t : threads) t.join();
  }  // the destructor writes what is held
  std::vector<std::string> lines = Lines(path_);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kEach));
  std::vector<int> seen(kThreads * kEach, 0);
  std::vector<int> last(kThreads, -1);
  for (const std::string& line : lines) {
    size_t at = line.find("\"GET /");
    ASSERT_NE(at, std::string::npos) << line;
    ASSERT_EQ(line.back(), '+') << line;  // whole: the line's last field is there
    int n = std::stoi(line.substr(at + 6));
    ++seen[n];
    EXPECT_GT(n, last[n / kEach]) << "a thread's lines out of order";
    last[n / kEach] = n;
  }
  for (int n = 0; n < kThreads * kEach; ++n) ASSERT_EQ(seen[n], 1) << n;
}

TEST_F(AccessLogTest, ReopenWritesWhatIsHeldToTheOldFileFirst) {
  AccessLog log;
  ASSERT_TRUE(log.Open(path_).ok());
  WriteRequest(log, 1);
  std::string rotated = path_ + ".1";
  ASSERT_EQ(std::rename(path_.c_str(), rotated.c_str()), 0);
  ASSERT_TRUE(log.Reopen().ok());
  WriteRequest(log, 2);
  log.Flush();
  std::vector<std::string> old_lines = Lines(rotated), new_lines = Lines(path_);
  ASSERT_EQ(old_lines.size(), 1u);
  ASSERT_EQ(new_lines.size(), 1u);
  EXPECT_NE(old_lines[0].find("GET /1 "), std::string::npos);
  EXPECT_NE(new_lines[0].find("GET /2 "), std::string::npos);
}

TEST_F(AccessLogTest, AFailedReopenKeepsTheOldFile) {
  AccessLog log;
  std::string dir = ::testing::TempDir() + "/access_log_dir";
  mkdir(dir.c_str(), 0755);
  std::string path = dir + "/access.log";
  ASSERT_TRUE(log.Open(path).ok());
  std::string moved = dir + "_moved";
  ASSERT_EQ(std::rename(dir.c_str(), moved.c_str()), 0);  // the directory is gone
  absl::Status s = log.Reopen();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(path), std::string::npos) << s;
  WriteRequest(log, 7);
  log.Flush();
  std::vector<std::string> lines = Lines(moved + "/access.log");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("GET /7 "), std::string::npos);
}

TEST_F(AccessLogTest, NoLogConfiguredWritesNothing) {
  AccessLog log;
  ASSERT_TRUE(log.Open("").ok());
  EXPECT_FALSE(log.enabled());
  WriteRequest(log, 1);
  log.Flush();
  EXPECT_EQ(ReadAll(path_), "");
}

TEST_F(AccessLogTest, OpeningTwiceFailsTheRequiresCheck) {
#ifdef NDEBUG
  GTEST_SKIP() << "REQUIRES checks are compiled out with NDEBUG";
#endif
  EXPECT_DEATH(
      {
        AccessLog log;
        (void)log.Open(path_);  // the death, not the Status, is under test
        (void)log.Open(path_);
      },
      "REQUIRES failed");
}

}  // namespace
}  // namespace brigade::server
