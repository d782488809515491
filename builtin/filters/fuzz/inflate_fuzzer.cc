// libFuzzer target: arbitrary bytes as a gzip request body through CORE_IN and INFLATE, with a
// 1 MiB output limit, on the backend the first byte's top bit picks (zlib or ISA-L).
// Invariants: no crash or sanitizer report; never more than the limit plus one block decoded;
// failures are InvalidArgument, DataLoss or ResourceExhausted naming INFLATE.

#include <cstdint>
#include <cstdlib>

#include "absl/strings/match.h"
#include "filters/chain.h"
#include "filters/core_input.h"
#include "builtin/filters/inflate_filter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace brigade;
  using namespace brigade::filters;
  if (size == 0) return 0;
  size_t bucket = 1 + (data[0] & 0x7f) % 100;
  absl::string_view wire(reinterpret_cast<const char*>(data + 1), size - 1);
  AllocatorHandle alloc = BucketAllocator::Create();
  Brigade src(alloc.get());
  for (size_t i = 0; i < wire.size(); i += bucket) {
    src.Append(Bucket::CopyOf(alloc.get(), wire.substr(i, bucket)));
  }
  Exchange ex;
  ex.request_headers.Set("Content-Encoding", "gzip");
  InflateOptions options;
  options.codec.max_output = 1 << 20;
  options.codec.max_ratio = 1000;
  options.codec.backend = (data[0] & 0x80) != 0 ? GzipBackend::kIsal : GzipBackend::kZlib;
  InputChain chain(&ex);
  chain.Add(std::make_unique<CoreInputFilter>(std::move(src)));
  chain.Add(std::make_unique<InflateInputFilter>(options));
  uint64_t decoded = 0;
  while (true) {
    Brigade out(alloc.get());
    absl::Status s = chain.Read(out, ReadMode::kReadBytes, BlockMode::kBlock, 16384);
    if (!s.ok()) {
      bool expected = (absl::IsInvalidArgument(s) || absl::IsDataLoss(s) ||
                       absl::IsResourceExhausted(s)) &&
                      absl::StrContains(s.message(), "INFLATE: ");
      if (!expected) abort();
      break;
    }
    decoded += out.Length().value_or(0);
    if (decoded > options.codec.max_output + options.block_size) abort();
    if (out.ends_with_eos()) break;
  }
  return 0;
}
