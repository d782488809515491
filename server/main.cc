// brigaded: the HTTP/1.1 server around the brigade pipeline.
//
//   brigaded                      the built-in demo on 127.0.0.1:8080 (HTTP) and :8081 (echo)
//   brigaded --config FILE        serve FILE's configuration
//   brigaded --check-config [--report] [--config FILE]
//                                 validate and exit: 0 when valid, 2 with file:line: reason;
//                                 --report prints each Location's output pipeline report
//
// SIGTERM/SIGINT: stop accepting, finish responses in flight, exit 0. SIGHUP: reopen the log.

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "builtin/modules.h"
#include "module/module.h"
#include "server/config.h"
#include "server/location.h"
#include "server/server.h"

namespace brigade::server {
namespace {

constexpr char kUsage[] = "usage: brigaded [--config FILE] [--check-config [--report]]\n";

bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The demo site: beside the binary in its runfiles (bazel run), or in the source tree. Runfiles
// are symlinks to the sources, and the server refuses files whose real path leaves the document
// root, so the root is where index.html really lives.
std::string FindDemoRoot(const char* argv0) {
  std::vector<std::string> candidates = {"server/demo"};
  if (const char* ws = std::getenv("BUILD_WORKSPACE_DIRECTORY")) {
    candidates.push_back(absl::StrCat(ws, "/server/demo"));
  }
  candidates.push_back(absl::StrCat(argv0, ".runfiles/brigade/server/demo"));
  for (const std::string& c : candidates) {
    char real[PATH_MAX];
    if (IsDirectory(c) && realpath((c + "/index.html").c_str(), real) != nullptr) {
      std::string index = real;
      return index.substr(0, index.rfind('/'));
    }
  }
  return "";
}

int Main(int argc, char** argv) {
  std::string config_path;
  bool check_only = false;
  bool report = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (absl::StartsWith(a, "--config=")) {
      config_path = a.substr(9);
    } else if (a == "--check-config") {
      check_only = true;
    } else if (a == "--report") {
      report = true;
    } else if (a == "--help" || a == "-h") {
      printf("%s", kUsage);
      return 0;
    } else {
      fprintf(stderr, "brigaded: unknown argument %s\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  if (report && !check_only) {
    fprintf(stderr, "brigaded: --report goes with --check-config\n%s", kUsage);
    return 2;
  }
  // brigaded is its list of modules: the built-ins, then those the binary links in.
  std::vector<modules::Module> all = builtin::BuiltinModules();
  for (modules::Module& m : modules::LinkedModules()) all.push_back(std::move(m));
  modules::Registries registries;
  if (absl::Status s = modules::RegisterModules(registries, all); !s.ok()) {
    fprintf(stderr, "brigaded: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  ServerConfig config;
  if (config_path.empty()) {
    std::string demo = FindDemoRoot(argv[0]);
    if (demo.empty()) {
      fprintf(stderr, "brigaded: cannot find the demo site (server/demo); use --config FILE\n");
      return 2;
    }
    absl::StatusOr<ServerConfig> demo_config = DemoConfig(demo, registries);
    if (!demo_config.ok()) {
      fprintf(stderr, "brigaded: %s\n", std::string(demo_config.status().message()).c_str());
      return 2;
    }
    config = *std::move(demo_config);
  } else {
    absl::StatusOr<ServerConfig> loaded = LoadConfig(config_path, registries);
    if (!loaded.ok()) {
      fprintf(stderr, "brigaded: %s\n", std::string(loaded.status().message()).c_str());
      return 2;
    }
    config = *std::move(loaded);
  }
  if (check_only) {
    if (report) {
      absl::StatusOr<Locations> locations = Locations::Compile(config, registries, {});
      if (!locations.ok()) {
        fprintf(stderr, "brigaded: %s\n", std::string(locations.status().message()).c_str());
        return 2;
      }
      auto handler = [](const CompiledLocation& l) {
        return l.handler().c_str();
      };
      bool catch_all = false;
      for (const CompiledLocation* l : locations->All()) {
        printf("Location %s (handler %s):\n%s", l->prefix().c_str(), handler(*l),
               l->OutputReport().Format().c_str());
        catch_all = catch_all || l->prefix() == "/";
      }
      if (!catch_all) {
        const CompiledLocation& d = locations->defaults();
        printf("Outside every Location (handler %s):\n%s", handler(d),
               d.OutputReport().Format().c_str());
      }
    }
    printf("brigaded: configuration %s is valid\n", config_path.empty() ? "(demo)" : config_path.c_str());
    return 0;
  }

  // Signals go to one thread that waits for them; workers never see them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<std::unique_ptr<Server>> server = Server::Create(std::move(config), registries);
  if (!server.ok()) {
    fprintf(stderr, "brigaded: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  for (const std::string& a : (*server)->Addresses()) {
    size_t space = a.find(' ');
    std::string proto = a.substr(space + 1);
    printf("brigaded: listening on %s%s (%s)\n", proto == "http" ? "http://" : "",
           a.substr(0, space).c_str(), proto.c_str());
  }
  fflush(stdout);
  Server* s = server->get();
  std::thread signals([s, set] {
    while (true) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (sig == SIGHUP) {
        s->ReopenLogs();
        continue;
      }
      s->Stop();
      return;
    }
  });
  absl::Status run = s->Run();
  // The workers are done, but the signal thread may still be inside Stop(), waking them: the
  // server must outlive that. (Should Run end without a signal, one tells the thread to go.)
  if (!s->stopping()) pthread_kill(signals.native_handle(), SIGTERM);
  signals.join();
  if (!run.ok()) {
    fprintf(stderr, "brigaded: %s\n", std::string(run.message()).c_str());
    return 1;
  }
  printf("brigaded: stopped\n");
  fflush(stdout);
  return 0;
}

}  // namespace
}  // namespace brigade::server

int main(int argc, char** argv) { return brigade::server::Main(argc, argv); }
