#include "server/location.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "builtin/filters/chunk_filter.h"
#include "builtin/filters/content_length_filter.h"
#include "server/http_filters.h"

namespace brigade::server {
namespace {

size_t PhaseIndex(handlers::Phase phase) {
  return static_cast<size_t>(phase) - static_cast<size_t>(handlers::Phase::kPostReadRequest);
}

// The defaults modules give the filter's options from the server's values; the spec's own
// options win.
void MergeDefaults(PreparedFilter& f, filters::Direction direction, const ServerConfig& server,
                   const modules::Registries& registries) {
  auto it = registries.filter_defaults.find(f.name);
  if (it == registries.filter_defaults.end()) return;
  for (const modules::FilterDefaults& defaults : it->second) {
    defaults({.server = server.values,
              .direction = direction,
              .limit_request_body = server.limit_request_body,
              .options = f.options});
  }
}

[[nodiscard]] absl::StatusOr<PreparedFilter> Prepare(absl::string_view text,
                                                     filters::Direction direction,
                                                     const ServerConfig& server,
                                                     const modules::Registries& registries,
                                                     absl::string_view where) {
  const filters::FilterRegistry& registry = registries.filters;
  absl::StatusOr<filters::FilterSpec> spec = filters::ParseFilterSpec(text);
  if (!spec.ok()) return spec.status();
  PreparedFilter f{spec->name, spec->options, nullptr, nullptr};
  MergeDefaults(f, direction, server, registries);
  absl::Status made;
  if (direction == filters::Direction::kOutput) {
    absl::StatusOr<filters::FilterRegistry::OutputMaker> m = registry.PrepareOutput(f.name, f.options);
    made = m.status();
    if (m.ok()) f.make_output = *std::move(m);
  } else {
    absl::StatusOr<filters::FilterRegistry::InputMaker> m = registry.PrepareInput(f.name, f.options);
    made = m.status();
    if (m.ok()) f.make_input = *std::move(m);
  }
  if (!made.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", made.message()));
  }
  return f;
}

}  // namespace

absl::StatusOr<CompiledLocation> CompiledLocation::Compile(const LocationConfig& l,
                                                           const ServerConfig& server,
                                                           const modules::Registries& registries,
                                                           int root_fd) {
  CompiledLocation c;
  c.prefix_ = l.prefix;
  std::vector<HandlerRef> refs;
  for (const std::vector<HandlerRef>* list : {&server.handlers, &l.handlers}) {
    for (const HandlerRef& ref : *list) {
      if (handlers::IsRequestPhase(ref.phase)) refs.push_back(ref);
    }
  }
  bool response_named = false;
  for (const HandlerRef& ref : refs) response_named |= ref.phase == handlers::Phase::kResponse;
  if (!response_named) refs.push_back({handlers::Phase::kResponse, "static"});
  for (const HandlerRef& ref : refs) {
    absl::StatusOr<handlers::HandlerEntry<handlers::Request>> entry =
        registries.handlers.Find(ref.phase, ref.name);
    if (!entry.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("<Location ", l.prefix, ">: ", entry.status().message()));
    }
    c.handlers_[PhaseIndex(ref.phase)].push_back(*std::move(entry));
    if (ref.phase == handlers::Phase::kResponse && c.handler_.empty()) c.handler_ = ref.name;
  }
  for (size_t i = 0; i < registries.merges.size(); ++i) {
    const std::any* own = l.values.Find(i);
    const std::any* inherited = server.values.Find(i);
    if (own != nullptr && inherited != nullptr && registries.merges[i]) {
      c.values_.At(i) = registries.merges[i](*inherited, *own);
    } else if (own != nullptr || inherited != nullptr) {
      c.values_.At(i) = own != nullptr ? *own : *inherited;
    }
  }
  c.document_root_ = l.document_root.empty() ? server.document_root : l.document_root;
  c.root_fd_ = root_fd;
  c.body_buffer_size_ = l.body_buffer_size.value_or(server.body_buffer_size);
  c.body_temp_dir_ = l.body_temp_dir.value_or(server.body_temp_dir);
  std::string where = absl::StrCat("<Location ", l.prefix, ">");
  for (const std::string& spec : l.output_filters) {
    absl::StatusOr<PreparedFilter> f =
        Prepare(spec, filters::Direction::kOutput, server, registries, where);
    if (!f.ok()) return f.status();
    c.output_.push_back(*std::move(f));
  }
  for (const std::string& spec : l.input_filters) {
    absl::StatusOr<PreparedFilter> f =
        Prepare(spec, filters::Direction::kInput, server, registries, where);
    if (!f.ok()) return f.status();
    c.input_.push_back(*std::move(f));
  }
  for (const auto& [name, types] : l.filters_by_type) {
    absl::StatusOr<PreparedFilter> f =
        Prepare(name, filters::Direction::kOutput, server, registries, where);
    if (!f.ok()) return f.status();
    c.by_type_.push_back({*std::move(f), types});
  }
  return c;
}

void CompiledLocation::AddFilters(handlers::Request& r) const {
  for (const PreparedFilter& f : input_) r.input().Add(f.make_input());
  for (const PreparedFilter& f : output_) r.output().Add(f.make_output());
  for (const TypeGated& g : by_type_) {
    r.output().Add(std::make_unique<TypeGateFilter>(&r.output(), &g.filter.make_output, g.types));
  }
}

void CompiledLocation::Apply(handlers::Request& r) const {
  r.handler = handler_;
  r.document_root = document_root_;
  r.document_root_fd = root_fd_;
  r.body_buffer_size = body_buffer_size_;
  r.body_temp_dir = body_temp_dir_;
  r.set_config(&values_);
  for (size_t i = 0; i < kRequestPhases; ++i) {
    if (handlers_[i].empty()) continue;
    r.stack(static_cast<handlers::Phase>(i + static_cast<size_t>(handlers::Phase::kPostReadRequest)))
        .Configure(&handlers_[i]);
  }
}

std::vector<std::string> CompiledLocation::HandlerNames(handlers::Phase phase) const {
  std::vector<std::string> names;
  for (const auto& e : handlers_[PhaseIndex(phase)]) names.push_back(e.name);
  return names;
}

filters::PipelineReport CompiledLocation::OutputReport() const {
  filters::Exchange ex;
  ResponseFraming framing;
  filters::OutputChain connection(&ex);
  connection.set_connection_level(true);
  filters::OutputChain chain(&ex, &connection);
  for (const PreparedFilter& f : output_) chain.Add(f.make_output());
  for (const TypeGated& g : by_type_) chain.Add(g.filter.make_output());
  chain.Add(std::make_unique<filters::ContentLengthFilter>());
  chain.Add(std::make_unique<filters::ChunkFilter>());
  chain.Add(std::make_unique<HttpHeaderFilter>(&framing, "brigaded"));
  chain.Add(std::make_unique<CoreOutputFilter>(-1));
  filters::PipelineReport report = chain.Report();
  std::vector<bool> marked(report.filters.size(), false);
  for (const TypeGated& g : by_type_) {
    for (size_t i = 0; i < report.filters.size(); ++i) {
      if (marked[i] || report.filters[i].name != g.filter.name) continue;
      marked[i] = true;
      report.filters[i].note = absl::StrCat("only for ", absl::StrJoin(g.types, " "));
      break;
    }
  }
  return report;
}

absl::StatusOr<Locations> Locations::Compile(const ServerConfig& config,
                                             const modules::Registries& registries,
                                             const std::map<std::string, int>& root_fds) {
  auto fd_of = [&](const std::string& root) {
    auto it = root_fds.find(root);
    return it == root_fds.end() ? -1 : it->second;
  };
  Locations out;
  LocationConfig defaults;
  absl::StatusOr<CompiledLocation> d =
      CompiledLocation::Compile(defaults, config, registries, fd_of(config.document_root));
  if (!d.ok()) return d.status();
  out.default_ = *std::move(d);
  for (const LocationConfig& l : config.locations) {
    std::string root = l.document_root.empty() ? config.document_root : l.document_root;
    absl::StatusOr<CompiledLocation> c =
        CompiledLocation::Compile(l, config, registries, fd_of(root));
    if (!c.ok()) return c.status();
    out.locations_.push_back(*std::move(c));
  }
  return out;
}

std::vector<const CompiledLocation*> Locations::All() const {
  std::vector<const CompiledLocation*> all;
  for (const CompiledLocation& l : locations_) all.push_back(&l);
  return all;
}

const CompiledLocation& Locations::Match(absl::string_view path) const {
  const CompiledLocation* best = &default_;
  size_t best_len = 0;
  for (const CompiledLocation& l : locations_) {
    if (absl::StartsWith(path, l.prefix()) && l.prefix().size() >= best_len) {
      best = &l;
      best_len = l.prefix().size();
    }
  }
  return *best;
}

}  // namespace brigade::server
