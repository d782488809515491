#include "builtin/filters/gzip_codec.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace brigade::filters {
namespace {

constexpr unsigned char kFlagHcrc = 0x02;
constexpr unsigned char kFlagExtra = 0x04;
constexpr unsigned char kFlagName = 0x08;
constexpr unsigned char kFlagComment = 0x10;
constexpr unsigned char kFlagReserved = 0xe0;

uint32_t LittleEndian32(const char* p) {
  const unsigned char* u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{u[0]} | uint32_t{u[1]} << 8 | uint32_t{u[2]} << 16 | uint32_t{u[3]} << 24;
}

Bytef* In(absl::string_view s) {
  return reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
}

}  // namespace

// --- GzipEncoder ---

absl::StatusOr<std::unique_ptr<GzipEncoder>> GzipEncoder::Create(
    const GzipEncoderOptions& options) {
  if (options.level < 1 || options.level > 9) {
    return absl::InvalidArgumentError(
        absl::StrCat("compression level ", options.level, " is not in 1-9"));
  }
  if (options.window_bits < 9 || options.window_bits > 15) {
    return absl::InvalidArgumentError(
        absl::StrCat("window bits ", options.window_bits, " is not in 9-15"));
  }
  if (options.mem_level < 1 || options.mem_level > 9) {
    return absl::InvalidArgumentError(
        absl::StrCat("memory level ", options.mem_level, " is not in 1-9"));
  }
  std::unique_ptr<GzipEncoder> e(new GzipEncoder());
  // windowBits + 16 asks zlib for the gzip wrapper: header, CRC-32 and ISIZE trailer.
  int rc = deflateInit2(&e->stream_, options.level, Z_DEFLATED, options.window_bits + 16,
                        options.mem_level, Z_DEFAULT_STRATEGY);
  if (rc != Z_OK) return absl::InternalError(absl::StrCat("deflateInit2 failed: ", rc));
  e->initialized_ = true;
  return e;
}

GzipEncoder::~GzipEncoder() {
  if (initialized_) deflateEnd(&stream_);
}

absl::StatusOr<GzipEncoder::Step> GzipEncoder::Deflate(absl::string_view in, char* out,
                                                       size_t out_size, Mode mode) {
  stream_.next_in = In(in);
  stream_.avail_in = static_cast<uInt>(in.size());
  stream_.next_out = reinterpret_cast<Bytef*>(out);
  stream_.avail_out = static_cast<uInt>(out_size);
  int flush = mode == Mode::kFinish ? Z_FINISH : mode == Mode::kSync ? Z_SYNC_FLUSH : Z_NO_FLUSH;
  int rc = deflate(&stream_, flush);
  if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
    return absl::InternalError(absl::StrCat("deflate failed: ", rc));
  }
  Step step;
  step.consumed = in.size() - stream_.avail_in;
  step.produced = out_size - stream_.avail_out;
  step.done = rc == Z_STREAM_END;
  return step;
}

// --- GzipDecoder ---

absl::StatusOr<std::unique_ptr<GzipDecoder>> GzipDecoder::Create(
    const GzipDecoderOptions& options) {
  std::unique_ptr<GzipDecoder> d(new GzipDecoder(options));
  // Negative window bits: raw DEFLATE; the header and trailer are ours to check.
  int rc = inflateInit2(&d->stream_, -MAX_WBITS);
  if (rc != Z_OK) return absl::InternalError(absl::StrCat("inflateInit2 failed: ", rc));
  d->initialized_ = true;
  return d;
}

GzipDecoder::~GzipDecoder() {
  if (initialized_) inflateEnd(&stream_);
}

absl::Status GzipDecoder::Error(absl::string_view what) const {
  return absl::InvalidArgumentError(absl::StrCat(what, " at byte ", offset_));
}

absl::StatusOr<size_t> GzipDecoder::ParseHeader(uint64_t start) const {
  const std::string& h = header_;
  bool magic = (h.size() < 1 || static_cast<unsigned char>(h[0]) == 0x1f) &&
               (h.size() < 2 || static_cast<unsigned char>(h[1]) == 0x8b);
  if (!magic && members_ > 0) return TrailingGarbage(start);
  if (!magic) return Error("not gzip data: bad magic");
  if (h.size() >= 3 && h[2] != 8) {
    if (members_ > 0) return TrailingGarbage(start);
    return Error("unsupported gzip compression method");
  }
  if (h.size() < 10) return 0;
  unsigned char flags = static_cast<unsigned char>(h[3]);
  if (flags & kFlagReserved) return Error("reserved gzip header flags set");
  size_t pos = 10;
  if (flags & kFlagExtra) {
    if (h.size() < pos + 2) return 0;
    size_t xlen = static_cast<unsigned char>(h[pos]) | static_cast<unsigned char>(h[pos + 1]) << 8;
    pos += 2 + xlen;
    if (h.size() < pos) return 0;
  }
  for (unsigned char flag : {kFlagName, kFlagComment}) {
    if (!(flags & flag)) continue;
    size_t nul = h.find('\0', pos);
    if (nul == std::string::npos) return 0;
    pos = nul + 1;
  }
  if (flags & kFlagHcrc) {
    if (h.size() < pos + 2) return 0;
    uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>(h.data()), static_cast<uInt>(pos));
    unsigned want = static_cast<unsigned char>(h[pos]) | static_cast<unsigned char>(h[pos + 1]) << 8;
    if ((crc & 0xffff) != want) return Error("gzip header CRC mismatch");
    pos += 2;
  }
  return pos;
}

absl::Status GzipDecoder::CheckLimits() const {
  if (options_.max_output != 0 && total_out_ > options_.max_output) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "inflated body exceeds the limit of ", options_.max_output, " bytes at byte ", offset_));
  }
  if (options_.max_ratio != 0 && total_out_ > options_.ratio_floor &&
      total_out_ > options_.max_ratio * std::max<uint64_t>(offset_, 1)) {
    return absl::ResourceExhaustedError(absl::StrCat("inflation ratio exceeds ",
                                                     options_.max_ratio, " at byte ", offset_));
  }
  return absl::OkStatus();
}

absl::StatusOr<GzipDecoder::Step> GzipDecoder::Decode(absl::string_view in, char* out,
                                                      size_t out_size) {
  if (!failed_.ok()) return failed_;
  Step step;
  absl::Status s = DecodeSteps(in, out, out_size, step);
  if (s.ok()) return step;
  failed_ = s;
  // Bytes decoded before malformed input are good: they go out, and the error comes with the
  // next call. Output past a limit is not returned.
  if (step.produced > 0 && !absl::IsResourceExhausted(s)) return step;
  return s;
}

absl::Status GzipDecoder::DecodeSteps(absl::string_view in, char* out, size_t out_size,
                                      Step& step) {
  // In kData an empty input still runs inflate: zlib may hold output from a previous call
  // that ran out of room.
  while (step.produced < out_size && (!in.empty() || state_ == State::kData)) {
    switch (state_) {
      case State::kHeader: {
        size_t before = header_.size();
        size_t room = options_.max_header + 10 + 8 - before;  // fixed part, XLEN, HCRC
        header_.append(in.data(), std::min(in.size(), room));
        absl::StatusOr<size_t> length = ParseHeader(offset_ - before);
        if (!length.ok()) return length.status();
        if (*length == 0) {
          if (header_.size() - before == room) return Error("gzip header too long");
          size_t used = header_.size() - before;
          offset_ += used;
          step.consumed += used;
          in.remove_prefix(used);
          break;
        }
        size_t used = *length - before;
        offset_ += used;
        step.consumed += used;
        in.remove_prefix(used);
        header_.clear();
        state_ = State::kData;
        break;
      }
      case State::kData: {
        stream_.next_in = In(in);
        stream_.avail_in = static_cast<uInt>(in.size());
        char* dst = out + step.produced;
        stream_.next_out = reinterpret_cast<Bytef*>(dst);
        stream_.avail_out = static_cast<uInt>(out_size - step.produced);
        int rc = inflate(&stream_, Z_NO_FLUSH);
        size_t used = in.size() - stream_.avail_in;
        size_t made = out_size - step.produced - stream_.avail_out;
        crc_ = crc32(crc_, reinterpret_cast<const Bytef*>(dst), static_cast<uInt>(made));
        if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT) {
          return Error(absl::StrCat("bad deflate data (",
                                    stream_.msg != nullptr ? stream_.msg : "corrupt", ")"));
        }
        if (rc == Z_MEM_ERROR) return absl::ResourceExhaustedError("inflate: out of memory");
        offset_ += used;
        total_out_ += made;
        member_out_ += made;
        step.consumed += used;
        step.produced += made;
        in.remove_prefix(used);
        if (absl::Status s = CheckLimits(); !s.ok()) return s;
        if (rc == Z_STREAM_END) {
          state_ = State::kTrailer;
        } else if (used == 0 && made == 0) {
          return absl::OkStatus();  // zlib needs more input or more room
        }
        break;
      }
      case State::kTrailer: {
        size_t used = std::min(in.size(), 8 - trailer_.size());
        trailer_.append(in.data(), used);
        offset_ += used;
        step.consumed += used;
        in.remove_prefix(used);
        if (trailer_.size() < 8) break;
        if (LittleEndian32(trailer_.data()) != crc_) {
          return absl::DataLossError(absl::StrCat("gzip CRC-32 mismatch at byte ", offset_ - 8));
        }
        if (LittleEndian32(trailer_.data() + 4) != static_cast<uint32_t>(member_out_)) {
          return absl::DataLossError(absl::StrCat("gzip size mismatch: trailer says ",
                                                  LittleEndian32(trailer_.data() + 4),
                                                  ", inflated ", member_out_, " at byte ",
                                                  offset_ - 4));
        }
        ++members_;
        state_ = State::kDone;
        break;
      }
      case State::kDone:
        // RFC 1952 section 2.2: a gzip file is a series of members. What follows a member must
        // start the next one.
        if (absl::Status s = StartMember(); !s.ok()) return s;
        break;
    }
  }
  return absl::OkStatus();
}

absl::Status GzipDecoder::TrailingGarbage(uint64_t at) const {
  return absl::InvalidArgumentError(absl::StrCat("trailing garbage after gzip member ", members_,
                                                 " (not the start of another member) at byte ",
                                                 at));
}

absl::Status GzipDecoder::StartMember() {
  if (inflateReset(&stream_) != Z_OK) return absl::InternalError("inflateReset failed");
  crc_ = 0;
  member_out_ = 0;
  trailer_.clear();
  state_ = State::kHeader;
  return absl::OkStatus();
}

absl::Status GzipDecoder::Finish() const {
  if (!failed_.ok()) return failed_;
  switch (state_) {
    case State::kDone:
      return absl::OkStatus();
    case State::kHeader:
      return Error(members_ == 0 ? "truncated gzip body: the header is incomplete"
                                 : absl::StrCat("truncated gzip body: the header of member ",
                                                members_ + 1, " is incomplete"));
    case State::kData:
      return Error("truncated gzip body: the compressed data ends early");
    case State::kTrailer:
      return Error("truncated gzip body: the trailer is incomplete");
  }
  return absl::OkStatus();
}

}  // namespace brigade::filters
