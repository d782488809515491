#include "filters/chain.h"

#include <algorithm>
#include <exception>

#include "absl/strings/str_cat.h"
#include "brigade/requires.h"

namespace brigade::filters {

absl::string_view FilterKindName(FilterKind kind) {
  switch (kind) {
    case FilterKind::kResource:
      return "RESOURCE";
    case FilterKind::kContentSet:
      return "CONTENT_SET";
    case FilterKind::kProtocol:
      return "PROTOCOL";
    case FilterKind::kTranscode:
      return "TRANSCODE";
    case FilterKind::kConnection:
      return "CONNECTION";
    case FilterKind::kNetwork:
      return "NETWORK";
  }
  return "?";
}

absl::string_view ReadModeName(ReadMode mode) {
  switch (mode) {
    case ReadMode::kReadBytes:
      return "READBYTES";
    case ReadMode::kGetLine:
      return "GETLINE";
    case ReadMode::kEatCrlf:
      return "EATCRLF";
    case ReadMode::kSpeculative:
      return "SPECULATIVE";
    case ReadMode::kExhaustive:
      return "EXHAUSTIVE";
    case ReadMode::kInit:
      return "INIT";
  }
  return "?";
}

// --- ChainCore ---

template <typename T>
T* ChainCore<T>::Insert(HeldFilter<T> filter) {
  filter->exchange_ = exchange_;
  T* inserted = filter.get();
  // Whether `f` comes after the new filter: a higher kind, or its kind with `f` borrowed and
  // the new one not (a server's protocol filters stay last of their kinds).
  const bool owned = filter.get_deleter().owned;
  auto after = [&](const HeldFilter<T>& f) {
    int k = static_cast<int>(f->kind());
    int n = static_cast<int>(filter->kind());
    return k > n || (k == n && f->borrowed_ && owned);
  };
  // Filters mostly come in kind order: then the new one goes at the end, and no other
  // filter's place changes.
  if (order_kind_ != ChainOrder::kByKind || filters_.empty() || !after(filters_.back())) {
    filter->index_ = filters_.size();
    filters_.push_back(std::move(filter));
    return inserted;
  }
  auto pos = std::find_if(filters_.begin(), filters_.end(), after);
  size_t at = static_cast<size_t>(pos - filters_.begin());
  filters_.insert(pos, std::move(filter));
  Reindex(at);
  return inserted;
}

template <typename T>
void ChainCore<T>::Reindex(size_t from) {
  for (size_t i = from; i < filters_.size(); ++i) filters_[i]->index_ = i;
}

template <typename T>
void ChainCore<T>::Remove(T* filter) {
  BRIGADE_REQUIRES(filter->index_ < filters_.size() && filters_[filter->index_].get() == filter);
  if (filter->depth_ > 0 || filter->borrowed_) {
    filter->removed_ = true;
    return;
  }
  size_t at = filter->index_;
  filters_.erase(filters_.begin() + static_cast<ptrdiff_t>(at));
  Reindex(at);
}

template <typename T>
void ChainCore<T>::Restart() {
  size_t kept = 0;
  for (size_t i = 0; i < filters_.size(); ++i) {
    T* f = filters_[i].get();
    BRIGADE_REQUIRES(f->depth_ == 0);
    if (!f->borrowed_) {
      filters_[i].reset();
      continue;
    }
    f->initialized_ = false;
    f->removed_ = false;
    f->saw_eos_ = false;
    f->threw_ = false;
    f->index_ = kept;
    if (kept != i) filters_[kept] = std::move(filters_[i]);
    ++kept;
  }
  filters_.erase(filters_.begin() + static_cast<ptrdiff_t>(kept), filters_.end());
}

template <typename T>
T* ChainCore<T>::First() const {
  for (const HeldFilter<T>& f : filters_) {
    if (!f->removed_) return f.get();
  }
  return nullptr;
}

template <typename T>
inline T* ChainCore<T>::After(const T* filter) const {
  for (size_t i = filter->index_ + 1; i < filters_.size(); ++i) {
    if (!filters_[i]->removed_) return filters_[i].get();
  }
  return nullptr;
}

template <typename T>
inline absl::Status ChainCore<T>::Enter(T* filter) {
  ++filter->depth_;
  if (filter->initialized_) return absl::OkStatus();
  return Init(filter);
}

template <typename T>
absl::Status ChainCore<T>::Init(T* filter) {
  filter->initialized_ = true;
  absl::Status s = filter->Init();
  if (!s.ok()) {
    return absl::Status(s.code(), absl::StrCat(filter->name(), ": init: ", s.message()));
  }
  return s;
}

template <typename T>
inline void ChainCore<T>::Leave(T* filter) {
  if (--filter->depth_ == 0 && filter->removed_) Remove(filter);
}

template <typename T>
std::vector<const T*> ChainCore<T>::Live() const {
  std::vector<const T*> out;
  for (const HeldFilter<T>& f : filters_) {
    if (!f->removed_) out.push_back(f.get());
  }
  return out;
}

template class ChainCore<OutputFilter>;
template class ChainCore<InputFilter>;

// --- OutputChain ---

std::string PipelineReport::DebugString() const {
  std::string out;
  for (const Entry& e : filters) {
    absl::StrAppend(&out, e.name, "[", FilterKindName(e.kind), e.traits.needs_bytes ? " bytes" : "",
                    e.traits.preserves_flush ? "" : " no-flush", " buf=", e.traits.max_buffered_bytes,
                    "] ");
  }
  absl::StrAppend(&out, "zero_copy=", zero_copy ? "yes" : "no",
                  " flush=", preserves_flush ? "yes" : "no", " max_buffered=", max_buffered_bytes);
  return out;
}

OutputFilter* OutputChain::Add(std::unique_ptr<OutputFilter> filter) {
  return Place(HeldFilter<OutputFilter>(filter.release()));
}

OutputFilter* OutputChain::AddBorrowed(OutputFilter* filter) {
  BRIGADE_REQUIRES(filter->chain_ == nullptr && !filter->initialized_);
  filter->borrowed_ = true;
  return Place(HeldFilter<OutputFilter>(filter, FilterDeleter<OutputFilter>{false}));
}

OutputFilter* OutputChain::Place(HeldFilter<OutputFilter> filter) {
  if (below_ != nullptr && core_.order() == ChainOrder::kByKind &&
      filter->kind() >= FilterKind::kConnection) {
    return below_->Place(std::move(filter));
  }
  filter->chain_ = this;
  return core_.Insert(std::move(filter));
}

void OutputChain::Remove(OutputFilter* filter) { core_.Remove(filter); }

namespace {

// The error paths of a call, out of line so that the call itself stays small enough to inline
// into PassNext: a stage then costs one frame and a virtual call, not four frames.
[[gnu::cold, gnu::noinline]] absl::Status NoFilterAfter(const OutputFilter* filter,
                                                        const Brigade& bb) {
  return absl::FailedPreconditionError(absl::StrCat(
      "no filter after ", filter == nullptr ? std::string("the top") : "'" + filter->name() + "'",
      " takes the stream (", bb.DebugString(), ")"));
}

[[gnu::cold, gnu::noinline]] absl::Status PassedAfterEos(const OutputFilter* filter,
                                                         const Brigade& bb) {
  return absl::InternalError(
      absl::StrCat("brigade passed to '", filter->name(), "' after EOS: ", bb.DebugString()));
}

[[gnu::cold, gnu::noinline]] absl::Status LeftBuckets(const OutputFilter* filter,
                                                      const Brigade& bb) {
  return absl::InternalError(absl::StrCat("filter '", filter->name(),
                                          "' returned with buckets it neither passed nor kept: ",
                                          bb.DebugString()));
}

// A filter that throws is a bug in that filter: the exception stops at its call and becomes
// the stream's error, so that it costs that stream (an aborted response, a failed read) and
// never the thread that runs the chain. Called from a catch block.
[[gnu::cold, gnu::noinline]] absl::Status Threw(const std::string& name) {
  std::string what = "an exception that is not a std::exception";
  try {
    throw;
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  return absl::InternalError(absl::StrCat("filter '", name, "' threw: ", what));
}

[[gnu::cold, gnu::noinline]] absl::Status ThrewBefore(const FilterBase* filter) {
  return absl::FailedPreconditionError(
      absl::StrCat("filter '", filter->name(), "' threw earlier in this stream"));
}

}  // namespace

absl::StatusOr<Flow> OutputChain::Pass(Brigade& bb) { return PassAfter(nullptr, bb); }

inline absl::StatusOr<Flow> OutputChain::PassAfter(const OutputFilter* filter, Brigade& bb) {
  OutputFilter* next = filter == nullptr ? core_.First() : core_.After(filter);
  if (next != nullptr) return Call(next, bb);
  if (below_ != nullptr) return below_->Pass(bb);
  if (bb.empty()) return Flow::kDone;
  return NoFilterAfter(filter, bb);
}

inline absl::StatusOr<Flow> OutputChain::Call(OutputFilter* filter, Brigade& bb) {
  if (!connection_level_) {
    if (filter->saw_eos_ && !bb.empty()) return PassedAfterEos(filter, bb);
    if (bb.ends_with_eos()) filter->saw_eos_ = true;
  }
  if (filter->threw_) return ThrewBefore(filter);
  absl::StatusOr<Flow> flow = Run(filter, bb);
  if (flow.ok() && !bb.empty()) flow = LeftBuckets(filter, bb);
  core_.Leave(filter);  // may destroy a filter that removed itself
  return flow;
}

inline absl::StatusOr<Flow> OutputChain::Run(OutputFilter* filter, Brigade& bb) {
  // The filter's result is returned as it is made: a StatusOr declared first and assigned
  // would construct an Unknown status out of line on every call.
  try {
    if (absl::Status s = core_.Enter(filter); !s.ok()) return s;
    return filter->Filter(bb);
  } catch (...) {
    filter->threw_ = true;
    return Threw(filter->name());
  }
}

void OutputChain::NotifyStalled() {
  for (OutputFilter* f = core_.First(); f != nullptr;) {
    OutputFilter* next = core_.After(f);
    if (f->initialized_ && !f->threw_ && f->depth_ == 0) {
      try {
        f->OnStalled();
      } catch (...) {
        f->threw_ = true;
      }
    }
    f = next;
  }
  if (below_ != nullptr) below_->NotifyStalled();
}

std::vector<std::string> OutputChain::Names() const {
  std::vector<std::string> names;
  for (const OutputFilter* f : core_.Live()) names.push_back(f->name());
  if (below_ != nullptr) {
    for (std::string& n : below_->Names()) names.push_back(std::move(n));
  }
  return names;
}

void PipelineReport::Add(Entry entry) {
  zero_copy = zero_copy && !entry.traits.needs_bytes;
  preserves_flush = preserves_flush && entry.traits.preserves_flush;
  max_buffered_bytes += entry.traits.max_buffered_bytes;
  filters.push_back(std::move(entry));
}

const PipelineReport::Entry* PipelineReport::FirstNeedingBytes() const {
  for (const Entry& e : filters) {
    if (e.traits.needs_bytes) return &e;
  }
  return nullptr;
}

std::string PipelineReport::Format() const {
  std::string out;
  for (const Entry& e : filters) {
    absl::StrAppend(&out, e.name, ": ", e.input ? "input " : "", FilterKindName(e.kind), ", ",
                    e.traits.needs_bytes ? "needs bytes in memory" : "takes file ranges as they are",
                    ", ", e.traits.preserves_flush ? "passes FLUSH on" : "holds FLUSH back",
                    ", holds at most ", e.traits.max_buffered_bytes, " bytes",
                    e.note.empty() ? "" : ", ", e.note, "\n");
  }
  const Entry* first = FirstNeedingBytes();
  absl::StrAppend(&out, "zero-copy: ",
                  first == nullptr ? "yes" : absl::StrCat("no (", first->name, " needs bytes in memory)"),
                  "\n");
  absl::StrAppend(&out, "worst-case buffered: ", max_buffered_bytes, " bytes\n");
  return out;
}

void OutputChain::AppendReport(PipelineReport& report) const {
  for (const OutputFilter* f : core_.Live()) report.Add({f->name(), f->kind(), f->traits(), false, ""});
  if (below_ != nullptr) below_->AppendReport(report);
}

PipelineReport OutputChain::Report() const {
  PipelineReport report;
  AppendReport(report);
  return report;
}

absl::StatusOr<Flow> OutputFilter::PassNext(Brigade& bb) { return chain_->PassAfter(this, bb); }

void OutputFilter::RemoveSelf() { chain_->Remove(this); }

// --- InputChain ---

InputFilter* InputChain::Add(std::unique_ptr<InputFilter> filter) {
  return Place(HeldFilter<InputFilter>(filter.release()));
}

InputFilter* InputChain::AddBorrowed(InputFilter* filter) {
  BRIGADE_REQUIRES(filter->chain_ == nullptr && !filter->initialized_);
  filter->borrowed_ = true;
  return Place(HeldFilter<InputFilter>(filter, FilterDeleter<InputFilter>{false}));
}

InputFilter* InputChain::Place(HeldFilter<InputFilter> filter) {
  if (below_ != nullptr && core_.order() == ChainOrder::kByKind &&
      filter->kind() >= FilterKind::kConnection) {
    return below_->Place(std::move(filter));
  }
  filter->chain_ = this;
  return core_.Insert(std::move(filter));
}

void InputChain::Remove(InputFilter* filter) { core_.Remove(filter); }

absl::Status InputChain::Read(Brigade& out, ReadMode mode, BlockMode block, size_t readbytes) {
  if (eos_delivered_) return absl::OutOfRangeError("end of input: EOS was already delivered");
  absl::Status s = ReadAfter(nullptr, out, mode, block, readbytes);
  if (s.ok() && out.ends_with_eos()) eos_delivered_ = true;
  return s;
}

absl::Status InputChain::ReadAfter(const InputFilter* filter, Brigade& out, ReadMode mode,
                                   BlockMode block, size_t readbytes) {
  InputFilter* next = filter == nullptr ? core_.First() : core_.After(filter);
  if (next != nullptr) return Call(next, out, mode, block, readbytes);
  if (below_ != nullptr) return below_->ReadAfter(nullptr, out, mode, block, readbytes);
  return absl::FailedPreconditionError(absl::StrCat(
      "no input filter below ",
      filter == nullptr ? std::string("the top") : "'" + filter->name() + "'",
      " provides data"));
}

absl::Status InputChain::Call(InputFilter* filter, Brigade& out, ReadMode mode,
                              BlockMode block, size_t readbytes) {
  if (filter->saw_eos_) {
    return absl::OutOfRangeError(
        absl::StrCat("end of input: '", filter->name(), "' already returned EOS"));
  }
  if (filter->threw_) return ThrewBefore(filter);
  absl::Status s;
  try {
    s = core_.Enter(filter);
    if (s.ok()) s = filter->Read(out, mode, block, readbytes);
  } catch (...) {
    filter->threw_ = true;
    s = Threw(filter->name());
  }
  if (s.ok() && out.ends_with_eos()) filter->saw_eos_ = true;
  core_.Leave(filter);  // may destroy a filter that removed itself
  return s;
}

std::vector<std::string> InputChain::Names() const {
  std::vector<std::string> names;
  for (const InputFilter* f : core_.Live()) names.push_back(f->name());
  if (below_ != nullptr) {
    for (std::string& n : below_->Names()) names.push_back(std::move(n));
  }
  return names;
}

absl::Status InputFilter::ReadNext(Brigade& out, ReadMode mode, BlockMode block,
                                   size_t readbytes) {
  return chain_->ReadAfter(this, out, mode, block, readbytes);
}

void InputFilter::RemoveSelf() { chain_->Remove(this); }

}  // namespace brigade::filters
