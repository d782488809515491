#include "builtin/handlers/echo_handler.h"

#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <string>

#include "brigade/spool.h"

namespace brigade::handlers {
namespace {

// The most each read asks for: a piece of a body or of a line. Bounds what one echo holds.
constexpr size_t kPiece = 64 * 1024;

void SetEchoType(Request& r) {
  r.status = 200;
  r.response_headers.Set("Content-Type",
                         r.request_headers.Get("Content-Type").value_or("application/octet-stream"));
}

// Where an empty line ("\n" or "\r\n" at the start of a line) begins in a byte stream fed in
// parts. A '\r' that starts a line at the very end of a part may begin one, so it is held back
// and given to the next part.
class EmptyLineScanner {
 public:
  struct Result {
    size_t echo = 0;     // bytes of `data` (after the held prefix) to pass back now
    bool ended = false;  // an empty line came: the session is over after `echo` bytes
  };
  // `data` is held() + the new bytes; the caller keeps them together.
  Result Scan(absl::string_view data) {
    held_ = false;
    for (size_t i = 0; i < data.size(); ++i) {
      char c = data[i];
      if (at_start_ && c == '\n') return {i, true};
      if (at_start_ && c == '\r') {
        if (i + 1 == data.size()) {
          held_ = true;
          return {i, false};
        }
        if (data[i + 1] == '\n') return {i, true};
      }
      at_start_ = c == '\n';
    }
    return {data.size(), false};
  }
  bool held() const { return held_; }

 private:
  bool at_start_ = true;
  bool held_ = false;
};

// Ends the response: `bb` (possibly empty), then EOS, waiting while the chain is full.
Task<Outcome> SendLast(Request& r, Brigade bb) {
  bb.Append(Bucket::Eos(r.allocator()));
  absl::Status s = co_await r.Send(bb);
  co_return s.ok() ? Outcome::Ok() : Outcome::Status(HttpStatusFor(s));
}

// `n` bytes of `bb` from `offset` (a few, here), leaving `bb` as it was.
[[nodiscard]] absl::StatusOr<std::string> Peek(Brigade& bb, uint64_t offset, size_t n) {
  absl::StatusOr<Brigade> from = bb.SplitAtOffset(offset);
  if (!from.ok()) return from.status();
  absl::StatusOr<Brigade> after = from->SplitAtOffset(n);
  if (!after.ok()) return after.status();
  absl::StatusOr<std::string> bytes = from->FlattenToString(n);
  bb.Concat(*from);
  bb.Concat(*after);
  return bytes;
}

}  // namespace

Task<Outcome> EchoSpooled(Request& r) {
  Spool spool(r.allocator(), r.body_buffer_size, r.body_temp_dir);
  while (!r.body_done()) {
    Brigade piece(r.allocator());
    absl::StatusOr<size_t> n = co_await r.ReadBody(piece, kPiece);
    if (!n.ok()) co_return Outcome::Status(HttpStatusFor(n.status()));
    if (absl::Status s = spool.Append(piece); !s.ok()) co_return Outcome::Status(500);
  }
  SetEchoType(r);
  co_return co_await SendLast(r, spool.Take());
}

Task<Outcome> EchoStream(Request& r) {
  SetEchoType(r);
  while (true) {
    Brigade bb(r.allocator());
    absl::StatusOr<size_t> n = co_await r.ReadBody(bb, kPiece);
    if (!n.ok()) co_return Outcome::Status(HttpStatusFor(n.status()));
    if (r.body_done() && *n == 0) break;
    // An echo is a conversation: what arrived goes back now, through every filter.
    bb.Append(Bucket::Flush(r.allocator()));
    if (absl::Status s = co_await r.Send(bb); !s.ok()) {
      co_return Outcome::Status(HttpStatusFor(s));
    }
  }
  co_return co_await SendLast(r, Brigade(r.allocator()));
}


Task<Outcome> EchoLines(Connection& c) {
  EmptyLineScanner scanner;
  Brigade held(c.allocator());  // a line-start '\r' that may begin the empty line
  while (true) {
    Brigade piece(c.allocator());
    absl::Status s = co_await c.Read(piece, filters::ReadMode::kGetLine, kPiece);
    if (!s.ok()) co_return Outcome::Status(HttpStatusFor(s));
    bool eos = piece.ends_with_eos();
    if (eos) piece.Delete(piece.back());
    held.Concat(piece);
    piece = std::move(held);
    held = Brigade(c.allocator());
    // Only a line's first bytes and a piece's last byte matter: those few are looked at, the
    // rest passes untouched.
    uint64_t length = piece.Length().value_or(0);
    size_t head = static_cast<size_t>(std::min<uint64_t>(length, 2));
    absl::StatusOr<std::string> start = Peek(piece, 0, head);
    if (!start.ok()) co_return Outcome::Status(500);
    EmptyLineScanner::Result found = scanner.Scan(*start);
    if (found.ended) co_return Outcome::Ok();
    if (scanner.held()) {  // "\r" alone so far
      if (eos) co_return Outcome::Ok();
      piece.Setaside();
      held = std::move(piece);
      continue;
    }
    if (length > head) {
      absl::StatusOr<std::string> last = Peek(piece, length - 1, 1);
      if (!last.ok()) co_return Outcome::Status(500);
      scanner.Scan(*last == "\n" ? "\n" : "x");  // mid-line: only the line-start state moves
    }
    piece.Append(Bucket::Flush(c.allocator()));
    if (absl::Status w = co_await c.Send(piece); !w.ok()) co_return Outcome::Status(500);
    if (eos) co_return Outcome::Ok();
  }
}

Task<Outcome> EchoLinesOnSocket(Connection& c) {
  EmptyLineScanner scanner;
  std::string data;  // held '\r' + what was read; written back before the next read
  char buf[16 * 1024];
  while (true) {
    ssize_t n = read(c.socket, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      co_await c.Readable();
      continue;
    }
    if (n <= 0) co_return n == 0 ? Outcome::Ok() : Outcome::Status(500);
    data.append(buf, static_cast<size_t>(n));
    EmptyLineScanner::Result found = scanner.Scan(data);
    size_t done = 0;
    while (done < found.echo) {
      ssize_t w = write(c.socket, data.data() + done, found.echo - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        co_await c.Writable();
        continue;
      }
      if (w < 0) co_return Outcome::Status(500);
      done += static_cast<size_t>(w);
    }
    if (found.ended) co_return Outcome::Ok();
    data.erase(0, found.echo);  // the held '\r', if any
  }
}

}  // namespace brigade::handlers
