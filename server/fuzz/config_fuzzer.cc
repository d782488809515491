// libFuzzer target: the configuration parser, with every built-in module's directives,
// filters and handlers registered, and the Location compiler behind it (filter specs and
// their options, handler stacks). Invariants: no crash or sanitizer report; every refusal
// names the file and line ("fuzz.conf:N: ...") or the file ("fuzz.conf: ..."); parsing is
// deterministic; a configuration that parses has at least one Listen and a worker, and every
// Location's prefix begins with '/'.

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "absl/strings/match.h"
#include "builtin/modules.h"
#include "server/config.h"
#include "server/location.h"

namespace {

using namespace brigade;
using namespace brigade::server;

const modules::Registries& Builtins() {
  static const modules::Registries* const kRegistries = [] {
    auto* r = new modules::Registries;
    if (!builtin::RegisterBuiltins(*r).ok()) abort();
    return r;
  }();
  return *kRegistries;
}

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  fprintf(stderr, "%s: %s\n", what, detail.c_str());
  abort();
}

void CheckRefusal(const absl::Status& s) {
  if (!absl::StartsWith(s.message(), "fuzz.conf:")) Fail("refusal without file", s.ToString());
}

// Compiles the Locations the way the server does: each document root opened once.
void Compile(const ServerConfig& config) {
  std::map<std::string, int> root_fds;
  auto open_root = [&](const std::string& root) {
    if (root.empty() || root_fds.count(root)) return;
    int fd = open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) root_fds[root] = fd;
  };
  open_root(config.document_root);
  for (const LocationConfig& l : config.locations) open_root(l.document_root);
  absl::StatusOr<Locations> locations = Locations::Compile(config, Builtins(), root_fds);
  if (!locations.ok() && locations.status().message().empty()) Fail("empty message", "");
  for (const auto& [root, fd] : root_fds) close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 8192) return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ServerConfig> config = ParseConfig(text, "fuzz.conf", Builtins());
  absl::StatusOr<ServerConfig> again = ParseConfig(text, "fuzz.conf", Builtins());
  if (config.ok() != again.ok()) Fail("not deterministic", text);
  if (!config.ok()) {
    if (config.status() != again.status()) Fail("not deterministic", config.status().ToString());
    CheckRefusal(config.status());
    return 0;
  }
  if (config->listens.empty() || config->workers < 1) Fail("accepted without Listen", text);
  for (const LocationConfig& l : config->locations) {
    if (!absl::StartsWith(l.prefix, "/")) Fail("a Location outside /", l.prefix);
  }
  Compile(*config);
  return 0;
}
