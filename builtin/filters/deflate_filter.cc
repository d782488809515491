#include "builtin/filters/deflate_filter.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "builtin/filters/accept_encoding.h"

namespace brigade::filters {
namespace {

const char* const kDefaultTypes[] = {"text/*", "application/json", "application/javascript",
                                     "image/svg+xml"};

bool TypeMatches(absl::string_view type, absl::string_view pattern) {
  if (absl::EndsWith(pattern, "/*")) {
    return absl::StartsWith(type, pattern.substr(0, pattern.size() - 1));
  }
  return type == pattern;
}

// The media type of a Content-Type value, lower case, without parameters.
std::string MediaType(absl::string_view content_type) {
  absl::string_view t = content_type.substr(0, content_type.find(';'));
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(t));
}

}  // namespace

namespace {

[[nodiscard]] absl::Status ParseTypes(absl::string_view types, DeflateOptions& d) {
  using Types = DeflateOptions::Types;
  d.type_list.clear();
  if (types == "*") {
    d.types = Types::kAll;
    return absl::OkStatus();
  }
  if (types == "default") {
    d.types = Types::kDefault;
    return absl::OkStatus();
  }
  d.types = Types::kList;
  for (absl::string_view t : absl::StrSplit(types, absl::ByAnyChar("; "), absl::SkipEmpty())) {
    if (t.find('/') == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", t, "' is not a media type (type/subtype)"));
    }
    d.type_list.push_back(absl::AsciiStrToLower(t));
  }
  return absl::OkStatus();
}

}  // namespace

const OptionTable<DeflateOptions>& DeflateOptions::Table() {
  using O = DeflateOptions;
  static const auto* table =
      &(*new OptionTable<O>())
           .Int("level", [](O& o) -> int& { return o.codec.level; }, 1, 9, "compression level")
           .Int("window", [](O& o) -> int& { return o.codec.window_bits; }, 9, 15, "window bits")
           .Int("memlevel", [](O& o) -> int& { return o.codec.mem_level; }, 1, 9,
                "zlib memory level")
           .Int("block", [](O& o) -> size_t& { return o.block_size; }, 64, 1 << 20,
                "output block bytes")
           .Int("min_length", [](O& o) -> uint64_t& { return o.min_length; }, 0,
                int64_t{1} << 40, "smallest known body length worth compressing")
           .Custom("backend",
                   [](absl::string_view name, O& o) {
                     return ParseGzipBackendInto(name, o.codec.backend);
                   },
                   "zlib", "zlib (portable) or isal (ISA-L, 2-4x faster; levels 1-2, 3-5, 6-9 "
                   "become its 1, 2, 3)")
           .Custom("types", ParseTypes, "*",
                   "* (any type), default (text/* and friends), or a ';'-separated list of "
                   "media types");
  return *table;
}

absl::StatusOr<std::unique_ptr<DeflateFilter>> DeflateFilter::Create(
    const DeflateOptions& options) {
  // Validate the codec options now, so that a bad configuration fails at set-up.
  absl::StatusOr<std::unique_ptr<GzipEncoder>> probe = GzipEncoder::Create(options.codec);
  if (!probe.ok()) return probe.status();
  return std::unique_ptr<DeflateFilter>(new DeflateFilter(options));
}

FilterTraits DeflateFilter::traits() const {
  // zlib's deflate state: (1 << (windowBits + 2)) + (1 << (memLevel + 9)) (zconf.h). ISA-L's:
  // its stream state (two windows of history and a staging buffer) and the level's buffer.
  uint64_t state = options_.codec.backend == GzipBackend::kIsal
                       ? IsalEncoderStateBytes(options_.codec.level)
                       : (uint64_t{1} << (options_.codec.window_bits + 2)) +
                             (uint64_t{1} << (options_.codec.mem_level + 9));
  return {.needs_bytes = true,
          .preserves_flush = true,
          .max_buffered_bytes = state + options_.pass_bytes + options_.block_size};
}

bool DeflateFilter::TypeSelected() const {
  if (options_.types == DeflateOptions::Types::kAll) return true;
  std::optional<absl::string_view> ct = exchange().response_headers.Get("Content-Type");
  if (!ct.has_value()) return false;
  std::string type = MediaType(*ct);
  if (options_.types == DeflateOptions::Types::kDefault) {
    for (const char* p : kDefaultTypes) {
      if (TypeMatches(type, p)) return true;
    }
    return false;
  }
  for (const std::string& p : options_.type_list) {
    if (TypeMatches(type, p)) return true;
  }
  return false;
}

DeflateFilter::Decision DeflateFilter::Decide(const Brigade& first) const {
  const Exchange& ex = exchange();
  auto decline = [](std::string why) { return Decision{false, false, "no-gzip: " + why}; };
  if (ex.is_head()) return decline("HEAD request");
  if (ex.status < 200 || ex.status == 204 || ex.status == 304) {
    return decline(absl::StrCat("status ", ex.status, " has no body"));
  }
  std::optional<absl::string_view> ce = ex.response_headers.Get("Content-Encoding");
  if (ce.has_value() && !absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(*ce), "identity")) {
    return decline(absl::StrCat("already encoded (", *ce, ")"));
  }
  if (!TypeSelected()) {
    return decline(absl::StrCat(
        "type '", ex.response_headers.Get("Content-Type").value_or("(none)"), "' not selected"));
  }
  uint64_t length;
  std::optional<absl::string_view> cl = ex.response_headers.Get("Content-Length");
  bool known = cl.has_value() && absl::SimpleAtoi(*cl, &length);
  if (!known && first.ends_with_eos()) {
    std::optional<uint64_t> n = first.Length();
    known = n.has_value();
    if (known) length = *n;
  }
  if (known && length < options_.min_length) {
    return decline(absl::StrCat(length, " bytes is below min_length ", options_.min_length));
  }
  // Checked last: only here does the answer depend on the request's Accept-Encoding.
  if (!AcceptEncoding::Parse(ex.request_headers.GetCombined("Accept-Encoding")).AcceptsGzip()) {
    return Decision{false, true, "no-gzip: client does not accept gzip"};
  }
  return Decision{true, true, ""};
}

void AddVaryAcceptEncoding(HeaderMap& headers) {
  std::string vary = headers.GetCombined("Vary");
  for (absl::string_view token : absl::StrSplit(vary, ',')) {
    token = absl::StripAsciiWhitespace(token);
    if (token == "*" || absl::EqualsIgnoreCase(token, "Accept-Encoding")) return;
  }
  headers.Set("Vary", vary.empty() ? "Accept-Encoding" : vary + ", Accept-Encoding");
}

void DeflateFilter::EditHeaders() {
  HeaderMap& h = exchange().response_headers;
  h.Set("Content-Encoding", "gzip");
  AddVaryAcceptEncoding(h);
  h.Remove("Content-Length");
  std::optional<absl::string_view> etag = h.Get("ETag");
  if (etag.has_value() && !absl::StartsWith(*etag, "W/")) h.Set("ETag", absl::StrCat("W/", *etag));
}

absl::Status DeflateFilter::Start() {
  GzipEncoderOptions codec = options_.codec;
  // A small known body needs no 32 KiB window: halve it while the body (plus zlib's 262-byte
  // lookahead) still fits in half, down to zlib's minimum of 512 bytes.
  uint64_t length;
  std::optional<absl::string_view> cl = exchange().response_headers.Get("Content-Length");
  if (cl.has_value() && absl::SimpleAtoi(*cl, &length)) {
    while (codec.window_bits > 9 && length + 262 < (uint64_t{1} << (codec.window_bits - 1))) {
      --codec.window_bits;
    }
  }
  absl::StatusOr<std::unique_ptr<GzipEncoder>> e = GzipEncoder::Create(codec);
  if (!e.ok()) return e.status();
  encoder_ = std::move(*e);
  EditHeaders();
  exchange().notes["deflate"] = absl::StrCat("gzip level ", codec.level,
                                             codec.backend == GzipBackend::kIsal ? " (isal)" : "");
  return absl::OkStatus();
}

void DeflateFilter::EmitBlock() {
  if (!block_ || block_->fill() == block_start_) return;
  size_t n = block_->fill() - block_start_;
  out_->Append(Bucket::Heap(out_->allocator(), block_, block_start_, n));
  block_start_ = block_->fill();
  out_bytes_ += n;
}

absl::Status DeflateFilter::Deflate(absl::string_view data, GzipEncoder::Mode mode) {
  if (!data.empty()) released_ = false;
  while (true) {
    // A pooled block may be larger than block_size; only block_size bytes of it are used.
    if (!block_ || block_->fill() >= BlockLimit()) {
      EmitBlock();
      block_ = out_->allocator()->AllocateBlock(options_.block_size);
      block_start_ = 0;
    }
    size_t room = BlockLimit() - block_->fill();
    absl::StatusOr<GzipEncoder::Step> step =
        encoder_->Deflate(data, block_->data() + block_->fill(), room, mode);
    if (!step.ok()) return step.status();
    block_->Commit(step->produced);
    data.remove_prefix(step->consumed);
    bool more_output = step->produced == room;
    if (mode == GzipEncoder::Mode::kFinish) {
      if (step->done) break;
    } else if (data.empty() && !more_output) {
      break;
    }
  }
  if (mode != GzipEncoder::Mode::kNone) EmitBlock();
  return absl::OkStatus();
}

void DeflateFilter::OnStalled() {
  if (encoder_ == nullptr || released_ || !failed_.ok() || !encoder_->releases_memory()) return;
  if (absl::Status s = Deflate({}, GzipEncoder::Mode::kFull); !s.ok()) {
    failed_ = s;
    return;
  }
  encoder_->ReleaseMemory();
  released_ = true;
}

absl::StatusOr<Flow> DeflateFilter::PassOut() {
  EmitBlock();
  out_bytes_ = 0;
  if (out_->empty()) return Flow::kDone;
  return PassNext(*out_);
}

absl::StatusOr<Flow> DeflateFilter::Filter(Brigade& bb) {
  if (!started_) {
    if (bb.empty()) return Flow::kDone;
    started_ = true;
    Decision d = Decide(bb);
    if (!d.compress) {
      if (d.vary) AddVaryAcceptEncoding(exchange().response_headers);
      exchange().notes["deflate"] = d.note;
      RemoveSelf();
      return PassNext(bb);
    }
    if (absl::Status s = Start(); !s.ok()) return s;
    pending_ = std::make_unique<Brigade>(bb.allocator());
    out_ = std::make_unique<Brigade>(bb.allocator());
  }
  if (!failed_.ok()) return failed_;
  pending_->Concat(bb);
  while (!pending_->empty()) {
    Bucket* b = pending_->front();
    if (b->is_metadata()) {
      if (b->is_flush()) {
        if (absl::Status s = Deflate({}, GzipEncoder::Mode::kSync); !s.ok()) return s;
      } else if (b->is_eos()) {
        if (absl::Status s = Deflate({}, GzipEncoder::Mode::kFinish); !s.ok()) return s;
        EmitBlock();
        out_->Append(pending_->Remove(b));
        RemoveSelf();
        return PassOut();
      }
      EmitBlock();
      out_->Append(pending_->Remove(b));
      absl::StatusOr<Flow> flow = PassOut();
      if (!flow.ok() || *flow == Flow::kAgain) {
        pending_->Setaside();
        return flow;
      }
      continue;
    }
    absl::StatusOr<absl::string_view> data = b->Read();
    if (!data.ok()) return data.status();
    // In slices, so that the output of one big bucket (a 4 MiB mmap) is passed on — or held
    // back on kAgain — pass_bytes at a time rather than all at once.
    absl::string_view rest = *data;
    while (!rest.empty()) {
      absl::string_view slice = rest.substr(0, options_.pass_bytes);
      if (absl::Status s = Deflate(slice, GzipEncoder::Mode::kNone); !s.ok()) return s;
      rest.remove_prefix(slice.size());
      if (out_bytes_ + (block_ ? block_->fill() - block_start_ : 0) < options_.pass_bytes) continue;
      absl::StatusOr<Flow> flow = PassOut();
      if (!flow.ok()) return flow;
      if (*flow == Flow::kAgain) {
        // Keep what is not compressed yet; file and mmap buckets keep it at no memory cost.
        if (rest.empty()) {
          pending_->Delete(b);
        } else {
          b->ConsumeFront(data->size() - rest.size());
        }
        pending_->Setaside();
        return flow;
      }
    }
    pending_->Delete(b);
  }
  return PassOut();
}

}  // namespace brigade::filters
