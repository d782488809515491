// The brigaded configuration: an Apache-style file, one directive per line, '#' comments.
//
//   Listen ADDR:PORT [http|echo|echo-socket]     (repeatable)
//   Workers N
//   DocumentRoot DIR
//   AccessLog FILE|-                                        (the access-log module's)
//   Timeout SEC  KeepAliveTimeout SEC  MaxKeepAliveRequests N
//   LimitRequestLine BYTES  LimitRequestFields N  LimitRequestFieldSize BYTES
//   LimitRequestBody BYTES
//   DeflateCompressionLevel N  DeflateBackend zlib|isal               (the filters module's)
//   DeflateInflateLimitRequestBody BYTES  DeflateInflateRatioLimit N     (the filters module's)
//   GracefulShutdownTimeout SEC  BlockingPoolThreads N  SendBufferSize BYTES
//   RequestBodyBufferSize BYTES  RequestBodyTempDir DIR     (also inside <Location>)
//   PreConnectionHandler NAME...                            (server scope)
//   PostReadRequestHandler TransHandler HeaderParserHandler AccessHandler AuthenHandler
//   AuthzHandler TypeHandler FixupHandler ResponseHandler LogHandler CleanupHandler NAME...
//                                       (server scope and inside <Location>; they stack in order)
//   <Location PREFIX>
//     SetHandler NAME...   (the same as ResponseHandler: static, echo, echo-stream, status, ...)
//     SetOutputFilter A;B        AddOutputFilterByType FILTER TYPE...
//     SetInputFilter A;B         DocumentRoot DIR
//   </Location>
//
// Handler names are those registered for the directive's phase (handlers/named_handlers.h); a
// Location's handlers for a phase run after the server's, and with no response handler named
// anywhere a request gets "static". A Listen's PROTOCOL is http or a process_connection handler.
// Words are split on spaces and tabs; a word in double quotes keeps its spaces ("Members Area",
// with \" and \\ inside). Every error names the file, the line and what was wrong. The longest matching Location wins;
// Locations are matched on the request's decoded, dot-segment-free path. A Location's own
// RequestBody* values win over the server's.
//
// Thread-safety: immutable once loaded; shared by every worker.

#ifndef SERVER_CONFIG_H_
#define SERVER_CONFIG_H_

#include <any>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "filters/registry.h"
#include "handlers/config_values.h"
#include "handlers/named_handlers.h"
#include "handlers/phases.h"
#include "module/registries.h"

namespace brigade::server {

struct ListenSpec {
  std::string address;  // IPv4 dotted quad
  int port = 0;         // 0: any free port (tests)
  std::string protocol = "http";
};

// True for the directives the configuration language itself knows (Listen, <Location>, ...).
bool IsCoreDirective(absl::string_view name);

// A handler named by a directive for one phase.
struct HandlerRef {
  handlers::Phase phase;
  std::string name;
};

struct LocationConfig {
  std::string prefix = "/";
  std::vector<HandlerRef> handlers;  // in the order named
  handlers::ConfigValues values;     // the modules' directives given here
  std::vector<std::string> output_filters;  // filter specs, in order
  std::vector<std::string> input_filters;
  std::vector<std::pair<std::string, std::vector<std::string>>> filters_by_type;
  std::string document_root;  // empty: the server's; stored resolved (RealPath)
  std::optional<uint64_t> body_buffer_size;  // unset: the server's
  std::optional<std::string> body_temp_dir;  // unset: the server's
};

struct ServerConfig {
  std::vector<ListenSpec> listens;
  int workers = 2;
  std::string document_root;  // stored resolved (RealPath)
  int timeout_s = 60;
  int keepalive_timeout_s = 5;
  int max_keepalive_requests = 100;
  size_t limit_request_line = 8190;
  size_t limit_request_fields = 100;
  size_t limit_request_field_size = 8190;
  uint64_t limit_request_body = uint64_t{1} << 30;
  // After SIGTERM, responses still making progress may run this long before they are cut.
  int graceful_shutdown_timeout_s = 30;
  uint64_t body_buffer_size = 64 * 1024;  // spooled request bodies: memory before a file
  int blocking_pool_threads = 4;          // for handlers registered with handlers::Blocking
  // SO_SNDBUF of every accepted connection; 0 leaves the kernel's autotuning, which lets a
  // socket hold up to tcp_wmem's 4 MiB: a crowd of slow readers then costs that much kernel
  // memory each, and the work of filling it (a gzip stream) comes all at once. Apache's.
  int send_buffer_size = 0;
  std::string body_temp_dir;              // empty: $TMPDIR or /tmp
  std::vector<HandlerRef> handlers;       // server scope, in the order named
  handlers::ConfigValues values;          // the modules' directives in server scope
  std::vector<LocationConfig> locations;  // matched once compiled (location.h)
};

// Parses `text`, naming `filename` in errors ("conf/x.conf:12: ..."). Filter and handler names
// are checked against `registries`; directories must exist.
[[nodiscard]] absl::StatusOr<ServerConfig> ParseConfig(absl::string_view text,
                                                       const std::string& filename,
                                                       const modules::Registries& registries);
[[nodiscard]] absl::StatusOr<ServerConfig> LoadConfig(const std::string& path,
                                                      const modules::Registries& registries);

// The built-in demo: HTTP on 127.0.0.1:8080 serving `demo_root` (gzip on text types,
// /reverse/ through REVERSE, /echo streaming with echo-stream, /server-status), the echo
// protocol on 127.0.0.1:8081, and the access log on stdout. Needs the built-in modules.
[[nodiscard]] absl::StatusOr<ServerConfig> DemoConfig(const std::string& demo_root,
                                                      const modules::Registries& registries);

}  // namespace brigade::server

#endif  // SERVER_CONFIG_H_
