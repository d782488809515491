// The echo handlers: HTTP responses that return the request body, and the echo protocols.
//
// HTTP (response handlers, what SetHandler selects):
//   echo         reads the whole body through the input chain (DECHUNK and INFLATE apply)
//                before answering, spooled (brigade/spool.h: memory up to
//                Request::body_buffer_size, then an unlinked file in body_temp_dir), and answers
//                with it as buckets, so a spooled body goes out with sendfile. A body error
//                therefore gets its own status (400 bad chunking or corrupt gzip, 413 over a
//                limit) as the one response.
//   echo-stream  passes each piece back as it arrives, with a FLUSH, so the client gets it back
//                before it sends the next. An error after the head went out can only abort the
//                response (no last chunk; the connection closes).
//
// Protocols (process_connection handlers, the seeds' PerlProcessConnectionHandler examples):
// each line the client sends comes back, until EOF or an empty line ("\n" or "\r\n" at the start
// of a line). Lines of any length are passed back in pieces, in bounded memory.
//   echo         through the connection's filter chains (CORE_IN, CORE_OUT).
//   echo-socket  on the socket directly, bypassing every filter.
//
// All four are coroutines (task.h): they wait on the event loop, never on the worker thread.
// Register them with Coroutine().
//
// Thread-safety: none; they run on their connection's worker thread.

#ifndef BUILTIN_HANDLERS_ECHO_HANDLER_H_
#define BUILTIN_HANDLERS_ECHO_HANDLER_H_

#include "handlers/hooks.h"
#include "handlers/request.h"
#include "handlers/task.h"

namespace brigade::handlers {

Task<Outcome> EchoSpooled(Request& r);
Task<Outcome> EchoStream(Request& r);

Task<Outcome> EchoLines(Connection& c);
Task<Outcome> EchoLinesOnSocket(Connection& c);

}  // namespace brigade::handlers

#endif  // BUILTIN_HANDLERS_ECHO_HANDLER_H_
