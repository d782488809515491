#include "server/head_reader.h"

#include <algorithm>
#include <cstring>

namespace brigade::server {

HeadReader::Result HeadReader::Step(filters::InputChain& in, filters::CoreInputFilter* core_in,
                                    BucketAllocator* alloc, const HeadLimits& limits,
                                    uint64_t* bytes_in, HttpError* error) {
  if (parser_ == nullptr) {
    parser_ = std::make_unique<RequestHeadParser>(limits);
  } else if (parser_->done() || parser_->limits() != limits) {
    parser_->Reset(limits);
  }
  if (!parser_->started() && partial_.empty()) {
    request_line_.clear();  // the last head's, until this one's first line comes
    if (core_in != nullptr && in.size() == 1) {
      if (std::optional<Result> whole = StepWhole(*core_in, bytes_in, error)) return *whole;
    }
    // RFC 9112 2.2: empty lines before a request line are ignored.
    Brigade none(alloc);
    absl::Status s = in.Read(none, filters::ReadMode::kEatCrlf, BlockMode::kNonBlock, 0);
    if (absl::IsUnavailable(s)) return Result::kWait;
    if (!s.ok()) return Result::kClosed;
  }
  size_t limit = parser_->started() ? limits.field_size : limits.request_line;
  Brigade got(alloc);
  absl::Status s = in.Read(got, filters::ReadMode::kGetLine, BlockMode::kNonBlock,
                           limit + 2 - std::min(partial_.size(), limit + 1));
  if (absl::IsUnavailable(s)) return Result::kWait;
  if (!s.ok()) return Result::kClosed;
  bool eos = got.ends_with_eos();
  // Appended to the partial line in place: its room is kept from line to line and head to
  // head, so reading a head makes no allocation.
  size_t read = 0;
  if (std::optional<uint64_t> length = got.Length(); length.has_value()) {
    if (*length > limit + 2) return Result::kClosed;
    size_t at = partial_.size();
    partial_.resize(at + *length);
    absl::StatusOr<size_t> copied = got.Flatten(absl::Span<char>(&partial_[at], *length));
    if (!copied.ok() || *copied != *length) return Result::kClosed;
    read = *length;
  } else {  // a connection filter's socket or pipe bucket: its length shows once read
    absl::StatusOr<std::string> text = got.FlattenToString(limit + 2);
    if (!text.ok()) return Result::kClosed;
    partial_ += *text;
    read = text->size();
  }
  *bytes_in += read;
  if (eos && read == 0) return Result::kClosed;  // the client closed
  bool complete = !partial_.empty() && partial_.back() == '\n';
  if (!complete && !eos && partial_.size() <= limit + 1) return Result::kLine;
  if (!parser_->started()) {
    request_line_.assign(partial_, 0, partial_.find_first_of("\r\n"));
  }
  std::optional<HttpError> err = parser_->AddLine(partial_);
  partial_.clear();
  if (err.has_value()) {
    *error = *std::move(err);
    parser_.reset();
    return Result::kError;
  }
  if (eos) return Result::kClosed;  // the client closed in the middle of a head
  return parser_->done() ? Result::kHead : Result::kLine;
}

std::optional<HeadReader::Result> HeadReader::StepWhole(filters::CoreInputFilter& core_in,
                                                        uint64_t* bytes_in, HttpError* error) {
  BRIGADE_REQUIRES(parser_ != nullptr && !parser_->started() && partial_.empty());
  absl::StatusOr<absl::string_view> front = core_in.PeekFront(BlockMode::kNonBlock);
  if (absl::IsUnavailable(front.status())) return Result::kWait;
  // Any other failure here is the line path's to meet and report.
  if (!front.ok() || front->empty()) return std::nullopt;
  absl::string_view block = front->substr(0, kWholeHeadProbe);
  // RFC 9112 2.2: empty lines before a request line are ignored, as the line path's EATCRLF
  // read ignores them: taken with the head, not counted in it.
  size_t skipped = 0;
  while (skipped < block.size() && (block[skipped] == '\r' || block[skipped] == '\n')) ++skipped;
  absl::string_view data = block.substr(skipped);
  // Each line as GETLINE would return it. A block that ends before the head does leaves the
  // lines fed so far taken and the rest to the line path, which goes on from there.
  size_t used = 0;
  Result result = Result::kLine;
  while (used < data.size()) {
    // memchr, not string_view::find: Debian's absl has its own string_view, searching out of
    // line.
    const char* lf = static_cast<const char*>(memchr(data.data() + used, '\n', data.size() - used));
    if (lf == nullptr) break;
    absl::string_view line = data.substr(used, lf + 1 - (data.data() + used));
    used += line.size();
    if (!parser_->started()) {
      // Up to the first CR, or the LF that ends the line.
      const void* cr = memchr(line.data(), '\r', line.size());
      request_line_.assign(line.data(), cr != nullptr ? static_cast<const char*>(cr) - line.data()
                                                      : line.size() - 1);
    }
    if (std::optional<HttpError> err = parser_->AddLine(line)) {
      *error = *std::move(err);
      parser_.reset();
      result = Result::kError;
      break;
    }
    if (parser_->done()) {
      result = Result::kHead;
      break;
    }
  }
  if (used == 0) return std::nullopt;
  core_in.ConsumeFront(skipped + used);
  *bytes_in += used;
  return result;
}

}  // namespace brigade::server
