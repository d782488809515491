// Built-in handlers: static files and echo (HTTP /echo and the echo protocols).
//
// ServeStatic answers GET and HEAD for request.filename (set by translate): a regular file as a
// file bucket (so CORE_OUT can sendfile it when no filter needs the bytes) with Content-Type
// from the extension, Content-Length, Last-Modified and ETag; If-None-Match and, without it,
// If-Modified-Since answer 304; a directory redirects to its slash form, then serves its
// index.html or is 403; other methods are 405 with Allow.
//
// EchoBody answers with the request body as read through the input chain (so DECHUNK and
// INFLATE apply), streamed as it arrives: each piece is passed with a FLUSH, so the client gets
// it back before it sends the next.
//
// The echo protocols (process_connection handlers, the seeds' PerlProcessConnectionHandler
// examples) read a line and write it back, flushing after each, until EOF or an empty line:
// EchoLines through the connection's filter chains, EchoLinesOnSocket on the socket directly.

#ifndef HANDLERS_STATIC_HANDLER_H_
#define HANDLERS_STATIC_HANDLER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "handlers/hooks.h"
#include "handlers/request.h"

namespace brigade::handlers {

Outcome ServeStatic(Request& r);
Outcome EchoBody(Request& r);

// The media type for a file name's extension ("text/html; charset=utf-8"), or
// "application/octet-stream".
std::string MimeTypeFor(absl::string_view path);

// Reads lines (at most max_line bytes each) through c.input() and writes them back through
// c.output() with a FLUSH after each. OK at EOF or an empty line.
absl::Status EchoLines(Connection& c, size_t max_line = 8192);
// The same protocol on the socket `fd` directly, bypassing every filter; `timeout_ms` bounds
// each wait for the peer.
absl::Status EchoLinesOnSocket(int fd, int timeout_ms, size_t max_line = 8192);

}  // namespace brigade::handlers

#endif  // HANDLERS_STATIC_HANDLER_H_
