#include "builtin/filters/gzip_codec.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/filters/filter_test_util.h"

namespace brigade::filters {
namespace {

using test::ZlibGunzip;
using test::ZlibGzip;

// Every test runs on both backends: they must accept and refuse the same inputs, with the same
// messages.
class GzipCodecTest : public ::testing::TestWithParam<GzipBackend> {
 protected:
  GzipDecoderOptions Options(GzipDecoderOptions options = {}) const {
    options.backend = GetParam();
    return options;
  }
  [[nodiscard]] absl::StatusOr<std::string> Decode(absl::string_view data, size_t chunk = 7,
                                                   GzipDecoderOptions options = {}) const;
};

// Decodes `data` fed `chunk` bytes at a time, with a small output buffer.
absl::StatusOr<std::string> GzipCodecTest::Decode(absl::string_view data, size_t chunk,
                                                  GzipDecoderOptions options) const {
  options.backend = GetParam();
  absl::StatusOr<std::unique_ptr<GzipDecoder>> d = GzipDecoder::Create(options);
  if (!d.ok()) return d.status();
  std::string out;
  char buf[100];
  size_t pos = 0;
  while (true) {
    absl::string_view in = data.substr(pos, chunk);
    absl::StatusOr<GzipDecoder::Step> step = (*d)->Decode(in, buf, sizeof(buf));
    if (!step.ok()) return step.status();
    out.append(buf, step->produced);
    pos += step->consumed;
    if (pos >= data.size() && step->produced < sizeof(buf)) break;
  }
  if (absl::Status s = (*d)->Finish(); !s.ok()) return s;
  return out;
}

// Feeds `gz` to `decoder` in 8 KiB output blocks; the first error, or OK at the end of `gz`.
[[nodiscard]] absl::Status DecodeUntilError(GzipDecoder& decoder, absl::string_view gz) {
  std::string block(8192, '\0');
  size_t pos = 0;
  while (pos < gz.size()) {
    absl::StatusOr<GzipDecoder::Step> step =
        decoder.Decode(gz.substr(pos), block.data(), block.size());
    if (!step.ok()) return step.status();
    pos += step->consumed;
  }
  return absl::OkStatus();
}

// A gzip member with a hand-made header: FEXTRA, FNAME, FCOMMENT and FHCRC as requested.
std::string HandMade(absl::string_view body, bool extra, bool name, bool comment, bool hcrc) {
  std::string h = {'\x1f', '\x8b', 8, 0, 0, 0, 0, 0, 0, 3};
  unsigned char flags = 0;
  if (extra) {
    flags |= 4;
    h += std::string("\x04\x00" "AB\x00\x00", 6);
  }
  if (name) {
    flags |= 8;
    h += std::string("file.txt\0", 9);
  }
  if (comment) {
    flags |= 16;
    h += std::string("a comment\0", 10);
  }
  if (hcrc) flags |= 2;
  h[3] = static_cast<char>(flags);
  if (hcrc) {
    uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>(h.data()), static_cast<uInt>(h.size()));
    h += static_cast<char>(crc & 0xff);
    h += static_cast<char>((crc >> 8) & 0xff);
  }
  std::string gz = ZlibGzip(body, 6);
  return h + gz.substr(10);  // zlib's member without its 10-byte header
}

TEST_P(GzipCodecTest, EncoderOutputDecodesWithZlib) {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "line " + std::to_string(i) + "\n";
  absl::StatusOr<std::unique_ptr<GzipEncoder>> e = GzipEncoder::Create({.level = 9, .backend = GetParam()});
  ASSERT_TRUE(e.ok());
  std::string out(text.size() + 1024, '\0');
  absl::StatusOr<GzipEncoder::Step> step =
      (*e)->Deflate(text, out.data(), out.size(), GzipEncoder::Mode::kFinish);
  ASSERT_TRUE(step.ok());
  EXPECT_TRUE(step->done);
  out.resize(step->produced);
  EXPECT_EQ(ZlibGunzip(out).value_or("decode failed"), text);
}

TEST_P(GzipCodecTest, EncoderRefusesOutOfRangeOptions) {
  EXPECT_EQ(GzipEncoder::Create({.level = 0, .backend = GetParam()}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GzipEncoder::Create({.level = 10, .backend = GetParam()}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GzipEncoder::Create({.window_bits = 8, .backend = GetParam()}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GzipEncoder::Create({.mem_level = 10, .backend = GetParam()}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(GzipCodecTest, DecodesZlibOutputAtAnyChunking) {
  std::string text(50000, 'x');
  for (size_t i = 0; i < text.size(); i += 7) text[i] = static_cast<char>('a' + i % 26);
  std::string gz = ZlibGzip(text, 1);
  for (size_t chunk : {1u, 3u, 10u, 4096u, 1000000u}) {
    absl::StatusOr<std::string> out = Decode(gz, chunk);
    ASSERT_TRUE(out.ok()) << out.status() << " chunk " << chunk;
    EXPECT_EQ(*out, text);
  }
}

TEST_P(GzipCodecTest, HandlesEveryOptionalHeaderField) {
  for (int mask = 0; mask < 16; ++mask) {
    std::string gz = HandMade("payload", mask & 1, mask & 2, mask & 4, mask & 8);
    absl::StatusOr<std::string> out = Decode(gz, 1);
    ASSERT_TRUE(out.ok()) << out.status() << " mask " << mask;
    EXPECT_EQ(*out, "payload");
  }
}

TEST_P(GzipCodecTest, BadHeaderCrcIsRejected) {
  std::string gz = HandMade("payload", false, true, false, true);
  gz[19] ^= 1;  // inside the FHCRC bytes (10 + 9 name bytes)
  absl::StatusOr<std::string> out = Decode(gz);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("header CRC"), std::string::npos) << out.status();
}

TEST_P(GzipCodecTest, MalformedInputsAreRejectedWithAReason) {
  std::string good = ZlibGzip("hello hello hello", 6);
  struct Bad {
    std::string data;
    absl::StatusCode code;
    const char* reason;
  };
  std::string bad_magic = good;
  bad_magic[0] = 'x';
  std::string bad_method = good;
  bad_method[2] = 7;
  std::string reserved = good;
  reserved[3] = static_cast<char>(0x20);
  std::string bad_crc = good;
  bad_crc[good.size() - 8] ^= 0xff;
  std::string bad_size = good;
  bad_size[good.size() - 4] ^= 0xff;
  std::string corrupt = good;
  corrupt[10] = static_cast<char>(0xff);  // first block header: BTYPE 11 is reserved
  for (const Bad& b : std::vector<Bad>{
           {bad_magic, absl::StatusCode::kInvalidArgument, "bad magic"},
           {bad_method, absl::StatusCode::kInvalidArgument, "compression method"},
           {reserved, absl::StatusCode::kInvalidArgument, "reserved"},
           {bad_crc, absl::StatusCode::kDataLoss, "CRC-32 mismatch"},
           {bad_size, absl::StatusCode::kDataLoss, "size mismatch"},
           {corrupt, absl::StatusCode::kInvalidArgument, "bad deflate data"},
           {good + "junk", absl::StatusCode::kInvalidArgument, "trailing garbage"},
           {good + good + "\x1f\x8b\x07", absl::StatusCode::kInvalidArgument, "trailing garbage"},
           {good + good.substr(0, 6), absl::StatusCode::kInvalidArgument,
            "header of member 2 is incomplete"},
           {good.substr(0, 5), absl::StatusCode::kInvalidArgument, "header is incomplete"},
           {good.substr(0, good.size() - 12), absl::StatusCode::kInvalidArgument,
            "truncated gzip body"},
           {good.substr(0, 12), absl::StatusCode::kInvalidArgument,
            "compressed data ends early"},
           {good.substr(0, good.size() - 3), absl::StatusCode::kInvalidArgument,
            "trailer is incomplete"},
       }) {
    absl::StatusOr<std::string> out = Decode(b.data);
    EXPECT_EQ(out.status().code(), b.code) << b.reason << ": " << out.status();
    EXPECT_NE(out.status().message().find(b.reason), std::string::npos) << out.status();
  }
}

TEST_P(GzipCodecTest, DecodesASeriesOfMembersAsOneStream) {
  std::string a(5000, 'a'), b = "second member\n", c;
  std::string gz = ZlibGzip(a, 6) + ZlibGzip(b, 1) + ZlibGzip(c, 9);
  absl::StatusOr<std::string> out = Decode(gz);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, a + b + c);
}

TEST_P(GzipCodecTest, JunkAfterAMemberNamesItsOffset) {
  std::string gz = ZlibGzip(std::string(100, 'x'), 6);
  absl::StatusOr<std::string> out = Decode(gz + gz + "junk");
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find(absl::StrCat("member 2 (not the start of another "
                                                     "member) at byte ",
                                                     2 * gz.size())),
            std::string::npos)
      << out.status();
}

TEST_P(GzipCodecTest, OutputLimitCountsEveryMember) {
  std::string member = ZlibGzip(std::string(600 << 10, 'a'), 9);
  absl::StatusOr<std::unique_ptr<GzipDecoder>> d = GzipDecoder::Create(Options({.max_output = 1 << 20}));
  ASSERT_TRUE(d.ok());
  absl::Status failure = DecodeUntilError(**d, member + member);
  EXPECT_EQ(failure.code(), absl::StatusCode::kResourceExhausted) << failure;
  EXPECT_EQ((*d)->members(), 1u);
}

TEST_P(GzipCodecTest, OutputLimitStopsWithinOneBlock) {
  std::string zeros(10 << 20, '\0');
  std::string gz = ZlibGzip(zeros, 9);
  absl::StatusOr<std::unique_ptr<GzipDecoder>> d = GzipDecoder::Create(Options({.max_output = 1 << 20}));
  ASSERT_TRUE(d.ok());
  absl::Status failure = DecodeUntilError(**d, gz);
  EXPECT_EQ(failure.code(), absl::StatusCode::kResourceExhausted) << failure;
  EXPECT_LE((*d)->total_out(), (1u << 20) + 8192);
}

TEST_P(GzipCodecTest, RatioLimitStopsBombsButNotSmallBodies) {
  std::string gz = ZlibGzip(std::string(1 << 20, ' '), 9);
  EXPECT_EQ(Decode(gz, 4096, {.max_ratio = 100}).status().code(),
            absl::StatusCode::kResourceExhausted);
  std::string small = ZlibGzip(std::string(4000, ' '), 9);  // ratio ~100, under the floor
  EXPECT_TRUE(Decode(small, 4096, {.max_ratio = 10}).ok());
}

// Feeds `in` to `e` with `mode`, into an output buffer of `room` bytes, until the step says it
// is through; appends the output to `gz`.
void Feed(GzipEncoder& e, absl::string_view in, GzipEncoder::Mode mode, std::string& gz,
          size_t room = 4096) {
  std::string out(room, '\0');
  while (true) {
    absl::StatusOr<GzipEncoder::Step> step = e.Deflate(in, out.data(), out.size(), mode);
    ASSERT_TRUE(step.ok()) << step.status();
    gz.append(out.data(), step->produced);
    in.remove_prefix(step->consumed);
    if (mode == GzipEncoder::Mode::kFinish ? step->done
                                           : in.empty() && step->produced < out.size()) {
      return;
    }
  }
}

// Compresses `text` with `backend` in pieces of `piece` input bytes into an output buffer of
// `room` bytes, syncing after each piece; after each sync everything so far must decode.
void CheckSyncFlushes(GzipBackend backend, int level, const std::string& text, size_t piece,
                      size_t room) {
  absl::StatusOr<std::unique_ptr<GzipEncoder>> e =
      GzipEncoder::Create({.level = level, .backend = backend});
  ASSERT_TRUE(e.ok()) << e.status();
  std::string gz;
  z_stream z{};
  ASSERT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::string seen;
  auto drain = [&](GzipEncoder::Mode mode, absl::string_view in) {
    Feed(**e, in, mode, gz, room);
  };
  size_t fed = 0;
  for (size_t pos = 0; pos < text.size(); pos += piece) {
    absl::string_view in = absl::string_view(text).substr(pos, piece);
    drain(GzipEncoder::Mode::kSync, in);
    fed += in.size();
    // What was compressed so far decodes in full: the sync flush left nothing behind.
    std::string buf(fed + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(gz.data() + (z.total_in));
    z.avail_in = static_cast<uInt>(gz.size() - z.total_in);
    while (z.avail_in > 0) {
      z.next_out = reinterpret_cast<Bytef*>(buf.data());
      z.avail_out = static_cast<uInt>(buf.size());
      int rc = inflate(&z, Z_SYNC_FLUSH);
      ASSERT_TRUE(rc == Z_OK || rc == Z_BUF_ERROR) << rc;
      seen.append(buf.data(), buf.size() - z.avail_out);
    }
    ASSERT_EQ(seen.size(), fed) << "piece " << piece << " room " << room;
  }
  inflateEnd(&z);
  drain(GzipEncoder::Mode::kFinish, {});
  EXPECT_EQ(ZlibGunzip(gz).value_or("decode failed"), text);
  EXPECT_EQ((*e)->total_in(), text.size());
  EXPECT_EQ((*e)->total_out(), gz.size());
}

TEST_P(GzipCodecTest, EverySyncFlushMakesTheOutputSoFarDecodable) {
  std::string text;
  for (int i = 0; i < 3000; ++i) text += absl::StrCat("row ", i * 7919 % 1000, " of the table\n");
  for (int level : {1, 6, 9}) {
    for (size_t piece : {1000u, 7000u, 100000u}) {
      // zlib needs more than six bytes of room to finish a flush (zlib.h).
      for (size_t room : {7u, 13u, 8192u}) {
        CheckSyncFlushes(GetParam(), level, text, piece, room);
      }
    }
  }
}

TEST_P(GzipCodecTest, OwnOutputDecodesAtAnyChunking) {
  // Small members too: ISA-L reads ahead into the trailer, which must still be found whole.
  for (size_t size : {0u, 1u, 5u, 100u, 70000u}) {
    std::string text;
    for (size_t i = 0; i < size; ++i) text += static_cast<char>('a' + (i * i) % 23);
    absl::StatusOr<std::unique_ptr<GzipEncoder>> e =
        GzipEncoder::Create({.level = 6, .backend = GetParam()});
    ASSERT_TRUE(e.ok());
    std::string gz(size + 1024, '\0');
    absl::StatusOr<GzipEncoder::Step> step =
        (*e)->Deflate(text, gz.data(), gz.size(), GzipEncoder::Mode::kFinish);
    ASSERT_TRUE(step.ok() && step->done);
    gz.resize(step->produced);
    for (size_t chunk : {1u, 2u, 9u, 4096u, 1000000u}) {
      absl::StatusOr<std::string> out = Decode(gz + gz, chunk);
      ASSERT_TRUE(out.ok()) << out.status() << " size " << size << " chunk " << chunk;
      EXPECT_EQ(*out, text + text);
    }
  }
}

void* volatile escaped = nullptr;

// Compresses `text` in 16 KiB pieces at `level`, the way DEFLATE feeds a file.
std::string Compress(GzipBackend backend, int level, absl::string_view text) {
  absl::StatusOr<std::unique_ptr<GzipEncoder>> e =
      GzipEncoder::Create({.level = level, .backend = backend});
  if (!e.ok()) return "";
  std::string gz(text.size() + 1024, '\0');
  size_t made = 0;
  for (size_t pos = 0;; pos += 16384) {
    absl::string_view piece = text.substr(std::min(pos, text.size()), 16384);
    bool last = pos + 16384 >= text.size();
    absl::StatusOr<GzipEncoder::Step> step =
        (*e)->Deflate(piece, gz.data() + made, gz.size() - made,
                      last ? GzipEncoder::Mode::kFinish : GzipEncoder::Mode::kNone);
    if (!step.ok() || step->consumed != piece.size()) return "";
    made += step->produced;
    if (last) break;
  }
  gz.resize(made);
  return gz;
}

TEST_P(GzipCodecTest, OutputDoesNotDependOnWhatTheStatesMemoryHeld) {
  // The encoder's state is not zeroed when it is made (ISA-L's is 350 KiB): its output must
  // not depend on what that memory held. Freed blocks of the states' sizes, filled with a
  // pattern, are what malloc hands the next encoder.
  std::string text;
  for (int i = 0; i < 9000; ++i) {
    absl::StrAppend(&text, "<p class=\"row\">item ", i * 7919 % 1000, "</p>\n");
  }
  for (int level : {1, 6}) {
    std::string first = Compress(GetParam(), level, text);
    ASSERT_FALSE(first.empty());
    absl::StatusOr<std::string> plain = ZlibGunzip(first);
    ASSERT_TRUE(plain.ok()) << plain.status();
    EXPECT_EQ(*plain, text);
    for (unsigned char fill : {0x00, 0xff, 0x5a}) {
      for (size_t size : {82u << 10, 276u << 10, 64u << 10}) {
        auto* dirty = static_cast<unsigned char*>(malloc(size));
        memset(dirty, fill, size);
        escaped = dirty;  // keeps the fill from being optimised away with the free
        free(dirty);
      }
      EXPECT_EQ(Compress(GetParam(), level, text), first)
          << "level " << level << " fill " << int{fill};
    }
  }
}

std::string Paragraphs(size_t bytes) {
  std::string text;
  for (int i = 0; text.size() < bytes; ++i) {
    absl::StrAppend(&text, "paragraph ", i * 7919 % 100003, ": the quick brown fox, ", i % 97,
                    " lazy dogs\n");
  }
  text.resize(bytes);
  return text;
}

TEST_P(GzipCodecTest, AFullFlushForgetsWhatCameBefore) {
  std::string part = Paragraphs(20000);
  for (GzipEncoder::Mode mode : {GzipEncoder::Mode::kSync, GzipEncoder::Mode::kFull}) {
    absl::StatusOr<std::unique_ptr<GzipEncoder>> e =
        GzipEncoder::Create({.level = 6, .backend = GetParam()});
    ASSERT_TRUE(e.ok()) << e.status();
    std::string gz;
    Feed(**e, part, mode, gz);
    size_t first = gz.size();
    Feed(**e, part, mode, gz);
    size_t second = gz.size() - first;
    Feed(**e, {}, GzipEncoder::Mode::kFinish, gz);
    EXPECT_EQ(ZlibGunzip(gz).value_or("decode failed"), part + part);
    if (mode == GzipEncoder::Mode::kSync) {
      // The second copy is a run of longest matches into the window (258 bytes each).
      EXPECT_LT(second, first / 5) << "sync";
    } else {
      // It cannot refer back across the full flush: it costs what the first did.
      EXPECT_GT(second, first * 9 / 10) << "full";
    }
  }
}

// The process's resident memory, in bytes.
size_t ResidentBytes() {
  FILE* f = fopen("/proc/self/statm", "r");
  size_t pages = 0, resident = 0;
  if (f != nullptr) {
    if (fscanf(f, "%zu %zu", &pages, &resident) != 2) resident = 0;
    fclose(f);
  }
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

TEST_P(GzipCodecTest, ReleasedMemoryGoesBackAndTheStreamGoesOn) {
  bool zlib = GetParam() == GzipBackend::kZlib;
  std::string text = Paragraphs(400000);
  absl::string_view half1 = absl::string_view(text).substr(0, 200000);
  absl::string_view half2 = absl::string_view(text).substr(200000);
  constexpr int kStreams = 20;
  std::vector<std::unique_ptr<GzipEncoder>> encoders;
  std::vector<std::string> gz(kStreams);
  for (int i = 0; i < kStreams; ++i) {
    absl::StatusOr<std::unique_ptr<GzipEncoder>> e =
        GzipEncoder::Create({.level = 6, .backend = GetParam()});
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_EQ((*e)->releases_memory(), zlib);
    encoders.push_back(std::move(*e));
    // Enough input to fill the window and every table.
    Feed(*encoders.back(), half1, GzipEncoder::Mode::kNone, gz[i]);
  }
  size_t before = ResidentBytes();
  for (int i = 0; i < kStreams; ++i) {
    Feed(*encoders[i], {}, GzipEncoder::Mode::kFull, gz[i]);
    encoders[i]->ReleaseMemory();
  }
  size_t after = ResidentBytes();
  if (zlib) {
    // Each stream's window, chains, hash heads and pending buffer are 256 KiB at level 6: at
    // least half of that goes (all of it in an optimised build; ASan's allocator keeps some).
    EXPECT_GT(before, after + kStreams * (128u << 10)) << before << " -> " << after;
  }
  for (int i = 0; i < kStreams; ++i) {
    Feed(*encoders[i], half2, GzipEncoder::Mode::kNone, gz[i]);
    Feed(*encoders[i], {}, GzipEncoder::Mode::kFinish, gz[i]);
    ASSERT_EQ(ZlibGunzip(gz[i]).value_or("decode failed"), text) << "stream " << i;
    EXPECT_EQ(encoders[i]->total_in(), text.size());
  }
}

TEST_P(GzipCodecTest, EveryLevelGoesOnAfterItsMemoryWasReleased) {
  // Levels 1-3 take zlib's fast path, 4-9 its lazy one; released at every piece, whatever was
  // in the window, chains and pending buffer reads as zeros the next time.
  std::string text = Paragraphs(300000);
  for (int level : {1, 3, 4, 9}) {
    absl::StatusOr<std::unique_ptr<GzipEncoder>> e =
        GzipEncoder::Create({.level = level, .backend = GetParam()});
    ASSERT_TRUE(e.ok()) << e.status();
    std::string gz;
    for (size_t pos = 0; pos < text.size(); pos += 70001) {
      Feed(**e, absl::string_view(text).substr(pos, 70001), GzipEncoder::Mode::kNone, gz);
      Feed(**e, {}, GzipEncoder::Mode::kFull, gz);
      (*e)->ReleaseMemory();
    }
    Feed(**e, {}, GzipEncoder::Mode::kFinish, gz);
    EXPECT_TRUE(ZlibGunzip(gz).value_or("decode failed") == text) << "level " << level;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, GzipCodecTest,
                         ::testing::Values(GzipBackend::kZlib, GzipBackend::kIsal),
                         [](const ::testing::TestParamInfo<GzipBackend>& info) {
                           return std::string(GzipBackendName(info.param));
                         });

TEST(GzipBackendTest, NamesAndLevels) {
  EXPECT_EQ(ParseGzipBackend("zlib").value(), GzipBackend::kZlib);
  EXPECT_EQ(ParseGzipBackend("isal").value(), GzipBackend::kIsal);
  EXPECT_EQ(ParseGzipBackend("lz4").status().message(), "unknown gzip backend lz4 (zlib, isal)");
  std::vector<int> levels;
  for (int l = 1; l <= 9; ++l) levels.push_back(IsalLevel(l));
  EXPECT_EQ(levels, (std::vector<int>{1, 1, 2, 2, 2, 3, 3, 3, 3}));
}

}  // namespace
}  // namespace brigade::filters
