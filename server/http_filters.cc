#include "server/http_filters.h"

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "handlers/request.h"

namespace brigade::server {

// --- HTTP_IN ---

absl::Status HttpInFilter::Read(Brigade& out, filters::ReadMode mode, BlockMode block,
                                size_t readbytes) {
  if (mode == filters::ReadMode::kInit) return absl::OkStatus();
  if (remaining_.has_value() && *remaining_ == 0) {
    finished_ = true;
    out.Append(Bucket::Eos(out.allocator()));
    return absl::OkStatus();
  }
  if (send_continue_ && !continue_sent_) {
    continue_sent_ = true;
    if (absl::Status s = send_continue_(); !s.ok()) return s;
  }
  if (!remaining_.has_value()) {  // chunked: DECHUNK above decides where the body ends
    absl::Status s = ReadNext(out, mode, block, readbytes);
    if (s.ok() && out.ends_with_eos()) finished_ = true;
    return s;
  }
  size_t want = static_cast<size_t>(std::min<uint64_t>(*remaining_, readbytes));
  Brigade got(out.allocator());
  absl::Status s = ReadNext(got, filters::ReadMode::kReadBytes, block, want);
  if (!s.ok()) return s;
  if (got.ends_with_eos()) {
    return absl::InvalidArgumentError(absl::StrCat("request body ended after ", read_, " of ",
                                                   read_ + *remaining_, " bytes"));
  }
  uint64_t n = got.Length().value_or(0);
  *remaining_ -= n;
  read_ += n;
  out.Concat(got);
  return absl::OkStatus();
}

// --- HTTP_HEADER ---

BucketPtr HttpHeaderFilter::Head(BucketAllocator* alloc) {
  filters::Exchange& ex = exchange();
  filters::HeaderMap& h = ex.response_headers;
  bool no_body = ex.status < 200 || ex.status == 204 || ex.status == 304;
  if (no_body) {
    h.Remove("Content-Length");
    h.Remove("Transfer-Encoding");
  } else if (!h.Has("Content-Length") && !h.Has("Transfer-Encoding") && !ex.is_head()) {
    framing_->keep_alive = false;  // close-delimited: the end of the body is the close
  }
  // After these the connection's state is in doubt (Apache's ap_status_drops_connection).
  switch (ex.status) {
    case 400: case 408: case 411: case 413: case 414: case 417: case 431: case 500: case 501:
    case 503: case 505:
      framing_->keep_alive = false;
      break;
    default:
      break;
  }
  if (!framing_->keep_alive) {
    h.Set("Connection", "close");
  } else if (filters::IsLiteral(ex.protocol, "HTTP/1.0")) {
    h.Set("Connection", "keep-alive");
  }
  absl::string_view reason = handlers::ReasonPhrase(ex.status);
  if (reason.empty()) reason = "Unknown";
  absl::AlphaNum status(ex.status);
  absl::string_view code = status.Piece();
  // Date and Server go into the head after the response's fields, not into the map (as Apache's
  // basic_http_header writes them): a Date the response has is replaced, a Server kept.
  char date_text[29];
  absl::string_view date = handlers::HttpDate(time(nullptr), date_text);
  auto named = [](const filters::HeaderMap::Field& f, absl::string_view name) {
    return filters::FieldNamesEqual(f.first, name);
  };
  bool has_server = false;
  size_t size = 9 + code.size() + 1 + reason.size() + 2 + 2;  // "HTTP/1.1 " code " " reason CRLF CRLF
  for (const filters::HeaderMap::Field& f : h) {
    if (named(f, "Date")) continue;
    if (named(f, "Server")) has_server = true;
    size += f.first.size() + f.second.size() + 4;
  }
  size += 6 + date.size() + 2;                           // "Date: " date CRLF
  if (!has_server) size += 8 + server_name_.size() + 2;  // "Server: " name CRLF
  // Written straight into a block of the connection's allocator: no allocation, no copy.
  Ref<HeapBlock> block = alloc->AllocateBlock(size);
  char* at = block->data();
  auto put = [&at](absl::string_view piece) {
    memcpy(at, piece.data(), piece.size());
    at += piece.size();
  };
  put("HTTP/1.1 ");
  put(code);
  put(" ");
  put(reason);
  put("\r\n");
  for (const filters::HeaderMap::Field& f : h) {
    if (named(f, "Date")) continue;
    put(f.first);
    put(": ");
    put(f.second);
    put("\r\n");
  }
  put("Date: ");
  put(date);
  put("\r\n");
  if (!has_server) {
    put("Server: ");
    put(server_name_);
    put("\r\n");
  }
  put("\r\n");
  block->Commit(size);
  drop_body_ = no_body || ex.is_head();
  return Bucket::Heap(alloc, std::move(block), 0, size);
}

void HttpHeaderFilter::DropData(Brigade& bb) {
  for (Bucket* b = bb.front(); b != nullptr;) {
    Bucket* next = bb.Next(b);
    if (!b->is_metadata()) bb.Delete(b);
    b = next;
  }
}

absl::StatusOr<filters::Flow> HttpHeaderFilter::Filter(Brigade& bb) {
  if (bb.empty()) return PassNext(bb);
  if (!framing_->header_sent) {
    framing_->header_sent = true;
    BucketPtr head = Head(bb.allocator());
    framing_->header_bytes = head->length();
    if (drop_body_) DropData(bb);
    bb.Prepend(std::move(head));
    // With a body to send there is nothing more to do here; without one, stay to drop it.
    if (!drop_body_) RemoveSelf();
    return PassNext(bb);
  }
  DropData(bb);
  return PassNext(bb);
}

// --- CORE_OUT ---

void CoreOutputFilter::Count(uint64_t n) {
  written_ += n;
  if (progress_ != nullptr) progress_->bytes_written += n;
}

uint64_t CoreOutputFilter::HeldMemory() const {
  uint64_t memory = 0;
  for (const Bucket& b : *pending_) {
    if (b.is_memory()) memory += b.length();
  }
  return memory;
}

absl::Status CoreOutputFilter::WriteMemory(struct iovec* iov, size_t count, uint64_t bytes,
                                          bool more, uint64_t* done) {
  *done = 0;
  while (*done < bytes) {
    // With a file to follow (a head before its body), MSG_MORE lets the kernel put both in the
    // same segment instead of sending the head alone (nginx and Apache cork for this).
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = count;
    ssize_t n = more ? sendmsg(fd_, &msg, MSG_MORE | MSG_NOSIGNAL)
                     : writev(fd_, iov, static_cast<int>(count));
    if (n < 0 && errno == ENOTSOCK) {
      more = false;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return absl::UnavailableError("CORE_OUT: socket full");
    }
    if (n < 0) return internal::ErrnoStatus(errno, "writev");
    *done += static_cast<uint64_t>(n);
    round_written_ += static_cast<uint64_t>(n);
    Count(static_cast<uint64_t>(n));
    // Resume a partial write: drop what went out from the front of the iovecs.
    size_t left = static_cast<size_t>(n);
    while (count > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return absl::OkStatus();
}

absl::Status CoreOutputFilter::SendFile(Bucket* b, uint64_t* budget) {
  while (b->length() > 0) {
    if (*budget == 0) return absl::UnavailableError("CORE_OUT: this round's file slice is sent");
    off_t offset = static_cast<off_t>(b->file_offset());
    ssize_t n = sendfile(fd_, b->file()->fd(), &offset, std::min<uint64_t>(b->length(), *budget));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return absl::UnavailableError("CORE_OUT: socket full");
    }
    if (n < 0) return internal::ErrnoStatus(errno, "sendfile");
    if (n == 0) return absl::DataLossError("file ended before its bucket did (sendfile)");
    b->ConsumeFront(static_cast<uint64_t>(n));  // the bucket always holds what is left to send
    Count(static_cast<uint64_t>(n));
    *budget -= static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

absl::Status CoreOutputFilter::WriteAll() {
  // Unavailable (the socket is full) leaves the rest held; other errors fail the response.
  auto held = [](const absl::Status& s) { return absl::IsUnavailable(s) ? absl::OkStatus() : s; };
  uint64_t file_budget = kFileSlice;
  while (!pending_->empty()) {
    Bucket* b = pending_->front();
    if (b->is_metadata() || (b->is_memory() && b->length() == 0)) {
      // A metadata bucket at the front: everything before it has left the socket.
      if (b->is_eos() && progress_ != nullptr) progress_->eos_written = true;
      pending_->Delete(b);
      continue;
    }
    if (b->is_file()) {
      absl::Status s = SendFile(b, &file_budget);
      if (!s.ok()) return held(s);
      pending_->Delete(b);
      continue;
    }
    if (b->is_source()) {
      absl::StatusOr<absl::string_view> v = b->Read(BlockMode::kNonBlock);
      if (absl::IsUnavailable(v.status())) return absl::OkStatus();
      if (!v.ok()) return v.status();
      continue;
    }
    iovec iov[64];
    Brigade::IovecExport e = pending_->ToIovec(iov, 64);
    bool file_follows = e.stop != nullptr && e.stop->is_file();
    uint64_t done = 0;
    absl::Status s = WriteMemory(iov, e.count, e.bytes, file_follows, &done);
    if (done == e.bytes) {
      // All of it went (the usual case): every bucket before the first one not exported goes,
      // with the metadata among them, which the export passed over. No split, no new brigade.
      for (Bucket* f = pending_->front(); f != e.stop; f = pending_->front()) {
        if (f->is_eos() && progress_ != nullptr) progress_->eos_written = true;
        pending_->Delete(f);
      }
    } else {
      absl::StatusOr<Brigade> rest = pending_->SplitAtOffset(done);
      if (!rest.ok()) return rest.status();
      *pending_ = std::move(*rest);
    }
    if (!s.ok()) return held(s);
  }
  return absl::OkStatus();
}

absl::StatusOr<filters::Flow> CoreOutputFilter::Filter(Brigade& bb) {
  if (!pending_) pending_ = std::make_unique<Brigade>(bb.allocator());
  bool write_now = false;
  for (const Bucket& b : bb) {
    if (b.is_metadata() || b.is_file() || b.is_source()) write_now = true;
    if (b.is_error()) return absl::AbortedError("response aborted: " + b.error_message());
  }
  bb.Setaside();
  pending_->Concat(bb);
  if (!write_now && pending_->Length().value_or(0) < kHoldBytes) return filters::Flow::kDone;
  if (absl::Status s = WriteAll(); !s.ok()) return s;
  if (!has_pending()) return round_spent() ? filters::Flow::kAgain : filters::Flow::kDone;
  if (HeldMemory() > kMaxHeldMemory) {
    return absl::InternalError(absl::StrCat(
        "CORE_OUT: ", HeldMemory(), " bytes held for a full socket: a producer ignored kAgain"));
  }
  // The socket is full: producers hold back until the event loop resumes them.
  return filters::Flow::kAgain;
}

absl::Status CoreOutputFilter::Flush() {
  if (!pending_) return absl::OkStatus();
  return WriteAll();
}

// --- TYPE_GATE ---

absl::StatusOr<filters::Flow> TypeGateFilter::Filter(Brigade& bb) {
  if (bb.empty()) return PassNext(bb);
  absl::string_view content_type = exchange().response_headers.Get("Content-Type").value_or("");
  std::string type = absl::AsciiStrToLower(
      absl::StripAsciiWhitespace(content_type.substr(0, content_type.find(';'))));
  bool match = false;
  for (const std::string& t : types_) {
    if (t == type || (absl::EndsWith(t, "/*") && absl::StartsWith(type, t.substr(0, t.size() - 1)))) {
      match = true;
    }
  }
  if (match) chain_->Add((*make_)());
  RemoveSelf();
  return PassNext(bb);
}

}  // namespace brigade::server
