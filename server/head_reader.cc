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
  absl::StatusOr<std::string> text = got.FlattenToString(limit + 2);
  if (!text.ok()) return Result::kClosed;
  *bytes_in += text->size();
  if (eos && text->empty()) return Result::kClosed;  // the client closed
  partial_ += *text;
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
