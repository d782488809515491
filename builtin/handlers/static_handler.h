// The static-file handler.
//
// ServeStatic answers GET and HEAD for request.filename (set by translate): a regular file as a
// file bucket (so CORE_OUT can sendfile it when no filter needs the bytes) with Content-Type
// from the extension, Content-Length, Last-Modified and ETag; If-None-Match and, without it,
// If-Modified-Since answer 304; a directory redirects to its slash form, then serves its
// index.html or is 403; other methods are 405 with Allow.
//
// Thread-safety: none; runs on the connection's worker thread.

#ifndef BUILTIN_HANDLERS_STATIC_HANDLER_H_
#define BUILTIN_HANDLERS_STATIC_HANDLER_H_

#include <string>

#include "absl/strings/string_view.h"
#include "handlers/hooks.h"
#include "handlers/request.h"

namespace brigade::handlers {

Outcome ServeStatic(Request& r);

// The media type for a file name's extension ("text/html; charset=utf-8"), or
// "application/octet-stream".
absl::string_view MimeTypeFor(absl::string_view path);

}  // namespace brigade::handlers

#endif  // BUILTIN_HANDLERS_STATIC_HANDLER_H_
