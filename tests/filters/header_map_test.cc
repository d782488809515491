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

// Only letters fold: bytes that differ by the case bit but are not letters ('@' and '`',
// '[' and '{', '-' and CR) are different names.
TEST(HeaderMapTest, NamesFoldCaseOnlyForLetters) {
  HeaderMap h;
  h.Add("X-@[", "1");
  EXPECT_EQ(h.Get("x-@["), "1");
  EXPECT_FALSE(h.Get("X-`[").has_value());
  EXPECT_FALSE(h.Get("X-@{").has_value());
  EXPECT_FALSE(h.Get("X\r@[").has_value());
  EXPECT_FALSE(h.Get("X-@").has_value());
  h.Add("Content-Length", "5");
  EXPECT_EQ(h.Get("CONTENT-length"), "5");
  EXPECT_FALSE(h.Get("Content_Length").has_value());
}

// Names are compared eight bytes at a time while the bytes are equal: a difference of case,
// or of anything else, in or after the first eight must still be found.
TEST(HeaderMapTest, LongNamesMatchInEveryCaseAndDifferAnywhere) {
  HeaderMap h;
  h.Add("Access-Control-Allow-Origin", "*");
  h.Add("Strict-Transport-Security", "max-age=1");
  EXPECT_EQ(h.Get("access-control-allow-origin"), "*");
  EXPECT_EQ(h.Get("Access-Control-Allow-ORIGIN"), "*");
  EXPECT_EQ(h.Get("ACCESS-Control-Allow-Origin"), "*");
  EXPECT_EQ(h.Get("Strict-Transport-SecuritY"), "max-age=1");
  EXPECT_FALSE(h.Get("Access-Control-Allow-Origim").has_value());
  EXPECT_FALSE(h.Get("Access_Control-Allow-Origin").has_value());
  EXPECT_FALSE(h.Get("Access-Control_Allow-Origin").has_value());
  EXPECT_FALSE(h.Get("Strict-Transport-Securit\x19").has_value());
}

// Names are compared a word at a time, the last word overlapping, before any byte by byte: at
// every length, a name matches itself and any change of case, and differs from a name with
// any one byte changed, wherever it is.
TEST(HeaderMapTest, FieldNamesEqualAtEveryLengthAndPosition) {
  for (size_t n = 1; n <= 24; ++n) {
    std::string name;
    for (size_t i = 0; i < n; ++i) name += static_cast<char>('a' + i % 26);
    EXPECT_TRUE(FieldNamesEqual(name, name)) << n;
    EXPECT_FALSE(FieldNamesEqual(name, name + "a")) << n;
    for (size_t i = 0; i < n; ++i) {
      std::string upper = name;
      upper[i] = static_cast<char>(upper[i] - 'a' + 'A');
      EXPECT_TRUE(FieldNamesEqual(name, upper)) << n << " " << i;
      EXPECT_TRUE(FieldNamesEqual(upper, name)) << n << " " << i;
      std::string dash = name;
      dash[i] = '-';
      EXPECT_FALSE(FieldNamesEqual(name, dash)) << n << " " << i;
      // Bytes that differ only in the case bit but are not letters.
      std::string cr = name;
      cr[i] = '\r';
      EXPECT_FALSE(FieldNamesEqual(dash, cr)) << n << " " << i;
    }
  }
}

// Lookups of names the map never had are answered without a scan; the answers must be the
// same as a scan's, whatever the case, after removals, a Set of a removed name and a Clear.
TEST(HeaderMapTest, AbsentNamesAreAbsentAndPresentOnesFoundThroughEveryChange) {
  HeaderMap h;
  EXPECT_FALSE(h.Get("Host").has_value());
  h.Add("content-TYPE", "text/plain");
  h.Add("X-a", "1");
  EXPECT_EQ(h.Get("Content-Type"), "text/plain");
  EXPECT_EQ(h.Get("x-A"), "1");
  EXPECT_FALSE(h.Get("Content-Length").has_value());
  EXPECT_TRUE(h.GetAll("Transfer-Encoding").empty());
  EXPECT_EQ(h.Remove("ETag"), 0u);
  EXPECT_EQ(h.Remove("x-a"), 1u);
  EXPECT_FALSE(h.Get("X-A").has_value());
  h.Set("X-A", "2");
  EXPECT_EQ(h.Get("x-a"), "2");
  EXPECT_EQ(h.size(), 2u);
  h.Clear();
  EXPECT_FALSE(h.Get("Content-Type").has_value());
  h.Set("Content-Type", "text/html");
  EXPECT_EQ(h.GetAll("CONTENT-TYPE"), (std::vector<absl::string_view>{"text/html"}));
}

// A lookup finds the first field of the name, also when the one found last time has moved
// or another of the name came before it since.
TEST(HeaderMapTest, ALookupRepeatedAfterFieldsMovedStillFindsTheFirstOfTheName) {
  HeaderMap h;
  h.Add("X-Gone", "0");
  h.Add("Content-Length", "1");
  h.Add("content-length", "2");
  EXPECT_EQ(h.Get("Content-Length"), "1");
  EXPECT_EQ(h.Get("CONTENT-LENGTH"), "1");
  h.Remove("X-Gone");  // the first Content-Length moves to where X-Gone was
  EXPECT_EQ(h.Get("Content-Length"), "1");
  h.Set("Content-Length", "3");
  EXPECT_EQ(h.Get("Content-Length"), "3");
  EXPECT_EQ(h.size(), 1u);
  h.Add("X-Other", "x");
  EXPECT_EQ(h.Get("X-Other"), "x");
  EXPECT_EQ(h.Get("Content-Length"), "3");
  h.Remove("Content-Length");
  EXPECT_FALSE(h.Get("Content-Length").has_value());
  EXPECT_EQ(h.Get("X-Other"), "x");
  h.Clear();
  h.Add("X-Other", "y");
  EXPECT_EQ(h.Get("X-Other"), "y");
  HeaderMap copy = h;
  EXPECT_EQ(copy.Get("x-other"), "y");
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

// The text lives in the map: fields beyond the inline block go to heap blocks that never
// move, so every field stays readable however many come.
TEST(HeaderMapTest, HoldsFieldsFarBeyondItsInlineBlock) {
  HeaderMap h;
  for (int i = 0; i < 200; ++i) h.Add("X-Field-" + std::to_string(i), std::string(100, 'a' + i % 26));
  ASSERT_EQ(h.size(), 200u);
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(h.Get("x-field-" + std::to_string(i)), std::string(100, 'a' + i % 26)) << i;
  }
}

// Set and Remove leave old text behind; the map compacts it, so a handler setting a field in
// a loop costs what the live fields need, not what it ever set.
TEST(HeaderMapTest, TextLeftBehindBySetIsReclaimed) {
  HeaderMap h;
  h.Add("Content-Type", "text/plain");
  for (int i = 0; i < 100000; ++i) {
    h.Set("X-Counter", std::to_string(i) + std::string(90, 'x'));
    h.Add("X-Temp", std::string(50, 't'));
    h.Remove("X-Temp");
  }
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(h.Get("Content-Type"), "text/plain");
  EXPECT_EQ(h.Get("X-Counter"), "99999" + std::string(90, 'x'));
  EXPECT_LT(h.stored_bytes(), 8192u);
}

// Copying a field's value to another field of the same map is safe even when that copy is
// what makes the map compact (the source view is not freed under it).
TEST(HeaderMapTest, AValueTakenFromTheSameMapSurvivesACompaction) {
  for (int garbage = 0; garbage < 64; ++garbage) {
    HeaderMap h;
    h.Add("Source", std::string(300, 's'));
    for (int i = 0; i < garbage; ++i) h.Set("Churn", std::string(100, 'c'));
    h.Set("Copy", *h.Get("Source"));
    h.Add("Also", *h.Get("Copy"));
    EXPECT_EQ(h.Get("Copy"), std::string(300, 's')) << garbage;
    EXPECT_EQ(h.Get("Also"), std::string(300, 's')) << garbage;
    EXPECT_EQ(h.Get("Source"), std::string(300, 's')) << garbage;
  }
}

// Fields added together land as one Add each would leave them, after what was there, repeated
// names included; values viewing the map's own text survive the reservation, compaction or not.
TEST(HeaderMapTest, FieldsAddedTogetherAreAsIfAddedOneByOne) {
  HeaderMap h;
  h.Add("Vary", "a");
  h.Add({{"Content-Type", "text/plain"}, {"vary", "b"}, {"Empty", ""}, {"ETag", "\"1\""}});
  EXPECT_EQ(Fields(h), (std::vector<std::pair<std::string, std::string>>{
                           {"Vary", "a"},
                           {"Content-Type", "text/plain"},
                           {"vary", "b"},
                           {"Empty", ""},
                           {"ETag", "\"1\""}}));
  EXPECT_EQ(h.GetAll("Vary"), (std::vector<absl::string_view>{"a", "b"}));
  h.Add({});
  EXPECT_EQ(h.size(), 5u);
  for (int garbage = 0; garbage < 64; ++garbage) {
    HeaderMap m;
    m.Add("Source", std::string(300, 's'));
    for (int i = 0; i < garbage; ++i) m.Set("Churn", std::string(100, 'c'));
    absl::string_view source = *m.Get("Source");
    m.Add({{"Copy", source}, {"Big", std::string(700, 'b')}, {"Again", source}});
    EXPECT_EQ(m.Get("Copy"), std::string(300, 's')) << garbage;
    EXPECT_EQ(m.Get("Again"), std::string(300, 's')) << garbage;
    EXPECT_EQ(m.Get("Big"), std::string(700, 'b')) << garbage;
  }
}

TEST(HeaderMapTest, CopiesAndMovesOwnTheirText) {
  HeaderMap a;
  a.Add("Host", "example.com");
  a.Add("X-Long", std::string(2000, 'l'));
  HeaderMap copy = a;
  HeaderMap moved = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): a move empties the source
  a.Add("Host", "other");
  for (const HeaderMap* h : {&copy, &moved}) {
    EXPECT_EQ(h->Get("host"), "example.com");
    EXPECT_EQ(h->Get("x-long"), std::string(2000, 'l'));
  }
  copy = moved;
  moved = HeaderMap();
  EXPECT_EQ(copy.Get("x-long"), std::string(2000, 'l'));
  EXPECT_TRUE(moved.empty());
}

}  // namespace
}  // namespace brigade::filters
