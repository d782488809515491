#include "builtin/filters/gzip_codec.h"

#include <isa-l.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <utility>

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

// --- backends ---

const char* GzipBackendName(GzipBackend backend) {
  return backend == GzipBackend::kIsal ? "isal" : "zlib";
}

[[nodiscard]] absl::StatusOr<GzipBackend> ParseGzipBackend(absl::string_view name) {
  if (name == "zlib") return GzipBackend::kZlib;
  if (name == "isal") return GzipBackend::kIsal;
  return absl::InvalidArgumentError(absl::StrCat("unknown gzip backend ", name, " (zlib, isal)"));
}

[[nodiscard]] absl::Status ParseGzipBackendInto(absl::string_view name, GzipBackend& out) {
  absl::StatusOr<GzipBackend> backend = ParseGzipBackend(name);
  if (!backend.ok()) return backend.status();
  out = *backend;
  return absl::OkStatus();
}

int IsalLevel(int zlib_level) { return zlib_level <= 2 ? 1 : zlib_level <= 5 ? 2 : 3; }

namespace {

size_t IsalLevelBufferBytes(int isal_level) {
  return isal_level == 1   ? ISAL_DEF_LVL1_DEFAULT
         : isal_level == 2 ? ISAL_DEF_LVL2_DEFAULT
                           : ISAL_DEF_LVL3_DEFAULT;
}

}  // namespace

uint64_t IsalEncoderStateBytes(int zlib_level) {
  return sizeof(isal_zstream) + IsalLevelBufferBytes(IsalLevel(zlib_level));
}

uint64_t DecoderStateBytes(GzipBackend backend) {
  // zlib: its 32 KiB window; ISA-L keeps its window and tables in inflate_state.
  return backend == GzipBackend::kIsal ? sizeof(inflate_state) : 32 * 1024;
}

class GzipEncoder::Engine {
 public:
  virtual ~Engine() = default;
  // As GzipEncoder::Deflate.
  [[nodiscard]] virtual absl::StatusOr<Step> Deflate(absl::string_view in, char* out,
                                                     size_t out_size, Mode mode) = 0;
  // As GzipEncoder::ReleaseMemory and releases_memory.
  virtual void ReleaseMemory() {}
  virtual bool releases_memory() const { return false; }
};

namespace {

size_t PageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

// zlib's allocations for one deflate stream, from malloc as zlib's own allocator takes them
// (the same heap reuse from one response to the next), remembered so that the whole pages
// inside its window, hash chains and pending buffer can be given back to the kernel while their
// contents do not matter (after a full flush) and the stream stays usable.
class DeflateAllocations {
 public:
  DeflateAllocations() = default;
  DeflateAllocations(const DeflateAllocations&) = delete;
  DeflateAllocations& operator=(const DeflateAllocations&) = delete;

  static voidpf Alloc(voidpf opaque, uInt items, uInt size) {
    return static_cast<DeflateAllocations*>(opaque)->Take(size_t{items} * size);
  }
  static void Free(voidpf opaque, voidpf p) {
    static_cast<DeflateAllocations*>(opaque)->Give(p);
  }

  // Gives back the whole pages of every allocation but the first (zlib's state, which lives
  // on); they read as zeros afterwards. Only bytes this stream owns are touched: malloc's own
  // bookkeeping lies outside an allocation while it is held.
  void ReleaseBuffers() {
    for (size_t i = 1; i < count_; ++i) {
      uintptr_t begin = reinterpret_cast<uintptr_t>(pieces_[i].first);
      uintptr_t first = (begin + PageSize() - 1) & ~(PageSize() - 1);
      uintptr_t last = (begin + pieces_[i].second) & ~(PageSize() - 1);
      if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
    }
  }

 private:
  void* Take(size_t n) {
    void* p = malloc(n);
    // deflateInit2 allocates five pieces (deflate.c); a sixth would only not be released.
    if (p != nullptr && count_ < pieces_.size()) pieces_[count_++] = {p, n};
    return p;
  }
  void Give(void* p) {
    for (size_t i = 0; i < count_; ++i) {
      if (pieces_[i].first == p) pieces_[i] = {nullptr, 0};
    }
    free(p);
  }

  std::array<std::pair<void*, size_t>, 5> pieces_{};
  size_t count_ = 0;
};

class ZlibEngine final : public GzipEncoder::Engine {
 public:
  ~ZlibEngine() override { deflateEnd(&stream_); }
  [[nodiscard]] absl::Status Init(const GzipEncoderOptions& options) {
    stream_.zalloc = DeflateAllocations::Alloc;
    stream_.zfree = DeflateAllocations::Free;
    stream_.opaque = &allocations_;
    // windowBits + 16 asks zlib for the gzip wrapper: header, CRC-32 and ISIZE trailer.
    int rc = deflateInit2(&stream_, options.level, Z_DEFLATED, options.window_bits + 16,
                          options.mem_level, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) return absl::InternalError(absl::StrCat("deflateInit2 failed: ", rc));
    return absl::OkStatus();
  }
  [[nodiscard]] absl::StatusOr<GzipEncoder::Step> Deflate(absl::string_view in, char* out,
                                                          size_t out_size,
                                                          GzipEncoder::Mode mode) override {
    using Mode = GzipEncoder::Mode;
    stream_.next_in = In(in);
    stream_.avail_in = static_cast<uInt>(in.size());
    stream_.next_out = reinterpret_cast<Bytef*>(out);
    stream_.avail_out = static_cast<uInt>(out_size);
    int flush = mode == Mode::kFinish ? Z_FINISH
                : mode == Mode::kSync ? Z_SYNC_FLUSH
                : mode == Mode::kFull ? Z_FULL_FLUSH
                                      : Z_NO_FLUSH;
    int rc = deflate(&stream_, flush);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      return absl::InternalError(absl::StrCat("deflate failed: ", rc));
    }
    return GzipEncoder::Step{.consumed = in.size() - stream_.avail_in,
                             .produced = out_size - stream_.avail_out,
                             .done = rc == Z_STREAM_END};
  }
  // After Z_FULL_FLUSH, with no input left in the window, zlib has cleared the hash heads and
  // will start the window over: nothing it reads again comes from the old window, chains or
  // pending buffer (deflate.c), and a zeroed hash head is what the clearing left.
  void ReleaseMemory() override { allocations_.ReleaseBuffers(); }
  bool releases_memory() const override { return true; }

 private:
  DeflateAllocations allocations_;
  z_stream stream_{};
};

class IsalEngine final : public GzipEncoder::Engine {
 public:
  // User-provided, so that make_unique does not zero the 80 KiB stream: isal_deflate_init sets
  // what the stream needs, and ISA-L clears the level buffer's hash table when a stream starts.
  IsalEngine() {}
  [[nodiscard]] absl::Status Init(const GzipEncoderOptions& options) {
    isal_deflate_init(&stream_);
    stream_.gzip_flag = IGZIP_GZIP;
    stream_.hist_bits = static_cast<uint16_t>(options.window_bits);
    int level = IsalLevel(options.level);
    size_t buf = IsalLevelBufferBytes(level);
    level_buf_ = std::make_unique_for_overwrite<uint8_t[]>(buf);
    stream_.level = static_cast<uint32_t>(level);
    stream_.level_buf = level_buf_.get();
    stream_.level_buf_size = static_cast<uint32_t>(buf);
    return absl::OkStatus();
  }
  [[nodiscard]] absl::StatusOr<GzipEncoder::Step> Deflate(absl::string_view in, char* out,
                                                          size_t out_size,
                                                          GzipEncoder::Mode mode) override {
    using Mode = GzipEncoder::Mode;
    if (stream_.internal_state.state == ZSTATE_END) return GzipEncoder::Step{.done = true};
    stream_.next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(in.data()));
    stream_.avail_in = static_cast<uint32_t>(in.size());
    stream_.next_out = reinterpret_cast<uint8_t*>(out);
    stream_.avail_out = static_cast<uint32_t>(out_size);
    stream_.flush = mode == Mode::kNone ? NO_FLUSH : mode == Mode::kFull ? FULL_FLUSH : SYNC_FLUSH;
    stream_.end_of_stream = mode == Mode::kFinish ? 1 : 0;
    int rc = isal_deflate(&stream_);
    if (rc != COMP_OK) return absl::InternalError(absl::StrCat("isal_deflate failed: ", rc));
    return GzipEncoder::Step{.consumed = in.size() - stream_.avail_in,
                             .produced = out_size - stream_.avail_out,
                             .done = stream_.internal_state.state == ZSTATE_END};
  }

 private:
  isal_zstream stream_;
  std::unique_ptr<uint8_t[]> level_buf_;
};

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
  if (options.backend == GzipBackend::kIsal) {
    auto engine = std::make_unique<IsalEngine>();
    if (absl::Status s = engine->Init(options); !s.ok()) return s;
    return std::unique_ptr<GzipEncoder>(new GzipEncoder(std::move(engine)));
  }
  auto engine = std::make_unique<ZlibEngine>();
  if (absl::Status s = engine->Init(options); !s.ok()) return s;
  return std::unique_ptr<GzipEncoder>(new GzipEncoder(std::move(engine)));
}

GzipEncoder::GzipEncoder(std::unique_ptr<Engine> engine) : engine_(std::move(engine)) {}

GzipEncoder::~GzipEncoder() = default;

absl::StatusOr<GzipEncoder::Step> GzipEncoder::Deflate(absl::string_view in, char* out,
                                                       size_t out_size, Mode mode) {
  absl::StatusOr<Step> step = engine_->Deflate(in, out, out_size, mode);
  if (step.ok()) {
    total_in_ += step->consumed;
    total_out_ += step->produced;
  }
  return step;
}

void GzipEncoder::ReleaseMemory() { engine_->ReleaseMemory(); }

bool GzipEncoder::releases_memory() const { return engine_->releases_memory(); }

// --- GzipDecoder ---

class GzipDecoder::Inflater {
 public:
  struct Result {
    size_t used = 0;
    size_t made = 0;
    bool end = false;   // the DEFLATE stream's last block is done
    std::string tail;   // at the end: input bytes the backend had read past it
  };
  virtual ~Inflater() = default;
  // Inflates raw DEFLATE from `in` into `out`. Errors: malformed data → InvalidArgument
  // (without an offset: the caller adds it).
  [[nodiscard]] virtual absl::StatusOr<Result> Inflate(absl::string_view in, char* out,
                                                       size_t out_size) = 0;
  // For the next member.
  [[nodiscard]] virtual absl::Status Reset() = 0;
  virtual uint32_t Crc32(uint32_t crc, const char* data, size_t size) const = 0;
};

namespace {

class ZlibInflater final : public GzipDecoder::Inflater {
 public:
  ~ZlibInflater() override { inflateEnd(&stream_); }
  [[nodiscard]] absl::Status Init() {
    // Negative window bits: raw DEFLATE; the header and trailer are ours to check.
    int rc = inflateInit2(&stream_, -MAX_WBITS);
    if (rc != Z_OK) return absl::InternalError(absl::StrCat("inflateInit2 failed: ", rc));
    return absl::OkStatus();
  }
  [[nodiscard]] absl::StatusOr<Result> Inflate(absl::string_view in, char* out,
                                               size_t out_size) override {
    stream_.next_in = In(in);
    stream_.avail_in = static_cast<uInt>(in.size());
    stream_.next_out = reinterpret_cast<Bytef*>(out);
    stream_.avail_out = static_cast<uInt>(out_size);
    int rc = inflate(&stream_, Z_NO_FLUSH);
    if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad deflate data (", stream_.msg != nullptr ? stream_.msg : "corrupt", ")"));
    }
    if (rc == Z_MEM_ERROR) return absl::ResourceExhaustedError("inflate: out of memory");
    Result r;
    r.used = in.size() - stream_.avail_in;
    r.made = out_size - stream_.avail_out;
    r.end = rc == Z_STREAM_END;
    return r;
  }
  [[nodiscard]] absl::Status Reset() override {
    if (inflateReset(&stream_) != Z_OK) return absl::InternalError("inflateReset failed");
    return absl::OkStatus();
  }
  uint32_t Crc32(uint32_t crc, const char* data, size_t size) const override {
    return static_cast<uint32_t>(
        crc32(crc, reinterpret_cast<const Bytef*>(data), static_cast<uInt>(size)));
  }

 private:
  z_stream stream_{};
};

class IsalInflater final : public GzipDecoder::Inflater {
 public:
  IsalInflater() { Init(); }
  [[nodiscard]] absl::StatusOr<Result> Inflate(absl::string_view in, char* out,
                                               size_t out_size) override {
    state_.next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(in.data()));
    state_.avail_in = static_cast<uint32_t>(in.size());
    state_.next_out = reinterpret_cast<uint8_t*>(out);
    state_.avail_out = static_cast<uint32_t>(out_size);
    int rc = isal_inflate(&state_);
    if (rc < 0) {
      const char* what = rc == ISAL_INVALID_BLOCK    ? "invalid block"
                         : rc == ISAL_INVALID_SYMBOL ? "invalid symbol"
                         : rc == ISAL_INVALID_LOOKBACK ? "invalid distance too far back"
                                                       : "corrupt";
      return absl::InvalidArgumentError(absl::StrCat("bad deflate data (", what, ")"));
    }
    Result r;
    r.used = in.size() - state_.avail_in;
    r.made = out_size - state_.avail_out;
    r.end = state_.block_state == ISAL_BLOCK_FINISH;
    if (r.end) {
      // igzip reads input 8 bytes at a time: the whole bytes still in its bit buffer follow
      // the stream (after the last byte's padding bits), and belong to the trailer.
      uint64_t bits = state_.read_in >> (state_.read_in_length % 8);
      for (int i = 0; i < state_.read_in_length / 8; ++i, bits >>= 8) {
        r.tail.push_back(static_cast<char>(bits & 0xff));
      }
      state_.read_in = 0;
      state_.read_in_length = 0;
    }
    return r;
  }
  [[nodiscard]] absl::Status Reset() override {
    Init();
    return absl::OkStatus();
  }
  uint32_t Crc32(uint32_t crc, const char* data, size_t size) const override {
    return crc32_gzip_refl(crc, reinterpret_cast<const unsigned char*>(data), size);
  }

 private:
  void Init() {
    isal_inflate_init(&state_);
    state_.crc_flag = ISAL_DEFLATE;  // raw: the header and trailer are ours to check
  }
  inflate_state state_;  // isal_inflate_init sets what it needs: not zeroed, it is 85 KiB
};

}  // namespace

absl::StatusOr<std::unique_ptr<GzipDecoder>> GzipDecoder::Create(
    const GzipDecoderOptions& options) {
  if (options.backend == GzipBackend::kIsal) {
    return std::unique_ptr<GzipDecoder>(new GzipDecoder(options, std::make_unique<IsalInflater>()));
  }
  auto inflater = std::make_unique<ZlibInflater>();
  if (absl::Status s = inflater->Init(); !s.ok()) return s;
  return std::unique_ptr<GzipDecoder>(new GzipDecoder(options, std::move(inflater)));
}

GzipDecoder::GzipDecoder(const GzipDecoderOptions& options, std::unique_ptr<Inflater> inflater)
    : options_(options), inflater_(std::move(inflater)) {}

GzipDecoder::~GzipDecoder() = default;

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
  // A trailer the backend read whole with the data is checked without more input.
  while (step.produced < out_size &&
         (!in.empty() || state_ == State::kData ||
          (state_ == State::kTrailer && trailer_.size() >= 8))) {
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
        char* dst = out + step.produced;
        absl::StatusOr<Inflater::Result> r = inflater_->Inflate(in, dst, out_size - step.produced);
        if (!r.ok()) {
          if (absl::IsInvalidArgument(r.status())) return Error(r.status().message());
          return r.status();
        }
        crc_ = inflater_->Crc32(crc_, dst, r->made);
        offset_ += r->used;
        total_out_ += r->made;
        member_out_ += r->made;
        step.consumed += r->used;
        step.produced += r->made;
        in.remove_prefix(r->used);
        if (absl::Status s = CheckLimits(); !s.ok()) return s;
        if (r->end) {
          trailer_ = std::move(r->tail);
          state_ = State::kTrailer;
        } else if (r->used == 0 && r->made == 0) {
          return absl::OkStatus();  // the backend needs more input or more room
        }
        break;
      }
      case State::kTrailer: {
        size_t used = std::min(in.size(), 8 - std::min<size_t>(trailer_.size(), 8));
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
  if (absl::Status s = inflater_->Reset(); !s.ok()) return s;
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
