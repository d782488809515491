#include "brigade/requires.h"

#include <cstdio>
#include <cstdlib>

namespace brigade::internal {

void RequiresFailed(const char* condition, const char* file, int line) {
  fprintf(stderr, "%s:%d: REQUIRES failed: %s\n", file, line, condition);
  abort();
}

}  // namespace brigade::internal
