// HeaderMap: a case-insensitive multimap that keeps field order.

#include <string>
#include <utility>
#include <vector>

#include "filters/exchange.h"
#include "gtest/gtest.h"

namespace brigade::filters {
namespace {

std::vector<std::pair<std::string, std::string>> Fields(const HeaderMap& h) {
  return {h.begin(), h.end()};
}

TEST(HeaderMapTest, KeepsRepeatedFieldsInOrderAndFindsThemWhateverTheCase) {
  HeaderMap h;
  h.Add("Accept", "text/html");
  h.Add("Host", "x");
  h.Add("accept", "text/plain");
  EXPECT_EQ(h.size(), 3u);
  EXPECT_EQ(h.Get("ACCEPT"), "text/html");
  EXPECT_EQ(h.GetAll("Accept"), (std::vector<absl::string_view>{"text/html", "text/plain"}));
  EXPECT_EQ(h.GetCombined("accept"), "text/html, text/plain");
  EXPECT_FALSE(h.Get("Range").has_value());
  EXPECT_EQ(h.GetCombined("Range"), "");
}

TEST(HeaderMapTest, SetReplacesEveryFieldOfTheNameWithOneInTheFirstsPlace) {
  HeaderMap h;
  h.Add("Vary", "Accept");
  h.Add("Content-Type", "text/plain");
  h.Add("vary", "Cookie");
  h.Add("ETag", "\"1\"");
  h.Set("VARY", "Accept-Encoding");
  EXPECT_EQ(Fields(h), (std::vector<std::pair<std::string, std::string>>{
                           {"Vary", "Accept-Encoding"},
                           {"Content-Type", "text/plain"},
                           {"ETag", "\"1\""}}));
  // A name not there yet is appended.
  h.Set("Date", "Tue, 01 Dec 2026 15:00:00 GMT");
  EXPECT_EQ(h.size(), 4u);
  EXPECT_EQ(Fields(h).back().first, "Date");
  EXPECT_EQ(h.Get("date"), "Tue, 01 Dec 2026 15:00:00 GMT");
}

TEST(HeaderMapTest, RemoveSaysHowManyWentAndKeepsTheRestInOrder) {
  HeaderMap h;
  for (int i = 0; i < 20; ++i) h.Add(i % 2 ? "X-Odd" : "X-Even", std::to_string(i));
  EXPECT_EQ(h.Remove("x-odd"), 10u);
  EXPECT_EQ(h.Remove("x-odd"), 0u);
  std::vector<absl::string_view> even = h.GetAll("X-Even");
  ASSERT_EQ(even.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(even[i], std::to_string(2 * i));
  h.Clear();
  EXPECT_TRUE(h.empty());
}

}  // namespace
}  // namespace brigade::filters
