#include "builtin/filters/accept_encoding.h"

#include <string>

#include "gtest/gtest.h"

namespace brigade::filters {
namespace {

struct Case {
  const char* header;
  bool gzip;
};

class AcceptEncodingTableTest : public ::testing::TestWithParam<Case> {};

TEST_P(AcceptEncodingTableTest, DecidesGzip) {
  EXPECT_EQ(AcceptEncoding::Parse(GetParam().header).AcceptsGzip(), GetParam().gzip)
      << "Accept-Encoding: " << GetParam().header;
}

INSTANTIATE_TEST_SUITE_P(
    Table, AcceptEncodingTableTest,
    ::testing::Values(Case{"gzip", true},
                      Case{"GZIP", true},
                      Case{"Gzip, deflate", true},
                      Case{"deflate, gzip, br", true},
                      Case{"  gzip  ", true},
                      Case{"gzip;q=1", true},
                      Case{"gzip;q=1.000", true},
                      Case{"gzip ; q=0.5", true},
                      Case{"gzip;Q=0.001", true},
                      Case{"gzip;q=0", false},
                      Case{"gzip;q=0.000", false},
                      Case{"gzip;q=0, *", false},
                      Case{"*", true},
                      Case{"*;q=0", false},
                      Case{"*;q=0.1", true},
                      Case{"identity", false},
                      Case{"identity;q=1, *;q=0", false},
                      Case{"", false},
                      Case{"br, deflate", false},
                      Case{"x-gzip", true},
                      Case{"X-GZIP;q=0.3", true},
                      Case{"x-gzip;q=0", false},
                      Case{"gzip;q=2", false},       // weight out of range: element ignored
                      Case{"gzip;q=0.5555", false},  // four decimals: malformed
                      Case{"gzip;q=abc", false},
                      Case{"br;q=1, gzip;q=0.8, *;q=0.1", true},
                      Case{",,gzip,,", true},
                      Case{"gzip;level=1", true},    // unknown parameters do not matter
                      Case{"gz ip", false},
                      Case{"*, gzip;q=0", false}));

TEST(AcceptEncodingTest, QualityIsInThousandthsAndExplicitBeatsStar) {
  AcceptEncoding ae = AcceptEncoding::Parse("gzip;q=0.25, *;q=0.9");
  EXPECT_EQ(ae.QualityOf("gzip"), 250);
  EXPECT_EQ(ae.QualityOf("br"), 900);
  EXPECT_EQ(AcceptEncoding::Parse("gzip").QualityOf("br"), 0);
}

}  // namespace
}  // namespace brigade::filters
