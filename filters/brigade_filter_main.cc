// brigade-filter with the built-in filters (brigade_filter_tool.h).

#include <cstdio>
#include <string>

#include "filters/brigade_filter_tool.h"
#include "builtin/filters/builtin_filters.h"

int main(int argc, char** argv) {
  brigade::filters::FilterRegistry registry;
  if (absl::Status s = brigade::filters::RegisterBuiltinFilters(registry); !s.ok()) {
    fprintf(stderr, "brigade-filter: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return brigade::filters::RunBrigadeFilter(argc, argv, registry);
}
