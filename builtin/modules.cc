#include "builtin/modules.h"

#include <chrono>
#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"
#include "brigade/brigade.h"
#include "builtin/filters/builtin_filters.h"
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
  const handlers::ServerCounters& n = server->counters;
  CopyStats copies = GlobalCopyStats();
  std::string body = absl::StrCat(
      "brigaded status\n", "connections_open: ", n.connections_open.load(), "\n",
      "connections_total: ", n.connections_total.load(), "\n", "requests: ", n.requests.load(),
      "\n", "bytes_in: ", n.bytes_in.load(), "\n", "bytes_out: ", n.bytes_out.load(), "\n",
      "bytes_copied: ", copies.bytes_copied, "\n", "bytes_shared: ", copies.bytes_shared, "\n",
      "bytes_read: ", copies.bytes_read, "\n");
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
  if (r.handler != "static") return Outcome::Declined();
  std::string root(r.document_root);
  r.filename = root + r.uri;
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
  absl::StatusOr<std::string> file = server::MapToFile(root, r.uri);  // kernels without openat2
  if (!file.ok()) {
    r.file_status = absl::IsPermissionDenied(file.status()) ? 403 : 404;
    return Outcome::Ok();
  }
  r.filename = *file;
  return Outcome::Ok();
}

// The access log's file (AccessLog FILE|-) and the open log, one per server.
handlers::ConfigSlot<std::string> access_log_path;
handlers::StateSlot<std::shared_ptr<AccessLog>> access_log;

absl::Status SetupAccessLog(ModuleContext& ctx) {
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
  ctx.AddHook(Phase::kLog, "access-log", std::function<Outcome(Request&)>([](Request& r) {
                const handlers::ServerRecord* server = r.connection().server();
                const std::shared_ptr<AccessLog>* log =
                    server == nullptr ? nullptr : access_log.Find(server->state);
                if (log != nullptr && *log) (*log)->Write(r, r.keep_alive);
                return Outcome::Ok();
              }));
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
      {"filters", [](ModuleContext& ctx) { return filters::RegisterBuiltinFilters(ctx.filters()); }},
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

absl::Status RegisterBuiltins(modules::Registries& registries) {
  return modules::RegisterModules(registries, BuiltinModules());
}

}  // namespace brigade::builtin
