// The harness must catch filters whose output depends on how input is cut, and pass correct
// ones.

#include "filters/testing/split_invariance.h"

#include <string>

#include "filters/chain.h"
#include "gtest/gtest.h"
#include "tests/filters/test_filters.h"

namespace brigade::filters::testing {
namespace {

// Broken: emits a marker after every bucket, so output depends on bucket boundaries.
class MarkEachBucket : public OutputFilter {
 public:
  MarkEachBucket() : OutputFilter("MARK", FilterKind::kResource) {}
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override {
    for (Bucket* b = bb.front(); b != nullptr; b = bb.Next(b)) {
      if (!b->is_metadata()) {
        bb.InsertAfter(b, Bucket::Immortal(bb.allocator(), "/"));
        b = bb.Next(b);
      }
    }
    return PassNext(bb);
  }
};

// Broken: drops FLUSH buckets.
class EatFlush : public OutputFilter {
 public:
  EatFlush() : OutputFilter("EAT_FLUSH", FilterKind::kResource) {}
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override {
    for (Bucket* b = bb.front(); b != nullptr;) {
      Bucket* next = bb.Next(b);
      if (b->is_flush()) bb.Delete(b);
      b = next;
    }
    return PassNext(bb);
  }
};

// Broken: keeps only the first brigade's last byte back and forgets it at EOS.
class LoseHeldByte : public OutputFilter {
 public:
  LoseHeldByte() : OutputFilter("LOSE", FilterKind::kResource) {}
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override {
    if (!bb.ends_with_eos()) {
      std::optional<uint64_t> n = bb.Length();
      if (n.has_value() && *n > 0) {
        absl::StatusOr<Brigade> tail = bb.SplitAtOffset(*n - 1);
        if (!tail.ok()) return tail.status();
        tail->Clear();  // the bug: the held byte is dropped
      }
    }
    return PassNext(bb);
  }
};

TEST(SplitInvarianceTest, CatchesFilterSensitiveToBucketBoundaries) {
  absl::Status s = CheckSplitInvariance([] { return std::make_unique<MarkEachBucket>(); }, "abcd");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("output differs"), std::string::npos) << s;
  EXPECT_NE(s.message().find("plan ["), std::string::npos) << s;
}

TEST(SplitInvarianceTest, CatchesFilterThatDropsFlush) {
  absl::Status s = CheckSplitInvariance([] { return std::make_unique<EatFlush>(); },
                                        std::string(300, 'z'));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("metadata came out as"), std::string::npos) << s;
}

TEST(SplitInvarianceTest, CatchesFilterThatLosesBytesAcrossBrigades) {
  absl::Status s = CheckSplitInvariance([] { return std::make_unique<LoseHeldByte>(); }, "xyz");
  EXPECT_FALSE(s.ok()) << "the harness passed a filter that drops bytes";
}

TEST(SplitInvarianceTest, PassesCorrectFiltersOnSmallAndLargeInputs) {
  auto upper = [] { return std::make_unique<test::UpperFilter>(); };
  EXPECT_TRUE(CheckSplitInvariance(upper, "").ok());
  EXPECT_TRUE(CheckSplitInvariance(upper, "a").ok());
  absl::Status small = CheckSplitInvariance(upper, "hello, wor");
  EXPECT_TRUE(small.ok()) << small;
  std::string big;
  for (int i = 0; i < 5000; ++i) big += static_cast<char>('a' + i % 26);
  absl::Status large = CheckSplitInvariance(upper, big);
  EXPECT_TRUE(large.ok()) << large;
}

TEST(SplitInvarianceTest, DecoderMakesEncodingDifferencesIrrelevant) {
  // MARK's output differs by split, but decodes (marks removed) to the same bytes.
  SplitOptions options;
  options.decoder = [](absl::string_view s) -> absl::StatusOr<std::string> {
    std::string out;
    for (char c : s) {
      if (c != '/') out += c;
    }
    return out;
  };
  absl::Status s =
      CheckSplitInvariance([] { return std::make_unique<MarkEachBucket>(); }, "abcd", options);
  EXPECT_TRUE(s.ok()) << s;
}

TEST(SplitInvarianceTest, DescribePlanIsReadable) {
  std::vector<Piece> plan = {{Piece::Kind::kData, 3},
                             {Piece::Kind::kFlush},
                             {Piece::Kind::kEndBrigade},
                             {Piece::Kind::kFile, 5}};
  EXPECT_EQ(DescribePlan(plan), "3 FLUSH | 5F");
}

}  // namespace
}  // namespace brigade::filters::testing
