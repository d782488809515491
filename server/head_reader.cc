#include "server/head_reader.h"

#include <algorithm>

namespace brigade::server {

HeadReader::Result HeadReader::Step(filters::InputChain& in, BucketAllocator* alloc,
                                    const HeadLimits& limits, uint64_t* bytes_in,
                                    HttpError* error) {
  if (parser_ == nullptr) parser_ = std::make_unique<RequestHeadParser>(limits);
  if (!parser_->started() && partial_.empty()) {
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
  if (!parser_->started()) request_line_ = partial_.substr(0, partial_.find_first_of("\r\n"));
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

}  // namespace brigade::server
