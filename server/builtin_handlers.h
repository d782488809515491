// The built-in handlers by name, and everything a configuration can name out of the box:
//   response: static (files beneath the document root), echo (the body, spooled), echo-stream
//             (the body, streamed), status (the server's counters, text/plain)
//   protocols (Listen ADDR:PORT NAME): echo, echo-socket (line echo through the filters / on the
//             socket)
// The translate step for static and the access log are the server's own hooks (server.cc).

#ifndef SERVER_BUILTIN_HANDLERS_H_
#define SERVER_BUILTIN_HANDLERS_H_

#include "absl/status/status.h"
#include "handlers/named_handlers.h"
#include "server/config.h"

namespace brigade::server {

// Errors: AlreadyExists when a name is taken.
absl::Status RegisterBuiltinHandlers(handlers::NamedHandlers& named);

// The built-in filters and handlers.
absl::Status RegisterBuiltins(Registries& registries);

}  // namespace brigade::server

#endif  // SERVER_BUILTIN_HANDLERS_H_
