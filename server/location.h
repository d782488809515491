// CompiledLocation: one <Location> (or the server's defaults) compiled at load time — its handler,
// its filters with their options merged with the server-wide defaults and validated once, its
// document root's directory descriptor and its request-body spooling values — so that a request
// only instantiates filters. Locations: the compiled set, matched on a request's normalised path.
//
// Thread-safety: immutable after Compile; shared by every worker.

#ifndef SERVER_LOCATION_H_
#define SERVER_LOCATION_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "filters/registry.h"
#include "handlers/request.h"
#include "server/config.h"

namespace brigade::server {

// A filter by name with its options merged and checked once; `make` instantiates it.
struct PreparedFilter {
  std::string name;
  filters::FilterOptions options;  // as merged, for inspection
  std::function<std::unique_ptr<filters::OutputFilter>()> make_output;  // output filters
  std::function<std::unique_ptr<filters::InputFilter>()> make_input;    // input filters
};

class CompiledLocation {
 public:
  // Errors: a filter spec its factory refuses (InvalidArgument naming the Location and filter).
  // `root_fd`: the O_PATH descriptor of the Location's document root (owned by the caller).
  [[nodiscard]] static absl::StatusOr<CompiledLocation> Compile(
      const LocationConfig& location, const ServerConfig& server,
      const modules::Registries& registries, int root_fd);

  const std::string& prefix() const { return prefix_; }
  // The first response handler's name (what r.handler says).
  const std::string& handler() const { return handler_; }
  uint64_t body_buffer_size() const { return body_buffer_size_; }
  const std::string& body_temp_dir() const { return body_temp_dir_; }
  const std::vector<PreparedFilter>& output_filters() const { return output_; }
  const std::vector<PreparedFilter>& input_filters() const { return input_; }

  // Adds the Location's input and output filters (and its type gates) to `r`'s chains.
  void AddFilters(handlers::Request& r) const;
  // Gives `r` what the Location decides before any phase runs: its handler name, document root
  // and descriptor, request-body spooling values, the modules' values (r.config()), and each
  // request phase's handlers named for it — the server's, then the Location's ("static" for the
  // response when none is named). No copy per request.
  void Apply(handlers::Request& r) const;
  // The modules' values here: the Location's merged with the server's.
  const handlers::ConfigValues& values() const { return values_; }
  // The names configured for `phase`, in order.
  std::vector<std::string> HandlerNames(handlers::Phase phase) const;

  // The pipeline report of a response's output chain here: the Location's filters in kind
  // order (a filter gated by type shown as if selected, noting its types), then what the
  // server adds to every response (CONTENT_LENGTH, CHUNK, HTTP_HEADER, CORE_OUT).
  filters::PipelineReport OutputReport() const;

 private:
  struct TypeGated {
    PreparedFilter filter;
    std::vector<std::string> types;
  };
  std::string prefix_;
  std::string handler_;
  std::string document_root_;
  int root_fd_ = -1;
  uint64_t body_buffer_size_ = 0;
  std::string body_temp_dir_;
  std::vector<PreparedFilter> output_;
  std::vector<PreparedFilter> input_;
  std::vector<TypeGated> by_type_;
  // Per request phase, from kPostReadRequest.
  static constexpr size_t kRequestPhases =
      static_cast<size_t>(handlers::Phase::kCleanup) -
      static_cast<size_t>(handlers::Phase::kPostReadRequest) + 1;
  std::array<std::vector<handlers::HandlerEntry<handlers::Request>>, kRequestPhases> handlers_;
  handlers::ConfigValues values_;
};

class Locations {
 public:
  // Compiles the server's defaults (prefix "/") and every Location; `root_fds` maps each
  // document root to its descriptor.
  [[nodiscard]] static absl::StatusOr<Locations> Compile(
      const ServerConfig& config, const modules::Registries& registries,
      const std::map<std::string, int>& root_fds);
  // The Location with the longest prefix of `path`; the server's defaults when none matches.
  // REQUIRES: `path` is decoded and normalised (NormalizePath).
  const CompiledLocation& Match(absl::string_view path) const;
  // Every Location in configuration order.
  std::vector<const CompiledLocation*> All() const;
  // What a path no Location matches gets.
  const CompiledLocation& defaults() const { return default_; }

 private:
  CompiledLocation default_;
  std::vector<CompiledLocation> locations_;
};

}  // namespace brigade::server

#endif  // SERVER_LOCATION_H_
