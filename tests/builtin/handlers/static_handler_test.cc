#include "builtin/handlers/static_handler.h"

#include "gtest/gtest.h"

namespace brigade::handlers {
namespace {

TEST(MimeTypeForTest, KnownExtensionsInAnyCase) {
  EXPECT_EQ(MimeTypeFor("/a/page.html"), "text/html; charset=utf-8");
  EXPECT_EQ(MimeTypeFor("/a/PAGE.HTML"), "text/html; charset=utf-8");
  EXPECT_EQ(MimeTypeFor("/notes.TxT"), "text/plain; charset=utf-8");
  EXPECT_EQ(MimeTypeFor("/font.woff2"), "font/woff2");
  EXPECT_EQ(MimeTypeFor("/photo.JPEG"), "image/jpeg");
  EXPECT_EQ(MimeTypeFor("archive.tar.gz"), "application/gzip");
}

TEST(MimeTypeForTest, AnythingElseIsOctetStream) {
  for (const char* path : {"/README", "/dir.html/file", "/a.", "/a.htmlx", "/a.woff22",
                           "/a.averylongextension", "/.", "", "/a.ht ml"}) {
    EXPECT_EQ(MimeTypeFor(path), "application/octet-stream") << path;
  }
  // The dot of a name that is only an extension still names the type.
  EXPECT_EQ(MimeTypeFor("/.html"), "text/html; charset=utf-8");
}

}  // namespace
}  // namespace brigade::handlers
