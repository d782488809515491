#include "module/module.h"

#include "absl/strings/str_cat.h"
#include "server/config.h"

namespace brigade::modules {

absl::Status ModuleContext::AddDirective(Directive directive) {
  if (!directive.parse) {
    return absl::InvalidArgumentError(absl::StrCat("directive ", directive.name, " has no parser"));
  }
  if (directive.min_args > directive.max_args) {
    return absl::InvalidArgumentError(
        absl::StrCat("directive ", directive.name, ": min_args is above max_args"));
  }
  if (server::IsCoreDirective(directive.name)) {
    return absl::AlreadyExistsError(
        absl::StrCat("directive ", directive.name, " is the configuration's own"));
  }
  auto it = registries_.directives.find(directive.name);
  if (it != registries_.directives.end()) {
    return absl::AlreadyExistsError(absl::StrCat("directive ", directive.name,
                                                 " is added by module ", it->second.module));
  }
  directive.module = module_;
  std::string name = directive.name;
  registries_.directives.emplace(std::move(name), std::move(directive));
  return absl::OkStatus();
}

absl::Status ModuleContext::AddProtocol(std::string name, ProtocolFactory factory) {
  if (!factory) return absl::InvalidArgumentError(absl::StrCat("protocol ", name, " has no factory"));
  if (registries_.protocols.count(name) != 0 ||
      registries_.handlers.FindConnection(handlers::Phase::kProcessConnection, name).ok()) {
    return absl::AlreadyExistsError(absl::StrCat("protocol ", name, " is already registered"));
  }
  registries_.protocols.emplace(std::move(name), std::move(factory));
  return absl::OkStatus();
}

namespace {

// Factories, not modules: nothing runs before main asks for them.
std::vector<Module (*)()>& Linked() {
  static auto* linked = new std::vector<Module (*)()>();
  return *linked;
}

}  // namespace

bool internal::LinkModule(Module (*make)()) {
  Linked().push_back(make);
  return true;
}

std::vector<Module> LinkedModules() {
  std::vector<Module> modules;
  for (Module (*make)() : Linked()) modules.push_back(make());
  return modules;
}

[[nodiscard]] absl::Status RegisterModules(Registries& registries,
                                           const std::vector<Module>& modules) {
  for (const Module& m : modules) {
    ModuleContext ctx(registries, m.name);
    if (absl::Status s = m.setup(ctx); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("module ", m.name, ": ", s.message()));
    }
  }
  // AddProtocol checks the handlers registered before it; this, those registered after.
  for (const auto& [name, factory] : registries.protocols) {
    if (registries.handlers.FindConnection(handlers::Phase::kProcessConnection, name).ok()) {
      return absl::AlreadyExistsError(absl::StrCat(
          "protocol ", name, " is both a module's protocol and a process_connection handler"));
    }
  }
  return absl::OkStatus();
}

}  // namespace brigade::modules
