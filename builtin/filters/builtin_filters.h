// The built-in filters by name: DEFLATE, INFLATE (input and output), CHUNK, DECHUNK, REVERSE,
// CONTENT_LENGTH. See each filter's header for its behaviour and options.

#ifndef BUILTIN_FILTERS_BUILTIN_FILTERS_H_
#define BUILTIN_FILTERS_BUILTIN_FILTERS_H_

#include "absl/status/status.h"
#include "filters/registry.h"

namespace brigade::filters {

// Errors: AlreadyExists when a name is taken in `registry`.
[[nodiscard]] absl::Status RegisterBuiltinFilters(FilterRegistry& registry);

}  // namespace brigade::filters

#endif  // BUILTIN_FILTERS_BUILTIN_FILTERS_H_
