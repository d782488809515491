// Helpers for the built-in filter tests: running one output filter over pieces of input with a
// given exchange, running real external decoders (gzip, python3) on bytes, and gzip encoding
// and decoding with zlib directly.

#ifndef TESTS_FILTERS_FILTER_TEST_UTIL_H_
#define TESTS_FILTERS_FILTER_TEST_UTIL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "filters/exchange.h"
#include "filters/filter.h"

namespace brigade::filters::test {

// What came out of a filter: bytes and "<FLUSH>"/"<EOS>"/"<ERROR>" markers in order.
struct Output {
  std::string bytes;
  std::string rendered;  // bytes with markers
};

// Runs `filter` (followed by a collector) over `pieces`: each string is one bucket, "|" ends a
// brigade, "<FLUSH>" is a FLUSH bucket; EOS is appended when `eos`.
[[nodiscard]] absl::StatusOr<Output> RunFilter(std::unique_ptr<OutputFilter> filter,
                                               Exchange& exchange,
                                               const std::vector<std::string>& pieces,
                                               bool eos = true);

// Runs `command` through /bin/sh with `input` on its stdin; returns its stdout.
// Errors: a non-zero exit status, with its stderr.
[[nodiscard]] absl::StatusOr<std::string> RunCommand(const std::string& command,
                                                     absl::string_view input);

// gzip encoding and decoding with zlib's own wrapper, for checking our codec independently.
std::string ZlibGzip(absl::string_view data, int level);
[[nodiscard]] absl::StatusOr<std::string> ZlibGunzip(absl::string_view data);

}  // namespace brigade::filters::test

#endif  // TESTS_FILTERS_FILTER_TEST_UTIL_H_
