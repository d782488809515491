// OutputChain and InputChain: ordered filter instances for one request or one connection.
//
// A server's chains keep kind order (filter.h): a filter is inserted before the first filter of a
// higher kind, so filters of one kind keep the order they were added in. A request's chain may
// sit above its connection's chain (`below`): filters of kind kConnection and kNetwork added to
// the request chain go to the connection chain, and the stream continues into it after the
// request's last filter. A chain made with ChainOrder::kAsAdded (brigade-filter's) keeps its
// filters in the order added, whatever their kinds, and sends none below.
//
// Filters may be added while a response is running and may remove themselves from inside
// their own call; the stream then continues through the rest of the chain.
//
// The chain checks the contract where it can: a brigade passed to a filter after EOS, or a
// filter that returns OK but leaves buckets in the brigade it was given (data silently
// dropped), is an Internal error naming the filter.
//
// Thread-safety: none; a chain belongs to its connection's thread.

#ifndef FILTERS_CHAIN_H_
#define FILTERS_CHAIN_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "filters/filter.h"

namespace brigade::filters {

enum class ChainOrder {
  kByKind,   // filters sorted by kind (servers)
  kAsAdded,  // filters in the order added (a tool's stream of stages)
};

// What a chain promises end to end (from FilterTraits).
struct PipelineReport {
  struct Entry {
    std::string name;
    FilterKind kind;
    FilterTraits traits;
    bool input = false;  // an input filter (run as a stage of the stream)
    std::string note;    // when it applies, if not always (e.g. "only for text/html")
  };
  std::vector<Entry> filters;       // in chain order, connection filters included
  bool zero_copy = true;            // no filter needs bytes in memory: sendfile survives
  bool preserves_flush = true;      // every filter passes FLUSH on with what it holds
  uint64_t max_buffered_bytes = 0;  // worst case held by the chain between calls

  // Appends an entry and folds its traits into the summary.
  void Add(Entry entry);
  // The first filter that needs bytes in memory, or null.
  const Entry* FirstNeedingBytes() const;
  // One line per filter, then "zero-copy: yes" or "zero-copy: no (NAME needs bytes in
  // memory)", then "worst-case buffered: N bytes"; every line ends in '\n'.
  std::string Format() const;
  std::string DebugString() const;
};

// How a chain holds a filter: it deletes the filters it owns, not those it borrows.
template <typename T>
struct FilterDeleter {
  bool owned = true;
  void operator()(T* filter) const {
    if (owned) delete filter;
  }
};
template <typename T>
using HeldFilter = std::unique_ptr<T, FilterDeleter<T>>;

// Shared list mechanics of both chain directions. Internal to chain.cc and filter callers.
template <typename T>
class ChainCore {
 public:
  ChainCore(Exchange* exchange, ChainOrder order) : exchange_(exchange), order_kind_(order) {}
  ChainOrder order() const { return order_kind_; }
  T* Insert(HeldFilter<T> filter);
  // Erases `filter` now, or when its running call returns; a borrowed one only leaves the
  // stream, and comes back with Restart.
  void Remove(T* filter);
  // Deletes the owned filters, drops the borrowed ones' removals and readies them for a new
  // stream (not yet initialized, no EOS seen). REQUIRES: no call under way.
  void Restart();
  // The first live filter, or the first live one after `filter`; null at the end.
  T* First() const;
  T* After(const T* filter) const;
  [[nodiscard]] absl::Status Enter(T* filter);
  void Leave(T* filter);
  std::vector<const T*> Live() const;
  // How many filters the chain holds (one being removed counts until it is gone; a borrowed
  // one that removed itself, until Restart).
  size_t size() const { return filters_.size(); }
  Exchange* exchange() const { return exchange_; }

 private:
  // Renumbers the filters' index_ from position `from` on, after an insertion or erasure.
  void Reindex(size_t from);
  // The filter's first call: Init(), its error prefixed with the filter's name.
  [[gnu::cold, gnu::noinline]] static absl::Status Init(T* filter);

  static constexpr size_t kInitialFilters = 8;

  // Owns the filters, in chain order; a request's chain fits inline (no allocation but the
  // filters').
  absl::InlinedVector<HeldFilter<T>, kInitialFilters> filters_;
  Exchange* exchange_;
  ChainOrder order_kind_;
};

class OutputChain {
 public:
  // REQUIRES: `exchange` and `below` (when not null) outlive the chain.
  explicit OutputChain(Exchange* exchange, OutputChain* below = nullptr,
                       ChainOrder order = ChainOrder::kByKind)
      : core_(exchange, order), below_(below) {}
  OutputChain(const OutputChain&) = delete;
  OutputChain& operator=(const OutputChain&) = delete;

  // Inserts (by kind, or last) and returns the instance, owned by the chain (or the chain below).
  OutputFilter* Add(std::unique_ptr<OutputFilter> filter);
  // Inserts a filter the chain does not own, as a server inserts its protocol filters once
  // for all the requests a record carries. A borrowed filter stays last among the filters of
  // its kind (one added later goes before it), and stays in the chain through Restart:
  // RemoveSelf takes it out of the stream only until then. Its own state is its owner's to
  // reset between streams. REQUIRES: `filter` outlives the chain, is new (never called) and
  // in no other chain.
  OutputFilter* AddBorrowed(OutputFilter* filter);
  // REQUIRES: `filter` is in this chain.
  void Remove(OutputFilter* filter);
  // Readies the chain for another stream, as if only its borrowed filters had been added:
  // deletes the filters it owns and brings back the borrowed ones that removed themselves.
  // Filters it placed in the chain below are that chain's. REQUIRES: no call under way.
  void Restart() { core_.Restart(); }
  // Sends the stream on into `below` from now on (a record moved to another connection).
  // REQUIRES: no call under way; `below` outlives the chain.
  void set_below(OutputChain* below) { below_ = below; }

  // Passes `bb` to the first filter. On OK, `bb` is empty.
  [[nodiscard]] absl::StatusOr<Flow> Pass(Brigade& bb);
  // Tells every filter here and below that the output is stalled (OutputFilter::OnStalled).
  // A filter that throws there is not called again for this stream: its next call fails.
  void NotifyStalled();

  // Filter names in chain order, including the chain below.
  std::vector<std::string> Names() const;
  // How many filters this chain holds, not counting the chain below.
  size_t size() const { return core_.size(); }
  PipelineReport Report() const;

  // A connection's chain carries one response after another: there EOS ends a response, not
  // the chain, so the check for data after EOS is left to the request chains above it.
  void set_connection_level(bool on) { connection_level_ = on; }

 private:
  friend class OutputFilter;
  // Inserts here, or in the chain below for its kinds; Add and AddBorrowed say who owns it.
  OutputFilter* Place(HeldFilter<OutputFilter> filter);
  [[nodiscard]] absl::StatusOr<Flow> Call(OutputFilter* filter, Brigade& bb);
  // Enters `filter` and runs it; what it throws becomes its stream's error.
  [[nodiscard]] absl::StatusOr<Flow> Run(OutputFilter* filter, Brigade& bb);
  [[nodiscard]] absl::StatusOr<Flow> PassAfter(const OutputFilter* filter, Brigade& bb);
  void AppendReport(PipelineReport& report) const;

  ChainCore<OutputFilter> core_;
  OutputChain* below_;
  bool connection_level_ = false;
};

class InputChain {
 public:
  // REQUIRES: `exchange` and `below` (when not null) outlive the chain.
  explicit InputChain(Exchange* exchange, InputChain* below = nullptr,
                      ChainOrder order = ChainOrder::kByKind)
      : core_(exchange, order), below_(below) {}
  InputChain(const InputChain&) = delete;
  InputChain& operator=(const InputChain&) = delete;

  InputFilter* Add(std::unique_ptr<InputFilter> filter);
  // As OutputChain::AddBorrowed.
  InputFilter* AddBorrowed(InputFilter* filter);
  void Remove(InputFilter* filter);
  // As OutputChain::Restart; end of input may be reported again.
  void Restart() {
    core_.Restart();
    eos_delivered_ = false;
  }
  // As OutputChain::set_below.
  void set_below(InputChain* below) { below_ = below; }

  // Reads through the chain from the top. End of input is reported once, as an EOS bucket;
  // every read after that is OutOfRange ("end of input"), whatever the mode.
  [[nodiscard]] absl::Status Read(Brigade& out, ReadMode mode, BlockMode block, size_t readbytes);
  bool eos_delivered() const { return eos_delivered_; }

  std::vector<std::string> Names() const;
  // How many filters this chain holds, not counting the chain below.
  size_t size() const { return core_.size(); }

 private:
  friend class InputFilter;
  // As OutputChain::Place.
  InputFilter* Place(HeldFilter<InputFilter> filter);
  [[nodiscard]] absl::Status Call(InputFilter* filter, Brigade& out, ReadMode mode, BlockMode block,
                                  size_t readbytes);
  [[nodiscard]] absl::Status ReadAfter(const InputFilter* filter, Brigade& out, ReadMode mode,
                                       BlockMode block, size_t readbytes);

  ChainCore<InputFilter> core_;
  InputChain* below_;
  bool eos_delivered_ = false;
};

}  // namespace brigade::filters

#endif  // FILTERS_CHAIN_H_
