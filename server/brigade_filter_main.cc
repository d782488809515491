// brigade-filter over the filters of the built-in modules and of every module the binary links
// in (brigade_filter_binary in brigade.bzl).

#include <cstdio>
#include <string>
#include <vector>

#include "filters/brigade_filter_tool.h"
#include "builtin/modules.h"
#include "module/module.h"

int main(int argc, char** argv) {
  using brigade::modules::Module;
  std::vector<Module> modules = brigade::builtin::BuiltinModules();
  for (Module& m : brigade::modules::LinkedModules()) modules.push_back(std::move(m));
  brigade::modules::Registries registries;
  if (absl::Status s = brigade::modules::RegisterModules(registries, modules); !s.ok()) {
    fprintf(stderr, "brigade-filter: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return brigade::filters::RunBrigadeFilter(argc, argv, registries.filters);
}
