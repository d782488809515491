// The filter contract: output filters (push) and input filters (pull), their kinds, modes and
// flow results. Chains (chain.h) own filter instances and call them.
//
// The rules every filter keeps (after Apache's "ten rules" for filter writers):
//   1. Tolerate empty brigades and one-byte buckets; never assume one call per response.
//   2. Pass every metadata bucket (FLUSH, EOS, ERROR) on, in order relative to the data.
//   3. On FLUSH, pass on everything buffered so far, before the FLUSH.
//   4. After EOS, pass nothing more (the chain reports a filter that does as an error).
//   5. Keep a bounded amount buffered (declare the bound in traits()), and Setaside() whatever
//      is kept past the call — TRANSIENT buckets die when the call returns.
//   6. Return the downstream Status and Flow unchanged unless handling them; never drop one.
//   7. Read file buckets only when the bytes are needed; a filter that only inspects metadata
//      or headers passes file buckets on untouched, so sendfile survives.
//   8. Report bad input as a Status whose message names the filter and the offset.
// Backpressure: an output filter returns Flow::kAgain when the network could not take more;
// it must then have set aside what it still holds, and it is called again with an empty brigade
// when the connection drains (DESIGN.md section 7).
//
// Example (a pass-through output filter that counts bytes):
//   class CountFilter : public OutputFilter {
//    public:
//     CountFilter() : OutputFilter("COUNT", FilterKind::kContentSet) {}
//     absl::StatusOr<Flow> Filter(Brigade& bb) override {
//       bytes_ += bb.Length().value_or(0);
//       return PassNext(bb);
//     }
//     FilterTraits traits() const override { return {.needs_bytes = false}; }
//    private:
//     uint64_t bytes_ = 0;   // per-instance context lives in members
//   };
//
// Thread-safety: none; a filter instance belongs to its connection's thread.

#ifndef FILTERS_FILTER_H_
#define FILTERS_FILTER_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "brigade/brigade.h"
#include "filters/exchange.h"

namespace brigade::filters {

// Chain order, from the handler towards the network (Apache's filter types).
enum class FilterKind : int {
  kResource = 10,    // changes the resource's content (REVERSE)
  kContentSet = 20,  // content codings (DEFLATE, INFLATE)
  kProtocol = 30,    // HTTP message framing (CONTENT_LENGTH, DECHUNK)
  kTranscode = 40,   // transfer codings (CHUNK)
  kConnection = 50,  // per-connection, e.g. TLS
  kNetwork = 60,     // the socket (CORE_OUT, CORE_IN)
};

absl::string_view FilterKindName(FilterKind kind);

// What an output filter tells its caller about the stream.
enum class Flow {
  kDone,   // everything passed on (or legitimately held, e.g. a partial line)
  kAgain,  // the network would block: the filter set aside what it holds; call again later
};

// What an input filter is asked for.
enum class ReadMode {
  kReadBytes,    // at most `readbytes` bytes (at least one, or EOS, in BLOCK mode)
  kGetLine,      // one line up to and including '\n', at most `readbytes` bytes
  kEatCrlf,      // consume CR and LF bytes between pipelined requests; return nothing
  kSpeculative,  // like kReadBytes, but leave the bytes to be read again
  kExhaustive,   // everything up to the end of input, then EOS
  kInit,         // connection set-up (e.g. a handshake); return nothing
};

absl::string_view ReadModeName(ReadMode mode);

// What a filter declares for the pipeline report (chain.h).
struct FilterTraits {
  bool needs_bytes = true;          // reads bytes into memory (false: file ranges pass untouched)
  bool preserves_flush = true;      // passes FLUSH on with everything before it
  uint64_t max_buffered_bytes = 0;  // the most it holds between calls
};

class OutputChain;
class InputChain;

// State the chains keep in every filter: name, kind, place and lifecycle.
//
// Errors are Statuses. An exception that escapes Init, Filter or Read is a bug in that filter:
// the chain stops it at the filter's call and turns it into that call's error (Internal,
// "filter 'NAME' threw: WHAT"), so that it fails one stream and never the thread; the filter
// is not called again for that stream, and is destroyed with its chain.
class FilterBase {
 public:
  FilterBase(const FilterBase&) = delete;
  FilterBase& operator=(const FilterBase&) = delete;
  virtual ~FilterBase() = default;

  const std::string& name() const { return name_; }
  FilterKind kind() const { return kind_; }
  virtual FilterTraits traits() const { return FilterTraits(); }

  // Called once, before the first brigade. A non-OK Status fails that first call.
  [[nodiscard]] virtual absl::Status Init() { return absl::OkStatus(); }

 protected:
  FilterBase(std::string name, FilterKind kind) : name_(std::move(name)), kind_(kind) {}
  // The message this filter is part of (never null while in a chain).
  Exchange& exchange() const { return *exchange_; }

 private:
  template <typename T>
  friend class ChainCore;
  friend class OutputChain;
  friend class InputChain;
  std::string name_;
  FilterKind kind_;
  Exchange* exchange_ = nullptr;  // set by the chain on insertion
  bool initialized_ = false;
  bool removed_ = false;  // RemoveSelf() during a call: erased when the call returns
  bool saw_eos_ = false;  // output: EOS passed through; input: EOS returned
  bool threw_ = false;    // an exception escaped a call: its state is not to be trusted
  bool borrowed_ = false;  // the chain does not own it: it stays through Restart
  int depth_ = 0;         // calls into this filter on the stack
  size_t index_ = 0;      // position in the chain's order, for O(1) next-filter lookup
};

class OutputFilter : public FilterBase {
 public:
  // Receives the next part of the stream. The filter takes what it needs out of `bb` and
  // passes brigades on with PassNext(); on an OK return `bb` is empty (what it held was passed
  // on or set aside), else the call fails with Internal.
  [[nodiscard]] virtual absl::StatusOr<Flow> Filter(Brigade& bb) = 0;
  // The stream's output has waited a while for the client to take it (brigaded: a second in
  // which the client took none of it): the filter may give back memory it can
  // rebuild, at some cost, when output resumes (DEFLATE: its compressor's window and tables).
  // Called between Filter calls (OutputChain::NotifyStalled), never during one; what it
  // produces waits for the next Filter call. The default holds on to everything.
  virtual void OnStalled() {}

 protected:
  using FilterBase::FilterBase;
  // Passes `bb` to the next filter down the chain (or the connection chain below).
  [[nodiscard]] absl::StatusOr<Flow> PassNext(Brigade& bb);
  // Takes this filter out of the chain; the stream goes on through the rest. Safe inside Filter().
  void RemoveSelf();

 private:
  friend class OutputChain;
  OutputChain* chain_ = nullptr;
};

class InputFilter : public FilterBase {
 public:
  // Fills `out` (appending) according to `mode`, `block` and `readbytes`.
  // NONBLOCK with nothing ready → Unavailable; end of input → an EOS bucket.
  [[nodiscard]] virtual absl::Status Read(Brigade& out, ReadMode mode, BlockMode block,
                                          size_t readbytes) = 0;

 protected:
  using FilterBase::FilterBase;
  // Reads from the next filter towards the network.
  [[nodiscard]] absl::Status ReadNext(Brigade& out, ReadMode mode, BlockMode block,
                                      size_t readbytes);
  void RemoveSelf();

 private:
  friend class InputChain;
  InputChain* chain_ = nullptr;
};

}  // namespace brigade::filters

#endif  // FILTERS_FILTER_H_
