// libFuzzer target: DEFLATE → INFLATE round trip. The fuzzer chooses the body, the buckets it
// arrives in, where FLUSH buckets go and how the buckets are grouped into passes, the level and
// the backends (zlib or ISA-L) of both sides.
//
// Input: byte 0 picks the level (bits 0-3) and the backends (bit 6 DEFLATE's, bit 7 INFLATE's);
// byte 1 the size of the buckets INFLATE reads; then pieces, each a control byte (bits 0-5: the
// piece's length; bit 6: a FLUSH after it; bit 7: pass what is gathered now) and its bytes.
//
// Invariants: no crash or sanitizer report; after every FLUSH, what DEFLATE put out decodes
// (with zlib itself, not the project's decoder) to exactly the body passed so far — a sync
// flush holds nothing back; at EOS the stream is complete; and INFLATE, reading the output in
// buckets, returns the body exactly.

#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "builtin/filters/deflate_filter.h"
#include "builtin/filters/inflate_filter.h"
#include "filters/chain.h"
#include "filters/core_input.h"

namespace {

using namespace brigade;
using namespace brigade::filters;

// zlib, fed the compressed stream as it grows.
class Reference {
 public:
  Reference() {
    if (inflateInit2(&z_, 15 + 16) != Z_OK) abort();
  }
  ~Reference() { inflateEnd(&z_); }
  // Decodes `more`; true once the gzip stream ended.
  bool Feed(absl::string_view more, std::string* out) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(more.data()));
    z_.avail_in = static_cast<uInt>(more.size());
    char buf[16384];
    while (true) {
      z_.next_out = reinterpret_cast<Bytef*>(buf);
      z_.avail_out = sizeof(buf);
      int rc = inflate(&z_, Z_SYNC_FLUSH);
      out->append(buf, sizeof(buf) - z_.avail_out);
      if (rc == Z_STREAM_END) return true;
      if (rc == Z_BUF_ERROR || (rc == Z_OK && z_.avail_in == 0 && z_.avail_out != 0)) return false;
      if (rc != Z_OK) abort();  // DEFLATE wrote something zlib cannot decode
    }
  }

 private:
  z_stream z_{};
};

std::string InflateInBuckets(absl::string_view gz, size_t bucket, GzipBackend backend,
                             BucketAllocator* alloc) {
  Brigade src(alloc);
  for (size_t i = 0; i < gz.size(); i += bucket) {
    src.Append(Bucket::CopyOf(alloc, gz.substr(i, bucket)));
  }
  Exchange ex;
  ex.request_headers.Set("Content-Encoding", "gzip");
  InflateOptions options;
  options.codec.max_output = 1 << 24;
  options.codec.max_ratio = 1 << 20;
  options.codec.backend = backend;
  InputChain chain(&ex);
  chain.Add(std::make_unique<CoreInputFilter>(std::move(src)));
  chain.Add(std::make_unique<InflateInputFilter>(options));
  std::string body;
  while (true) {
    Brigade out(alloc);
    if (!chain.Read(out, ReadMode::kReadBytes, BlockMode::kBlock, 8192).ok()) abort();
    absl::StatusOr<std::string> text = out.FlattenToString(1 << 24);
    if (!text.ok()) abort();
    body += *text;
    if (out.ends_with_eos()) return body;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size > 65536) return 0;
  DeflateOptions options;
  options.codec.level = 1 + (data[0] & 0x0f) % 9;
  options.codec.backend = (data[0] & 0x40) != 0 ? GzipBackend::kIsal : GzipBackend::kZlib;
  options.min_length = 0;
  GzipBackend inflate_backend = (data[0] & 0x80) != 0 ? GzipBackend::kIsal : GzipBackend::kZlib;
  size_t inflate_bucket = 1 + data[1];
  absl::StatusOr<std::unique_ptr<DeflateFilter>> deflate = DeflateFilter::Create(options);
  if (!deflate.ok()) abort();

  AllocatorHandle alloc = BucketAllocator::Create();
  Exchange ex;
  ex.request_headers.Set("Accept-Encoding", "gzip");
  ex.response_headers.Set("Content-Type", "text/plain");
  Brigade collected(alloc.get());
  OutputChain chain(&ex);
  chain.Add(*std::move(deflate));
  chain.Add(std::make_unique<CollectFilter>(&collected));

  Reference zlib;
  std::string body, gz, decoded;
  Brigade pending(alloc.get());
  // What a pass must get out: the body up to its last FLUSH, at least; never more than the body.
  size_t flushed_at = 0;
  auto pass = [&] {
    if (!chain.Pass(pending).ok()) abort();
    absl::StatusOr<std::string> out = collected.FlattenToString(1 << 24);
    if (!out.ok()) abort();
    collected.Clear();
    gz += *out;
    bool ended = zlib.Feed(*out, &decoded);
    if (decoded.size() < flushed_at || decoded.size() > body.size() ||
        body.compare(0, decoded.size(), decoded) != 0) {
      fprintf(stderr, "%zu body bytes, flushed to %zu, %zu decoded\n", body.size(), flushed_at,
              decoded.size());
      abort();  // a FLUSH left bytes inside DEFLATE, or the output is not the body
    }
    return ended;
  };
  for (size_t i = 2; i < size;) {
    uint8_t ctl = data[i++];
    size_t n = std::min<size_t>(ctl & 0x3f, size - i);
    if (n > 0) {
      pending.Append(Bucket::CopyOf(alloc.get(), absl::string_view(
                                                     reinterpret_cast<const char*>(data + i), n)));
      body.append(reinterpret_cast<const char*>(data + i), n);
    }
    i += n;
    if (ctl & 0x40) {
      pending.Append(Bucket::Flush(alloc.get()));
      flushed_at = body.size();
    }
    if ((ctl & 0x80) && pass()) abort();  // the stream ended before EOS
  }
  pending.Append(Bucket::Eos(alloc.get()));
  flushed_at = body.size();
  if (!pass()) abort();  // EOS left the stream unfinished
  if (InflateInBuckets(gz, inflate_bucket, inflate_backend, alloc.get()) != body) abort();
  return 0;
}
