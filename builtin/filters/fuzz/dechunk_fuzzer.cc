// libFuzzer target: arbitrary bytes as a chunked request body through CORE_IN and DECHUNK.
// The first byte picks the bucket size the input is cut into, so bucket boundaries vary too.
// Invariants: no crash or sanitizer report; a decoded body is never longer than its input;
// every failure is InvalidArgument or ResourceExhausted with a "DECHUNK: " message.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "filters/chain.h"
#include "filters/core_input.h"
#include "builtin/filters/dechunk_filter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace brigade;
  using namespace brigade::filters;
  if (size == 0) return 0;
  size_t bucket = 1 + data[0] % 64;
  absl::string_view wire(reinterpret_cast<const char*>(data + 1), size - 1);
  AllocatorHandle alloc = BucketAllocator::Create({.block_size = 128});
  Brigade src(alloc.get());
  for (size_t i = 0; i < wire.size(); i += bucket) {
    src.Append(Bucket::CopyOf(alloc.get(), wire.substr(i, bucket)));
  }
  Exchange ex;
  InputChain chain(&ex);
  chain.Add(std::make_unique<CoreInputFilter>(std::move(src)));
  DechunkOptions options;
  options.max_body = 1 << 16;
  options.max_line = 256;
  chain.Add(std::make_unique<DechunkFilter>(options));
  uint64_t body = 0;
  while (true) {
    Brigade out(alloc.get());
    absl::Status s = chain.Read(out, ReadMode::kReadBytes, BlockMode::kBlock, 1 + data[0] % 100);
    if (!s.ok()) {
      bool expected = (absl::IsInvalidArgument(s) || absl::IsResourceExhausted(s)) &&
                      absl::StartsWith(s.message(), "DECHUNK: ");
      if (!expected) abort();
      break;
    }
    body += out.Length().value_or(0);
    if (body > wire.size()) abort();
    if (out.ends_with_eos()) break;
  }
  return 0;
}
