// The HTTP/1.1 protocol and network filters brigaded puts around every request:
//
//   input:  ... → HTTP_IN [protocol] → CORE_IN [network]
//   output: ... → CONTENT_LENGTH → CHUNK → HTTP_HEADER [transcode, last] → CORE_OUT [network]
//
// HTTP_IN delimits a request body (Content-Length bytes, or what DECHUNK above it decodes) and
// sends "100 Continue" the first time the body is read, if the client asked. HTTP_HEADER
// writes the status line and header fields before the first body byte, once every filter
// above has had its say about them, and drops the body of HEAD, 204 and 304 responses. CORE_OUT
// writes to the socket with writev (contiguous views merged, at most 64 iovecs a call) and
// sendfile for file buckets, resuming partial writes; it holds small writes until 16 KiB, a
// FLUSH, EOS or a file bucket arrives. It never blocks: when the socket is full it keeps the
// rest (set aside; a file bucket's remainder costs no memory) and answers kAgain, so producers
// hold back until the event loop sees the socket writable and the connection resumes them.
// TYPE_GATE adds a filter for AddOutputFilterByType once the response's type is known.
//
// Thread-safety: none; one set per connection/request on the worker's thread.

#ifndef SERVER_HTTP_FILTERS_H_
#define SERVER_HTTP_FILTERS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "brigade/requires.h"
#include "filters/filter.h"
#include "filters/registry.h"

namespace brigade::server {

class HttpInFilter : public filters::InputFilter {
 public:
  // `length`: the Content-Length, or nullopt for a chunked body (decoded above this filter).
  // `send_continue`: called once, before the first read from the client, when not null.
  HttpInFilter(std::optional<uint64_t> length, std::function<absl::Status()> send_continue)
      : InputFilter("HTTP_IN", filters::FilterKind::kProtocol) {
    Restart(length, std::move(send_continue));
  }
  // Readies a borrowed instance (InputChain::AddBorrowed) for the next request's body, as
  // HttpInFilter(length, send_continue) would be.
  void Restart(std::optional<uint64_t> length, std::function<absl::Status()> send_continue) {
    remaining_ = length;
    send_continue_ = std::move(send_continue);
    continue_sent_ = false;
    finished_ = length == uint64_t{0};
    read_ = 0;
  }
  [[nodiscard]] absl::Status Read(Brigade& out, filters::ReadMode mode, BlockMode block,
                                  size_t readbytes) override;
  // True once the body was read to its end; from the start for a body of length 0, so that no
  // read is spent on discarding it.
  bool finished() const { return finished_; }
  bool continue_sent() const { return continue_sent_; }

 private:
  std::optional<uint64_t> remaining_;
  std::function<absl::Status()> send_continue_;
  bool continue_sent_ = false;
  bool finished_ = false;
  uint64_t read_ = 0;
};

// What HTTP_HEADER needs to know of the connection, and tells back.
struct ResponseFraming {
  bool keep_alive = true;     // in: the request allows it; out: the response allows it too
  uint64_t header_bytes = 0;  // out: bytes of status line and fields
  bool header_sent = false;   // out
};

class HttpHeaderFilter : public filters::OutputFilter {
 public:
  // REQUIRES: `framing` outlives the filter.
  HttpHeaderFilter(ResponseFraming* framing, std::string server_name)
      : OutputFilter("HTTP_HEADER", filters::FilterKind::kTranscode),
        framing_(framing),
        server_name_(std::move(server_name)) {}
  [[nodiscard]] absl::StatusOr<filters::Flow> Filter(Brigade& bb) override;
  filters::FilterTraits traits() const override { return {.needs_bytes = false}; }
  // Readies a borrowed instance (OutputChain::AddBorrowed) for the next response, as new.
  void Restart() { drop_body_ = false; }

 private:
  // Finalizes the header fields and returns the serialized head in a bucket of `alloc`'s;
  // decides drop_body_.
  BucketPtr Head(BucketAllocator* alloc);
  static void DropData(Brigade& bb);
  bool drop_body_ = false;  // HEAD, 1xx, 204, 304: the head goes out, the body does not
  ResponseFraming* framing_;
  std::string server_name_;
};

// What CORE_OUT tells the request whose response it is writing.
struct ResponseProgress {
  uint64_t bytes_written = 0;  // bytes of this response (head included) that left the socket
  bool eos_written = false;    // everything up to the response's EOS left the socket
};

class CoreOutputFilter : public filters::OutputFilter {
 public:
  explicit CoreOutputFilter(int fd) : OutputFilter("CORE_OUT", filters::FilterKind::kNetwork), fd_(fd) {}
  [[nodiscard]] absl::StatusOr<filters::Flow> Filter(Brigade& bb) override;
  filters::FilterTraits traits() const override {
    return {.needs_bytes = false, .max_buffered_bytes = kMaxHeldMemory};
  }
  uint64_t bytes_written() const { return written_; }

  // Where the bytes and the EOS of the response being written are counted; null: nowhere.
  // REQUIRES: `progress` outlives its response (reset it between responses).
  void set_progress(ResponseProgress* progress) { progress_ = progress; }
  // Writes what it can of what is held, without blocking; the rest stays held.
  [[nodiscard]] absl::Status Flush();
  bool has_pending() const { return pending_ && !pending_->empty(); }
  // Writes to `fd` from here on, counting from zero, with no progress set.
  // REQUIRES: !has_pending().
  void Rebind(int fd) {
    BRIGADE_REQUIRES(!has_pending());
    fd_ = fd;
    written_ = 0;
    progress_ = nullptr;
  }

  static constexpr uint64_t kHoldBytes = 16 * 1024;
  // The most file bytes one write of what is held sends, even to a socket that takes more:
  // then the connection waits for the loop's next round, so that one fast download cannot
  // keep its worker from the other connections (nginx's sendfile_max_chunk).
  static constexpr uint64_t kFileSlice = 2 * 1024 * 1024;
  // The same for memory (what filters produce: gzip, REVERSE, an echo): past this many bytes
  // written in one round, producers are told to wait (kAgain) for the next round even when
  // the socket takes more. Without it, DEFLATE over a file fills a 4 MiB send buffer in one
  // go, and 200 such connections starting together kept a plain GET waiting 4 s.
  static constexpr uint64_t kRoundBytes = 64 * 1024;

  // The loop's next round began for this connection: the memory budget starts again.
  void NewRound() { round_written_ = 0; }
  // True when this round's memory budget is spent: wait for the socket's (level-triggered,
  // so immediate) writability before producing more.
  bool round_spent() const { return round_written_ >= kRoundBytes; }
  // Past this much memory held for a full socket, a producer is ignoring kAgain: the response
  // fails (Internal) instead of growing the buffer or blocking the worker.
  static constexpr uint64_t kMaxHeldMemory = 4 * 1024 * 1024;

 private:
  [[nodiscard]] absl::Status WriteAll();
  uint64_t HeldMemory() const;
  // EAGAIN stops the write: Unavailable, which WriteAll maps to "the rest stays held".
  [[nodiscard]] absl::Status WriteMemory(struct iovec* iov, size_t count, uint64_t bytes, bool more,
                                         uint64_t* done);
  // Sends at most `*budget` bytes of the file range, lowering the budget; Unavailable when
  // the socket is full or the budget is spent.
  [[nodiscard]] absl::Status SendFile(Bucket* b, uint64_t* budget);
  void Count(uint64_t n);

  int fd_;
  std::unique_ptr<Brigade> pending_;
  uint64_t written_ = 0;
  uint64_t round_written_ = 0;  // memory bytes written since NewRound
  ResponseProgress* progress_ = nullptr;
};

// Adds the filter `make` makes below itself when the response's media type is one of `types`,
// then leaves the chain.
class TypeGateFilter : public filters::OutputFilter {
 public:
  using Maker = std::function<std::unique_ptr<filters::OutputFilter>()>;
  // REQUIRES: `chain` and `make` outlive the filter.
  TypeGateFilter(filters::OutputChain* chain, const Maker* make, std::vector<std::string> types)
      : OutputFilter("TYPE_GATE", filters::FilterKind::kResource),
        chain_(chain),
        make_(make),
        types_(std::move(types)) {}
  [[nodiscard]] absl::StatusOr<filters::Flow> Filter(Brigade& bb) override;
  filters::FilterTraits traits() const override { return {.needs_bytes = false}; }

 private:
  filters::OutputChain* chain_;
  const Maker* make_;
  std::vector<std::string> types_;
};

}  // namespace brigade::server

#endif  // SERVER_HTTP_FILTERS_H_
