#include "builtin/modules.h"

#include <chrono>
#include <cstdio>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "brigade/brigade.h"
#include "builtin/filters/builtin_filters.h"
#include "builtin/filters/gzip_codec.h"
#include "builtin/handlers/echo_handler.h"
#include "builtin/http/http_connection.h"
#include "builtin/open_file_cache.h"
#include "handlers/request.h"
#include "builtin/handlers/static_handler.h"
#include "builtin/access_log.h"
#include "server/uri.h"

namespace brigade::builtin {
namespace {

using modules::DirectiveArgs;
using modules::DirectiveScope;
using modules::Module;
using modules::ModuleContext;
using server::AccessLog;

using handlers::Outcome;
using handlers::Phase;
using handlers::Request;

Outcome ServeStatus(Request& r) {
  const handlers::ServerRecord* server = r.connection().server();
  if (server == nullptr) return Outcome::Status(500);
  handlers::CounterTotals n = server->Totals();
  CopyStats copies = GlobalCopyStats();
  std::string body = absl::StrCat(
      "brigaded status\n", "connections_open: ", n.connections_open, "\n",
      "connections_total: ", n.connections_total, "\n", "requests: ", n.requests,
      "\n", "bytes_in: ", n.bytes_in, "\n", "bytes_out: ", n.bytes_out, "\n",
      "bytes_copied: ", copies.bytes_copied, "\n", "bytes_shared: ", copies.bytes_shared, "\n",
      "bytes_read: ", copies.bytes_read, "\n", "idle_records_released: ",
      n.idle_records_released, "\n");
  r.status = 200;
  r.response_headers.Set("Content-Type", "text/plain; charset=utf-8");
  r.response_headers.Set("Cache-Control", "no-store");
  Brigade bb(r.allocator());
  if (!bb.WriteOwned(std::move(body)).ok()) return Outcome::Status(500);
  bb.Append(Bucket::Eos(r.allocator()));
  return r.Pass(bb).ok() ? Outcome::Ok() : Outcome::Status(500);
}

// translate for static: opens the normalised path beneath the request's document root,
// through this worker's cache of open files.
Outcome TranslateToFile(Request& r) {
  if (!filters::IsLiteral(r.handler, "static")) return Outcome::Declined();
  // Assigned, not built and moved: a server that recycles the record keeps the string's room.
  r.filename.assign(r.document_root.data(), r.document_root.size());
  r.filename += r.uri;
  if (r.document_root_fd >= 0) {
    int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now().time_since_epoch())
                         .count();
    absl::StatusOr<Ref<File>> file =
        OpenFileCache::ForThisThread().Open(r.document_root_fd, r.uri, now_ms);
    if (file.ok()) {
      r.file = *std::move(file);
      return Outcome::Ok();
    }
    // Answered by the static handler, after the access checks (Request::file_status).
    auto verdict = [&r](int status) {
      r.file_status = status;
      return Outcome::Ok();
    };
    if (absl::IsPermissionDenied(file.status())) return verdict(403);
    if (absl::IsNotFound(file.status())) return verdict(404);
    if (absl::IsUnavailable(file.status())) return verdict(503);
    if (!absl::IsUnimplemented(file.status())) return verdict(500);
  }
  absl::StatusOr<std::string> file =
      server::MapToFile(std::string(r.document_root), r.uri);  // kernels without openat2
  if (!file.ok()) {
    r.file_status = absl::IsPermissionDenied(file.status()) ? 403 : 404;
    return Outcome::Ok();
  }
  r.filename = *file;
  return Outcome::Ok();
}

// The gzip filters' server-wide directives (mod_deflate's), as defaults for every DEFLATE and
// INFLATE a configuration names; a spec's own options win.
handlers::ConfigSlot<int> deflate_level;
handlers::ConfigSlot<std::string> deflate_backend;
handlers::ConfigSlot<uint64_t> inflate_limit;
handlers::ConfigSlot<uint64_t> inflate_ratio;
// DeflateInflateRatioLimit when none is given (Apache's default).
constexpr uint64_t kDefaultInflateRatio = 200;

// A directive taking one whole number from `min` to `max` into `slot`.
template <typename T>
modules::Directive NumberDirective(std::string name, const handlers::ConfigSlot<T>& slot,
                                   int64_t min, int64_t max) {
  return {.name = std::move(name),
          .scope = DirectiveScope::kServer,
          .min_args = 1,
          .max_args = 1,
          .syntax = "one number",
          .parse = [slot, min, max](const DirectiveArgs& a) -> absl::Status {
            int64_t v;
            if (!absl::SimpleAtoi(a.args[0], &v) || v < min || v > max) {
              return absl::InvalidArgumentError(
                  absl::StrCat(a.args[0], ": expected a number from ", min, " to ", max));
            }
            slot.Mutable(a.values) = static_cast<T>(v);
            return absl::OkStatus();
          }};
}

[[nodiscard]] absl::Status SetupFilters(ModuleContext& ctx) {
  if (absl::Status s = filters::RegisterBuiltinFilters(ctx.filters()); !s.ok()) return s;
  deflate_level = ctx.Slot<int>();
  deflate_backend = ctx.Slot<std::string>();
  inflate_limit = ctx.Slot<uint64_t>();
  inflate_ratio = ctx.Slot<uint64_t>();
  for (modules::Directive d : {
           NumberDirective("DeflateCompressionLevel", deflate_level, 1, 9),
           NumberDirective("DeflateInflateLimitRequestBody", inflate_limit, 0, int64_t{1} << 50),
           NumberDirective("DeflateInflateRatioLimit", inflate_ratio, 1, 1 << 20),
           modules::Directive{
               .name = "DeflateBackend",
               .scope = DirectiveScope::kServer,
               .min_args = 1,
               .max_args = 1,
               .syntax = "zlib or isal",
               .parse = [](const DirectiveArgs& a) -> absl::Status {
                 if (!filters::ParseGzipBackend(a.args[0]).ok()) {
                   return absl::InvalidArgumentError(
                       absl::StrCat(a.args[0], ": expected zlib or isal"));
                 }
                 deflate_backend.Mutable(a.values) = a.args[0];
                 return absl::OkStatus();
               }},
       }) {
    if (absl::Status s = ctx.AddDirective(std::move(d)); !s.ok()) return s;
  }
  auto backend = [](const modules::FilterDefaultsArgs& a) {
    if (deflate_backend.IsSet(a.server)) {
      a.options.SetDefault("backend", deflate_backend.Get(a.server));
    }
  };
  ctx.AddFilterDefaults("DEFLATE", [backend](const modules::FilterDefaultsArgs& a) {
    if (a.direction != filters::Direction::kOutput) return;
    if (deflate_level.IsSet(a.server)) {
      a.options.SetDefault("level", absl::StrCat(deflate_level.Get(a.server)));
    }
    backend(a);
  });
  ctx.AddFilterDefaults("INFLATE", [backend](const modules::FilterDefaultsArgs& a) {
    backend(a);
    if (a.direction != filters::Direction::kInput) return;
    // As Apache's DeflateInflateLimitRequestBody: LimitRequestBody unless set.
    uint64_t limit = inflate_limit.Get(a.server);
    a.options.SetDefault("limit", absl::StrCat(limit != 0 ? limit : a.limit_request_body));
    a.options.SetDefault(
        "ratio", absl::StrCat(inflate_ratio.IsSet(a.server) ? inflate_ratio.Get(a.server)
                                                            : kDefaultInflateRatio));
  });
  return absl::OkStatus();
}

// The access log's file (AccessLog FILE|-) and the open log, one per server.
handlers::ConfigSlot<std::string> access_log_path;
handlers::StateSlot<std::shared_ptr<AccessLog>> access_log;

[[nodiscard]] absl::Status SetupAccessLog(ModuleContext& ctx) {
  access_log_path = ctx.Slot<std::string>();
  access_log = ctx.ServerSlot<std::shared_ptr<AccessLog>>();
  absl::Status s = ctx.AddDirective(
      {.name = "AccessLog", .scope = DirectiveScope::kServer, .min_args = 1, .max_args = 1,
       .syntax = "one file name (or -)", .parse = [](const DirectiveArgs& a) {
         access_log_path.Mutable(a.values) = a.args[0];
         return absl::OkStatus();
       }});
  if (!s.ok()) return s;
  // Opens the log at start-up; runs again on SIGHUP, when it reopens (after log rotation).
  ctx.AddHook(Phase::kOpenLogs, "access-log",
              std::function<Outcome(handlers::ServerRecord&)>([](handlers::ServerRecord& server) {
                std::shared_ptr<AccessLog>& log = access_log.Mutable(server.state);
                if (log) {
                  if (absl::Status st = log->Reopen(); !st.ok()) {
                    fprintf(stderr, "brigaded: SIGHUP: %s; still logging to the file open before\n",
                            std::string(st.message()).c_str());
                  }
                  return Outcome::Ok();
                }
                log = std::make_shared<AccessLog>();
                const std::string& path =
                    server.config == nullptr ? "" : access_log_path.Get(*server.config);
                if (absl::Status st = log->Open(path); !st.ok()) {
                  server.failure = std::string(st.message());
                  return Outcome::Status(500);
                }
                return Outcome::Ok();
              }));
  // Only where an AccessLog is configured: without one, the log phase has nothing to run.
  ctx.AddHook(Phase::kLog, "access-log", std::function<Outcome(Request&)>([](Request& r) {
                const handlers::ServerRecord* server = r.connection().server();
                const std::shared_ptr<AccessLog>* log =
                    server == nullptr ? nullptr : access_log.Find(server->state);
                if (log != nullptr && *log) (*log)->Write(r, r.keep_alive);
                return Outcome::Ok();
              }),
              {}, [](const handlers::ServerRecord& server) {
                return !access_log_path.Get(*server.config).empty();
              });
  return absl::OkStatus();
}

}  // namespace

std::vector<Module> BuiltinModules() {
  using handlers::Connection;
  using handlers::Coroutine;
  return {
      {"http",
       [](ModuleContext& ctx) {
         return ctx.AddProtocol("http", [](const server::ConnectionArgs& args) {
           return std::unique_ptr<server::ConnectionBase>(
               std::make_unique<server::HttpConnection>(args));
         });
       }},
      {"filters", SetupFilters},
      {"static",
       [](ModuleContext& ctx) {
         // Last, as Apache's core translate: TransHandlers a configuration names run first.
         ctx.AddHook(Phase::kTranslate, "map-to-file", std::function<Outcome(Request&)>(TranslateToFile),
                     {.order = handlers::Order::kReallyLast, .after = {}, .before = {}});
         return ctx.handlers().Add(Phase::kResponse, "static", handlers::ServeStatic);
       }},
      {"echo",
       [](ModuleContext& ctx) -> absl::Status {
         handlers::NamedHandlers& named = ctx.handlers();
         absl::Status s =
             named.Add(Phase::kResponse, "echo", Coroutine<Request>(handlers::EchoSpooled));
         if (s.ok()) {
           s = named.Add(Phase::kResponse, "echo-stream", Coroutine<Request>(handlers::EchoStream));
         }
         if (s.ok()) {
           s = named.AddConnection(Phase::kProcessConnection, "echo",
                                   Coroutine<Connection>(handlers::EchoLines));
         }
         if (s.ok()) {
           s = named.AddConnection(Phase::kProcessConnection, "echo-socket",
                                   Coroutine<Connection>(handlers::EchoLinesOnSocket));
         }
         return s;
       }},
      {"status",
       [](ModuleContext& ctx) { return ctx.handlers().Add(Phase::kResponse, "status", ServeStatus); }},
      {"access-log", SetupAccessLog},
  };
}

[[nodiscard]] absl::Status RegisterBuiltins(modules::Registries& registries) {
  return modules::RegisterModules(registries, BuiltinModules());
}

}  // namespace brigade::builtin
