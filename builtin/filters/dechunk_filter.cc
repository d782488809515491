#include "builtin/filters/dechunk_filter.h"

#include "absl/strings/str_cat.h"
#include "builtin/filters/chunk_codec.h"

namespace brigade::filters {

const OptionTable<DechunkOptions>& DechunkOptions::Table() {
  using O = DechunkOptions;
  static const auto* table =
      &(*new OptionTable<O>())
           .Int("max_body", [](O& o) -> uint64_t& { return o.max_body; }, 0, int64_t{1} << 60,
                "largest decoded body in bytes, 0 = none")
           .Int("max_line", [](O& o) -> size_t& { return o.max_line; }, 16, 1 << 20,
                "longest size or trailer line")
           .Int("max_trailers", [](O& o) -> size_t& { return o.max_trailers; }, 0, 10000,
                "most trailer fields")
           .Int("max_trailer_bytes", [](O& o) -> size_t& { return o.max_trailer_bytes; }, 0,
                1 << 24, "most trailer bytes");
  return *table;
}

absl::Status DechunkFilter::Error(absl::string_view what, uint64_t at) const {
  return absl::InvalidArgumentError(absl::StrCat("DECHUNK: ", what, " at byte ", at));
}

absl::StatusOr<bool> DechunkFilter::ReadLine(BlockMode block) {
  while (line_.empty() || line_.back() != '\n') {
    if (line_.size() > options_.max_line) {
      return Error(absl::StrCat(state_ == State::kTrailer ? "trailer" : "chunk size",
                                " line longer than ", options_.max_line, " bytes"),
                   offset_ - line_.size());
    }
    Brigade got(BucketAllocator::ForThisThread());
    absl::Status s = ReadNext(got, ReadMode::kGetLine, block, options_.max_line + 1 - line_.size());
    if (absl::IsUnavailable(s)) return false;
    if (!s.ok()) return s;
    bool eos = got.ends_with_eos();
    absl::StatusOr<std::string> text = got.FlattenToString(options_.max_line + 1);
    if (!text.ok()) return text.status();
    line_ += *text;
    offset_ += text->size();
    if (eos && (line_.empty() || line_.back() != '\n')) {
      return Error("truncated chunked body: input ended in a chunk header", offset_);
    }
  }
  return true;
}

absl::Status DechunkFilter::Read(Brigade& out, ReadMode mode, BlockMode block,
                                 size_t readbytes) {
  if (mode == ReadMode::kInit) return ReadNext(out, mode, block, readbytes);
  if (mode != ReadMode::kReadBytes) {
    return absl::UnimplementedError(
        absl::StrCat("DECHUNK: ", ReadModeName(mode), " reads of a chunked body are not supported"));
  }
  if (readbytes == 0) return absl::InvalidArgumentError("DECHUNK: READBYTES needs readbytes > 0");
  while (true) {
    switch (state_) {
      case State::kSize: {
        absl::StatusOr<bool> got = ReadLine(block);
        if (!got.ok()) return got.status();
        if (!*got) return absl::UnavailableError("DECHUNK: no input ready");
        uint64_t line_start = offset_ - line_.size();
        absl::StatusOr<uint64_t> size = ParseChunkSizeLine(line_);
        line_.clear();
        if (!size.ok()) return Error(size.status().message(), line_start);
        if (options_.max_body != 0 && *size > options_.max_body - body_bytes_) {
          // Refused at the size line, as nginx does: waiting for data the limit refuses anyway
          // would hold the connection until a timeout.
          return absl::ResourceExhaustedError(absl::StrCat(
              "DECHUNK: a chunk of ", *size, " bytes takes the body past the limit of ",
              options_.max_body, " bytes at byte ", line_start));
        }
        if (*size == 0) {
          state_ = State::kTrailer;
        } else {
          remaining_ = *size;
          state_ = State::kData;
        }
        break;
      }
      case State::kData: {
        Brigade got(out.allocator());
        absl::Status s = ReadNext(got, ReadMode::kReadBytes, block,
                                  static_cast<size_t>(std::min<uint64_t>(remaining_, readbytes)));
        if (!s.ok()) return s;
        if (got.ends_with_eos()) {
          return Error(absl::StrCat("truncated chunked body: ", remaining_,
                                    " bytes of chunk data missing"),
                       offset_);
        }
        uint64_t n = got.Length().value_or(0);
        offset_ += n;
        remaining_ -= n;
        body_bytes_ += n;
        if (remaining_ == 0) state_ = State::kDataCrlf;
        out.Concat(got);
        return absl::OkStatus();
      }
      case State::kDataCrlf: {
        absl::StatusOr<bool> got = ReadLine(block);
        if (!got.ok()) return got.status();
        if (!*got) return absl::UnavailableError("DECHUNK: no input ready");
        uint64_t at = offset_ - line_.size();
        if (line_ == "\n") return Error("bare LF after chunk data", at);
        if (line_ != "\r\n") return Error("missing CRLF after chunk data", at);
        line_.clear();
        state_ = State::kSize;
        break;
      }
      case State::kTrailer: {
        absl::StatusOr<bool> got = ReadLine(block);
        if (!got.ok()) return got.status();
        if (!*got) return absl::UnavailableError("DECHUNK: no input ready");
        uint64_t at = offset_ - line_.size();
        if (line_ == "\r\n") {
          line_.clear();
          state_ = State::kDone;
          break;
        }
        if (line_ == "\n") return Error("bare LF ending the trailers", at);
        trailer_bytes_ += line_.size();
        if (exchange().request_trailers.size() >= options_.max_trailers ||
            trailer_bytes_ > options_.max_trailer_bytes) {
          return Error(absl::StrCat("trailers exceed ", options_.max_trailers, " fields or ",
                                    options_.max_trailer_bytes, " bytes"),
                       at);
        }
        absl::Status s = ParseTrailerLine(line_, exchange().request_trailers);
        line_.clear();
        if (!s.ok()) return Error(s.message(), at);
        break;
      }
      case State::kDone:
        out.Append(Bucket::Eos(out.allocator()));
        return absl::OkStatus();
    }
  }
}

}  // namespace brigade::filters
