#include "server/config.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/uri.h"

namespace brigade::server {
namespace {

// The per-phase handler directives (mod_perl's Perl*Handler, without the Perl).
std::optional<handlers::Phase> PhaseOfDirective(absl::string_view d) {
  using handlers::Phase;
  static constexpr std::pair<const char*, Phase> kDirectives[] = {
      {"PostReadRequestHandler", Phase::kPostReadRequest},
      {"TransHandler", Phase::kTranslate},
      {"HeaderParserHandler", Phase::kHeaderParser},
      {"AccessHandler", Phase::kAccess},
      {"AuthenHandler", Phase::kAuthen},
      {"AuthzHandler", Phase::kAuthz},
      {"TypeHandler", Phase::kType},
      {"FixupHandler", Phase::kFixups},
      {"ResponseHandler", Phase::kResponse},
      {"LogHandler", Phase::kLog},
      {"CleanupHandler", Phase::kCleanup},
  };
  for (const auto& [name, phase] : kDirectives) {
    if (d == name) return phase;
  }
  return std::nullopt;
}

constexpr const char* kCoreDirectives[] = {
    "AddOutputFilterByType", "BlockingPoolThreads", "DocumentRoot",
    "GracefulShutdownTimeout", "KeepAliveTimeout", "LimitRequestBody", "LimitRequestFieldSize",
    "LimitRequestFields", "LimitRequestLine", "Listen", "MaxKeepAliveRequests",
    "PreConnectionHandler", "RequestBodyBufferSize", "RequestBodyTempDir", "SendBufferSize",
    "SetHandler",
    "SetInputFilter", "SetOutputFilter", "Timeout", "Workers", "<Location", "</Location>",
};

// A line's words, split on spaces and tabs; a word in double quotes keeps its spaces, with \"
// and \\ for a quote and a backslash inside (as Apache's configuration reads them).
[[nodiscard]] absl::StatusOr<std::vector<std::string>> Words(absl::string_view line) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ' || line[i] == '\t') {
      ++i;
      continue;
    }
    std::string word;
    if (line[i] != '"') {
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') word += line[i++];
      words.push_back(std::move(word));
      continue;
    }
    size_t open = i++;
    bool closed = false;
    while (i < line.size()) {
      char c = line[i++];
      if (c == '"') {
        closed = true;
        break;
      }
      if (c == '\\' && i < line.size() && (line[i] == '"' || line[i] == '\\')) c = line[i++];
      word += c;
    }
    if (!closed) {
      return absl::InvalidArgumentError(
          absl::StrCat("the quote at column ", open + 1, " is never closed"));
    }
    if (i < line.size() && line[i] != ' ' && line[i] != '\t') {
      return absl::InvalidArgumentError(
          absl::StrCat("a quoted word ends at column ", i, " without a space after it"));
    }
    words.push_back(std::move(word));
  }
  return words;
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

class Parser {
 public:
  Parser(const std::string& filename, const modules::Registries& registries)
      : filename_(filename), registries_(registries), registry_(registries.filters) {}

  [[nodiscard]] absl::StatusOr<ServerConfig> Parse(absl::string_view text) {
    int line_no = 0;
    for (absl::string_view raw : absl::StrSplit(text, '\n')) {
      ++line_no;
      line_ = line_no;
      absl::string_view line = absl::StripAsciiWhitespace(raw);
      if (line.empty() || line[0] == '#') continue;
      absl::StatusOr<std::vector<std::string>> words = Words(line);
      if (!words.ok()) return Error(words.status().message());
      if (absl::Status s = Directive(*words); !s.ok()) return s;
    }
    if (location_ != nullptr) {
      return Error(absl::StrCat("<Location ", location_->prefix, "> opened at line ",
                                location_line_, " is never closed"));
    }
    if (config_.listens.empty()) return Error("no Listen directive");
    return config_;
  }

 private:
  [[nodiscard]] absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(filename_, ":", line_, ": ", what));
  }

  [[nodiscard]] absl::StatusOr<int64_t> Number(const std::vector<std::string>& w, int64_t min,
                                               int64_t max) {
    if (w.size() != 2) return Error(absl::StrCat(w[0], " takes one number"));
    int64_t v;
    if (!absl::SimpleAtoi(w[1], &v) || v < min || v > max) {
      return Error(absl::StrCat(w[0], " ", w[1], ": expected a number from ", min, " to ", max));
    }
    return v;
  }

  [[nodiscard]] absl::Status FilterList(const std::vector<std::string>& w,
                                        filters::Direction direction,
                                        std::vector<std::string>& out) {
    if (w.size() != 2) return Error(absl::StrCat(w[0], " takes one list: A;B"));
    for (absl::string_view spec : absl::StrSplit(w[1], ';', absl::SkipEmpty())) {
      absl::StatusOr<filters::FilterSpec> parsed = filters::ParseFilterSpec(spec);
      if (!parsed.ok()) return Error(parsed.status().message());
      if (registry_.Find(parsed->name, direction) == nullptr) {
        return Error(absl::StrCat("no ", direction == filters::Direction::kOutput ? "output" : "input",
                                  " filter named ", parsed->name));
      }
      absl::Status made =
          direction == filters::Direction::kOutput
              ? registry_.MakeOutput(parsed->name, parsed->options).status()
              : registry_.MakeInput(parsed->name, parsed->options).status();
      if (!made.ok()) return Error(made.message());
      out.push_back(std::string(spec));
    }
    return absl::OkStatus();
  }

  [[nodiscard]] absl::Status Directive(const std::vector<std::string>& w) {
    const std::string& d = w[0];
    auto number = [&](auto& field, int64_t min, int64_t max) -> absl::Status {
      absl::StatusOr<int64_t> v = Number(w, min, max);
      if (!v.ok()) return v.status();
      field = static_cast<std::remove_reference_t<decltype(field)>>(*v);
      return absl::OkStatus();
    };
    if (absl::EqualsIgnoreCase(d, "<Location") || absl::StartsWith(d, "<Location")) {
      return OpenLocation(w);
    }
    if (absl::EqualsIgnoreCase(d, "</Location>")) {
      if (location_ == nullptr) return Error("</Location> without <Location>");
      location_ = nullptr;
      return absl::OkStatus();
    }
    if (location_ != nullptr) return LocationDirective(w);
    if (d == "Listen") return Listen(w);
    if (d == "Workers") return number(config_.workers, 1, 256);
    if (d == "DocumentRoot") return Root(w, config_.document_root);
    if (d == "Timeout") return number(config_.timeout_s, 1, 3600);
    if (d == "KeepAliveTimeout") return number(config_.keepalive_timeout_s, 0, 3600);
    if (d == "MaxKeepAliveRequests") return number(config_.max_keepalive_requests, 0, 1000000);
    if (d == "LimitRequestLine") return number(config_.limit_request_line, 64, 1 << 20);
    if (d == "LimitRequestFields") return number(config_.limit_request_fields, 1, 10000);
    if (d == "LimitRequestFieldSize") return number(config_.limit_request_field_size, 64, 1 << 20);
    if (d == "LimitRequestBody") return number(config_.limit_request_body, 0, int64_t{1} << 50);
    if (d == "GracefulShutdownTimeout") {
      return number(config_.graceful_shutdown_timeout_s, 0, 86400);
    }
    if (d == "RequestBodyBufferSize") return number(config_.body_buffer_size, 0, int64_t{1} << 40);
    if (d == "BlockingPoolThreads") return number(config_.blocking_pool_threads, 1, 256);
    if (d == "SendBufferSize") return number(config_.send_buffer_size, 0, 64 << 20);
    if (d == "RequestBodyTempDir") return TempDir(w, config_.body_temp_dir);
    if (d == "PreConnectionHandler") {
      return Handlers(w, handlers::Phase::kPreConnection, config_.handlers);
    }
    if (std::optional<handlers::Phase> phase = PhaseOfDirective(d)) {
      return Handlers(w, *phase, config_.handlers);
    }
    if (d == "SetHandler" || d == "SetOutputFilter" || d == "SetInputFilter" ||
        d == "AddOutputFilterByType") {
      return Error(absl::StrCat(d, " belongs inside <Location>"));
    }
    return ModuleDirective(w);
  }

  [[nodiscard]] absl::Status ModuleDirective(const std::vector<std::string>& w) {
    const std::string& d = w[0];
    auto it = registries_.directives.find(d);
    if (it == registries_.directives.end()) return Error(absl::StrCat("unknown directive ", d));
    const modules::Directive& directive = it->second;
    bool in_location = location_ != nullptr;
    if (in_location && directive.scope == modules::DirectiveScope::kServer) {
      return Error(absl::StrCat(d, " belongs outside <Location>"));
    }
    if (!in_location && directive.scope == modules::DirectiveScope::kLocation) {
      return Error(absl::StrCat(d, " belongs inside <Location>"));
    }
    std::vector<std::string> args(w.begin() + 1, w.end());
    if (args.size() < directive.min_args || args.size() > directive.max_args) {
      return Error(absl::StrCat(d, " takes ", directive.syntax.empty() ? "other arguments" : directive.syntax));
    }
    handlers::ConfigValues& values = in_location ? location_->values : config_.values;
    if (absl::Status s = directive.parse(modules::DirectiveArgs{args, in_location, values}); !s.ok()) {
      return Error(absl::StrCat(d, ": ", s.message()));
    }
    return absl::OkStatus();
  }

  [[nodiscard]] absl::Status Listen(const std::vector<std::string>& w) {
    if (w.size() < 2 || w.size() > 3) return Error("Listen takes ADDR:PORT [PROTOCOL]");
    ListenSpec spec;
    size_t colon = w[1].rfind(':');
    if (colon == std::string::npos) return Error(absl::StrCat("Listen ", w[1], ": expected ADDR:PORT"));
    spec.address = w[1].substr(0, colon);
    if (!absl::SimpleAtoi(w[1].substr(colon + 1), &spec.port) || spec.port < 0 ||
        spec.port > 65535) {
      return Error(absl::StrCat("Listen ", w[1], ": bad port"));
    }
    in_addr parsed;
    if (inet_pton(AF_INET, spec.address.c_str(), &parsed) != 1) {
      return Error(absl::StrCat("Listen ", w[1], ": expected an IPv4 address"));
    }
    if (w.size() == 3) spec.protocol = w[2];
    if (registries_.protocols.count(spec.protocol) == 0 &&
        !registries_.handlers.FindConnection(handlers::Phase::kProcessConnection, spec.protocol)
             .ok()) {
      std::vector<std::string> known;
      for (const auto& [name, factory] : registries_.protocols) known.push_back(name);
      for (std::string& n : registries_.handlers.Names(handlers::Phase::kProcessConnection)) {
        known.push_back(std::move(n));
      }
      return Error(absl::StrCat("Listen: unknown protocol ", spec.protocol, " (",
                                known.empty() ? "none registered" : absl::StrJoin(known, ", "),
                                ")"));
    }
    config_.listens.push_back(spec);
    return absl::OkStatus();
  }

  [[nodiscard]] absl::Status Root(const std::vector<std::string>& w, std::string& out) {
    if (w.size() != 2) return Error("DocumentRoot takes one directory");
    if (!IsDirectory(w[1])) return Error(absl::StrCat("DocumentRoot ", w[1], " is not a directory"));
    // Resolved once here, so that each request resolves only its own path.
    absl::StatusOr<std::string> real = RealPath(w[1]);
    if (!real.ok()) return Error(real.status().message());
    out = *real;
    return absl::OkStatus();
  }

  [[nodiscard]] absl::Status TempDir(const std::vector<std::string>& w, std::string& out) {
    if (w.size() != 2) return Error(absl::StrCat(w[0], " takes one directory"));
    if (!IsDirectory(w[1])) return Error(absl::StrCat(w[0], " ", w[1], " is not a directory"));
    out = w[1];
    return absl::OkStatus();
  }

  [[nodiscard]] absl::Status OpenLocation(const std::vector<std::string>& w) {
    if (location_ != nullptr) return Error("<Location> sections do not nest");
    std::string prefix;
    if (w.size() == 2 && absl::EndsWith(w[1], ">")) prefix = w[1].substr(0, w[1].size() - 1);
    if (w[0] != "<Location" || prefix.empty() || prefix[0] != '/') {
      return Error("expected <Location /PREFIX>");
    }
    LocationConfig location;
    location.prefix = prefix;
    config_.locations.push_back(std::move(location));
    location_ = &config_.locations.back();
    location_line_ = line_;
    return absl::OkStatus();
  }

  [[nodiscard]] absl::Status LocationDirective(const std::vector<std::string>& w) {
    const std::string& d = w[0];
    if (d == "SetHandler") return Handlers(w, handlers::Phase::kResponse, location_->handlers);
    if (std::optional<handlers::Phase> phase = PhaseOfDirective(d)) {
      return Handlers(w, *phase, location_->handlers);
    }
    if (d == "PreConnectionHandler") return Error("PreConnectionHandler belongs outside <Location>");
    if (d == "SetOutputFilter") {
      return FilterList(w, filters::Direction::kOutput, location_->output_filters);
    }
    if (d == "SetInputFilter") {
      return FilterList(w, filters::Direction::kInput, location_->input_filters);
    }
    if (d == "AddOutputFilterByType") {
      if (w.size() < 3) return Error("AddOutputFilterByType takes FILTER TYPE...");
      if (registry_.Find(w[1], filters::Direction::kOutput) == nullptr) {
        return Error(absl::StrCat("no output filter named ", w[1]));
      }
      std::vector<std::string> types;
      for (size_t i = 2; i < w.size(); ++i) {
        if (w[i].find('/') == std::string::npos) {
          return Error(absl::StrCat("AddOutputFilterByType: '", w[i], "' is not a media type"));
        }
        types.push_back(absl::AsciiStrToLower(w[i]));
      }
      location_->filters_by_type.emplace_back(w[1], std::move(types));
      return absl::OkStatus();
    }
    if (d == "DocumentRoot") return Root(w, location_->document_root);
    if (d == "RequestBodyBufferSize") {
      absl::StatusOr<int64_t> v = Number(w, 0, int64_t{1} << 40);
      if (!v.ok()) return v.status();
      location_->body_buffer_size = static_cast<uint64_t>(*v);
      return absl::OkStatus();
    }
    if (d == "RequestBodyTempDir") {
      std::string dir;
      if (absl::Status s = TempDir(w, dir); !s.ok()) return s;
      location_->body_temp_dir = dir;
      return absl::OkStatus();
    }
    if (IsCoreDirective(d)) return Error(absl::StrCat(d, " is not allowed inside <Location>"));
    return ModuleDirective(w);
  }

  // NAME... registered for `phase`, appended to `out` in order.
  [[nodiscard]] absl::Status Handlers(const std::vector<std::string>& w, handlers::Phase phase,
                                      std::vector<HandlerRef>& out) {
    if (w.size() < 2) return Error(absl::StrCat(w[0], " takes one or more handler names"));
    for (size_t i = 1; i < w.size(); ++i) {
      absl::Status found = handlers::IsRequestPhase(phase)
                               ? registries_.handlers.Find(phase, w[i]).status()
                               : registries_.handlers.FindConnection(phase, w[i]).status();
      if (!found.ok()) {
        std::vector<std::string> known = registries_.handlers.Names(phase);
        return Error(absl::StrCat(w[0], ": ", found.message(), " (known: ",
                                  known.empty() ? "none" : absl::StrJoin(known, ", "), ")"));
      }
      out.push_back({phase, w[i]});
    }
    return absl::OkStatus();
  }

  std::string filename_;
  const modules::Registries& registries_;
  const filters::FilterRegistry& registry_;
  ServerConfig config_;
  LocationConfig* location_ = nullptr;
  int line_ = 0;
  int location_line_ = 0;
};

}  // namespace

bool IsCoreDirective(absl::string_view name) {
  for (const char* d : kCoreDirectives) {
    if (name == d) return true;
  }
  return PhaseOfDirective(name).has_value();
}

[[nodiscard]] absl::StatusOr<ServerConfig> ParseConfig(absl::string_view text,
                                                       const std::string& filename,
                                                       const modules::Registries& registries) {
  return Parser(filename, registries).Parse(text);
}

[[nodiscard]] absl::StatusOr<ServerConfig> LoadConfig(const std::string& path,
                                                      const modules::Registries& registries) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open the configuration file"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseConfig(ss.str(), path, registries);
}

[[nodiscard]] absl::StatusOr<ServerConfig> DemoConfig(const std::string& demo_root,
                                                      const modules::Registries& registries) {
  constexpr char kText[] =
      "text/html text/plain text/css application/javascript application/json image/svg+xml";
  return ParseConfig(absl::StrCat("Listen 127.0.0.1:8080 http\n"
                                  "Listen 127.0.0.1:8081 echo\n"
                                  "DocumentRoot ", demo_root, "\n"
                                  "AccessLog -\n"
                                  "<Location />\n"
                                  "AddOutputFilterByType DEFLATE ", kText, "\n"
                                  "</Location>\n"
                                  "<Location /reverse/>\n"
                                  "SetOutputFilter REVERSE\n"
                                  "AddOutputFilterByType DEFLATE ", kText, "\n"
                                  "</Location>\n"
                                  "<Location /echo>\n"
                                  "SetHandler echo-stream\n"
                                  "SetInputFilter INFLATE\n"
                                  "AddOutputFilterByType DEFLATE ", kText, "\n"
                                  "</Location>\n"
                                  "<Location /server-status>\n"
                                  "SetHandler status\n"
                                  "</Location>\n"),
                     "(demo)", registries);
}

}  // namespace brigade::server
