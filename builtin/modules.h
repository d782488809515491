// The built-in modules, each written on the module API (module/module.h) as a user's would be:
//   http     the protocol "http": HTTP/1.1 connections (builtin/http/), what Listen names by
//            default
//   filters  DEFLATE, INFLATE, CHUNK, DECHUNK, REVERSE, CONTENT_LENGTH, and the directives that
//            set defaults for every DEFLATE and INFLATE a configuration names:
//            DeflateCompressionLevel, DeflateBackend, DeflateInflateLimitRequestBody,
//            DeflateInflateRatioLimit (server scope)
//   static   the translate hook "map-to-file" (last, after any TransHandler) and the response
//            handler "static": files beneath the document root
//   echo     the response handlers "echo" (the body, spooled) and "echo-stream" (streamed), and
//            the protocols "echo" and "echo-socket" (line echo through the filters / on the
//            socket)
//   status   the response handler "status": the server's counters, text/plain
//   access-log  the directive AccessLog FILE|-, an open_logs hook that opens the log (and
//            reopens it on SIGHUP) and a log hook that writes each request's line

#ifndef BUILTIN_MODULES_H_
#define BUILTIN_MODULES_H_

#include <vector>

#include "absl/status/status.h"
#include "server/config.h"
#include "module/module.h"

namespace brigade::builtin {

// Every built-in module, in the order above.
std::vector<modules::Module> BuiltinModules();

// RegisterModules(registries, BuiltinModules()).
[[nodiscard]] absl::Status RegisterBuiltins(modules::Registries& registries);

}  // namespace brigade::builtin

#endif  // BUILTIN_MODULES_H_
