#include "filters/chain.h"

#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "filters/core_input.h"
#include "gtest/gtest.h"
#include "tests/brigade/test_util.h"
#include "tests/filters/test_filters.h"

namespace brigade::filters {
namespace {

using test::TraceFilter;
using test::UpperFilter;

class ChainTest : public ::testing::Test {
 protected:
  // Output text plus metadata markers: "abc<FLUSH>def<EOS>".
  std::string Rendered() {
    std::string out;
    for (Bucket& b : collected_) {
      if (b.is_metadata()) {
        out += "<" + std::string(b.kind_name()) + ">";
      } else {
        absl::StatusOr<absl::string_view> v = b.Read();
        EXPECT_TRUE(v.ok()) << v.status();
        if (v.ok()) out += std::string(*v);
      }
    }
    return out;
  }
  Brigade Data(std::vector<const char*> pieces, bool eos = false) {
    Brigade bb(alloc_.get());
    for (const char* p : pieces) bb.Append(Bucket::Immortal(alloc_.get(), p));
    if (eos) bb.Append(Bucket::Eos(alloc_.get()));
    return bb;
  }

  AllocatorHandle alloc_ = BucketAllocator::Create({.block_size = 64});
  Exchange exchange_;
  Brigade collected_{alloc_.get()};
  std::vector<std::string> trace_;
};

TEST_F(ChainTest, FiltersRunInKindOrderAndSameKindInAddedOrder) {
  OutputChain chain(&exchange_);
  chain.Add(std::make_unique<CollectFilter>(&collected_));
  chain.Add(std::make_unique<TraceFilter>("chunk", FilterKind::kTranscode, &trace_));
  chain.Add(std::make_unique<TraceFilter>("deflate", FilterKind::kContentSet, &trace_));
  chain.Add(std::make_unique<TraceFilter>("reverse", FilterKind::kResource, &trace_));
  chain.Add(std::make_unique<TraceFilter>("cl", FilterKind::kProtocol, &trace_));
  chain.Add(std::make_unique<TraceFilter>("deflate2", FilterKind::kContentSet, &trace_));
  EXPECT_EQ(chain.Names(), (std::vector<std::string>{"reverse", "deflate", "deflate2", "cl",
                                                     "chunk", "COLLECT"}));
  Brigade bb = Data({"x"}, true);
  ASSERT_TRUE(chain.Pass(bb).ok());
  EXPECT_EQ(trace_, (std::vector<std::string>{"reverse", "deflate", "deflate2", "cl", "chunk"}));
  EXPECT_EQ(Rendered(), "x<EOS>");
}

TEST_F(ChainTest, RequestChainSitsAboveConnectionChain) {
  Exchange conn_exchange;
  OutputChain connection(&conn_exchange);
  connection.Add(std::make_unique<CollectFilter>(&collected_));
  OutputChain request(&exchange_, &connection);
  request.Add(std::make_unique<TraceFilter>("tls", FilterKind::kConnection, &trace_));
  request.Add(std::make_unique<TraceFilter>("deflate", FilterKind::kContentSet, &trace_));
  EXPECT_EQ(request.Names(), (std::vector<std::string>{"deflate", "tls", "COLLECT"}));
  EXPECT_EQ(connection.Names(), (std::vector<std::string>{"tls", "COLLECT"}));
  Brigade bb = Data({"body"}, true);
  ASSERT_TRUE(request.Pass(bb).ok());
  EXPECT_EQ(trace_, (std::vector<std::string>{"deflate", "tls"}));
  EXPECT_EQ(Rendered(), "body<EOS>");
}

// Passes everything on; counts what it is told of stalls, and throws there when asked.
class StallCounter : public OutputFilter {
 public:
  StallCounter(std::string name, FilterKind kind, int* stalls, bool throws = false)
      : OutputFilter(std::move(name), kind), stalls_(stalls), throws_(throws) {}
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override { return PassNext(bb); }
  void OnStalled() override {
    ++*stalls_;
    if (throws_) throw std::runtime_error("stalled");
  }

 private:
  int* stalls_;
  bool throws_;
};

TEST_F(ChainTest, AStallIsToldToEveryFilterThatRanHereAndBelow) {
  int request_stalls = 0, connection_stalls = 0, unused_stalls = 0;
  Exchange conn_exchange;
  OutputChain connection(&conn_exchange);
  connection.Add(
      std::make_unique<StallCounter>("tls", FilterKind::kConnection, &connection_stalls));
  connection.Add(std::make_unique<CollectFilter>(&collected_));
  OutputChain request(&exchange_, &connection);
  request.Add(std::make_unique<StallCounter>("gzip", FilterKind::kContentSet, &request_stalls));
  request.NotifyStalled();
  EXPECT_EQ(request_stalls + connection_stalls, 0) << "not before a filter has run";
  Brigade bb = Data({"x"});
  ASSERT_TRUE(request.Pass(bb).ok());
  // One added since has not run: it has nothing to give back.
  request.Add(std::make_unique<StallCounter>("late", FilterKind::kResource, &unused_stalls));
  request.NotifyStalled();
  EXPECT_EQ(request_stalls, 1);
  EXPECT_EQ(connection_stalls, 1);
  EXPECT_EQ(unused_stalls, 0);
}

TEST_F(ChainTest, AFilterThatThrowsWhenStalledFailsItsNextCall) {
  int stalls = 0;
  OutputChain chain(&exchange_);
  chain.Add(std::make_unique<StallCounter>("STALLS", FilterKind::kResource, &stalls, true));
  chain.Add(std::make_unique<CollectFilter>(&collected_));
  Brigade first = Data({"one"});
  ASSERT_TRUE(chain.Pass(first).ok());
  chain.NotifyStalled();
  chain.NotifyStalled();
  EXPECT_EQ(stalls, 1) << "not told again after it threw";
  Brigade second = Data({"two"}, true);
  absl::StatusOr<Flow> f = chain.Pass(second);
  EXPECT_EQ(f.status().message(), "filter 'STALLS' threw earlier in this stream");
  EXPECT_EQ(Rendered(), "one");
}

// Removes itself on its first call after passing that brigade on.
class OnceFilter : public OutputFilter {
 public:
  explicit OnceFilter(int* calls) : OutputFilter("ONCE", FilterKind::kResource), calls_(calls) {}
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override {
    ++*calls_;
    RemoveSelf();
    if (absl::Status s = bb.Write("[once]"); !s.ok()) return s;
    return PassNext(bb);
  }

 private:
  int* calls_;
};

TEST_F(ChainTest, FilterRemovingItselfLeavesTheStreamFlowing) {
  int calls = 0;
  OutputChain chain(&exchange_);
  chain.Add(std::make_unique<OnceFilter>(&calls));
  chain.Add(std::make_unique<UpperFilter>());
  chain.Add(std::make_unique<CollectFilter>(&collected_));
  Brigade a = Data({"a"});
  ASSERT_TRUE(chain.Pass(a).ok());
  EXPECT_EQ(chain.Names(), (std::vector<std::string>{"UPPER", "COLLECT"}));
  Brigade b = Data({"b"}, true);
  ASSERT_TRUE(chain.Pass(b).ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(Rendered(), "A[ONCE]B<EOS>");
}

// Counts its destructions, to show who deletes it.
class CountedOnce : public OnceFilter {
 public:
  CountedOnce(int* calls, int* destroyed) : OnceFilter(calls), destroyed_(destroyed) {}
  ~CountedOnce() override { ++*destroyed_; }

 private:
  int* destroyed_;
};

// A borrowed filter runs like an owned one, and neither removing itself nor the chain's end
// deletes it: the same object serves the next chain.
TEST_F(ChainTest, ABorrowedFilterRunsAndOutlivesItsChains) {
  int calls = 0;
  int destroyed = 0;
  {
    std::optional<CountedOnce> once;
    for (int round = 0; round < 2; ++round) {
      OutputChain chain(&exchange_);
      chain.AddBorrowed(&once.emplace(&calls, &destroyed));
      chain.Add(std::make_unique<CountedOnce>(&calls, &destroyed));
      chain.Add(std::make_unique<CollectFilter>(&collected_));
      Brigade bb = Data({"x"});
      ASSERT_TRUE(chain.Pass(bb).ok());
      EXPECT_EQ(chain.Names(), (std::vector<std::string>{"COLLECT"}));
      // The owned one went when it removed itself; the borrowed one is still here.
      EXPECT_EQ(destroyed, 2 * round + 1);
    }
    EXPECT_EQ(calls, 4);
  }
  EXPECT_EQ(destroyed, 4);
  EXPECT_EQ(Rendered(), "x[once][once]x[once][once]");
}

class InitCounter : public OutputFilter {
 public:
  InitCounter(int* inits, bool fail)
      : OutputFilter("INIT", FilterKind::kResource), inits_(inits), fail_(fail) {}
  [[nodiscard]] absl::Status Init() override {
    ++*inits_;
    return fail_ ? absl::InvalidArgumentError("bad config") : absl::OkStatus();
  }
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override { return PassNext(bb); }

 private:
  int* inits_;
  bool fail_;
};

// A server's protocol filters go in first, and a filter of their kind added for the request
// after them must still run before them (CHUNK and HTTP_HEADER see what it made).
TEST_F(ChainTest, ABorrowedFilterStaysLastOfItsKind) {
  TraceFilter chunk("chunk", FilterKind::kTranscode, &trace_);
  OutputChain chain(&exchange_);
  chain.AddBorrowed(&chunk);
  chain.Add(std::make_unique<CollectFilter>(&collected_));
  chain.Add(std::make_unique<TraceFilter>("recode", FilterKind::kTranscode, &trace_));
  chain.Add(std::make_unique<TraceFilter>("deflate", FilterKind::kContentSet, &trace_));
  EXPECT_EQ(chain.Names(), (std::vector<std::string>{"deflate", "recode", "chunk", "COLLECT"}));
  Brigade bb = Data({"x"}, true);
  ASSERT_TRUE(chain.Pass(bb).ok());
  EXPECT_EQ(trace_, (std::vector<std::string>{"deflate", "recode", "chunk"}));
}

// Restart readies a chain for the next stream: the filters it owns are deleted, borrowed ones
// that removed themselves are back, each is initialized again, and a stream may end again.
TEST_F(ChainTest, RestartKeepsOnlyTheBorrowedFiltersReadyForANewStream) {
  int calls = 0;
  int destroyed = 0;
  int inits = 0;
  CountedOnce once(&calls, &destroyed);
  InitCounter counter(&inits, /*fail=*/false);
  OutputChain chain(&exchange_);
  chain.AddBorrowed(&once);
  chain.AddBorrowed(&counter);
  for (int round = 1; round <= 2; ++round) {
    chain.Add(std::make_unique<CountedOnce>(&calls, &destroyed));
    chain.Add(std::make_unique<UpperFilter>());
    chain.Add(std::make_unique<CollectFilter>(&collected_));
    // The request's own filters of the borrowed ones' kind go before them.
    EXPECT_EQ(chain.Names(),
              (std::vector<std::string>{"ONCE", "UPPER", "ONCE", "INIT", "COLLECT"}));
    Brigade bb = Data({"x"});
    ASSERT_TRUE(chain.Pass(bb).ok());
    Brigade end = Data({}, /*eos=*/true);
    ASSERT_TRUE(chain.Pass(end).ok());
    EXPECT_EQ(chain.Names(), (std::vector<std::string>{"UPPER", "INIT", "COLLECT"}));
    EXPECT_EQ(inits, round);
    chain.Restart();
    EXPECT_EQ(destroyed, round);  // the owned ONCE went when it removed itself
    EXPECT_EQ(chain.Names(), (std::vector<std::string>{"ONCE", "INIT"}));
  }
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(destroyed, 2);
  EXPECT_EQ(Rendered(), "X[ONCE][once]<EOS>X[ONCE][once]<EOS>");
}

// Adds UPPER below itself on its first call, while the response is running.
class AdderFilter : public OutputFilter {
 public:
  explicit AdderFilter(OutputChain* chain)
      : OutputFilter("ADDER", FilterKind::kResource), chain_(chain) {}
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override {
    if (!added_) {
      chain_->Add(std::make_unique<UpperFilter>());
      added_ = true;
    }
    return PassNext(bb);
  }

 private:
  OutputChain* chain_;
  bool added_ = false;
};

TEST_F(ChainTest, FilterAddedWhileRunningTakesPartAtOnce) {
  OutputChain chain(&exchange_);
  chain.Add(std::make_unique<AdderFilter>(&chain));
  chain.Add(std::make_unique<CollectFilter>(&collected_));
  Brigade bb = Data({"late"}, true);
  ASSERT_TRUE(chain.Pass(bb).ok());
  EXPECT_EQ(chain.Names(), (std::vector<std::string>{"ADDER", "UPPER", "COLLECT"}));
  EXPECT_EQ(Rendered(), "LATE<EOS>");
}

// Passes EOS on, then passes more data: a contract breach the chain must report.
class AfterEosFilter : public OutputFilter {
 public:
  AfterEosFilter() : OutputFilter("AFTER_EOS", FilterKind::kResource) {}
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override {
    absl::StatusOr<Flow> f = PassNext(bb);
    if (!f.ok()) return f;
    Brigade more(bb.allocator());
    if (absl::Status s = more.Write("late"); !s.ok()) return s;
    return PassNext(more);
  }
};

TEST_F(ChainTest, DataAfterEosIsAnInternalErrorNamingTheFilter) {
  OutputChain chain(&exchange_);
  chain.Add(std::make_unique<AfterEosFilter>());
  chain.Add(std::make_unique<CollectFilter>(&collected_));
  Brigade bb = Data({"x"}, true);
  absl::StatusOr<Flow> f = chain.Pass(bb);
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(f.status().message().find("after EOS"), std::string::npos) << f.status();
  EXPECT_EQ(Rendered(), "x<EOS>");
}

TEST_F(ChainTest, ConnectionChainCarriesOneResponseAfterAnother) {
  Exchange conn_exchange;
  OutputChain connection(&conn_exchange);
  connection.set_connection_level(true);
  connection.Add(std::make_unique<CollectFilter>(&collected_));
  for (const char* body : {"first", "second"}) {
    Exchange ex;
    OutputChain request(&ex, &connection);
    request.Add(std::make_unique<UpperFilter>());
    Brigade bb = Data({body}, true);
    ASSERT_TRUE(request.Pass(bb).ok()) << body;
  }
  EXPECT_EQ(Rendered(), "FIRST<EOS>SECOND<EOS>");
}

// Returns OK without passing or keeping its input.
class DropFilter : public OutputFilter {
 public:
  DropFilter() : OutputFilter("DROP", FilterKind::kResource) {}
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade&) override { return Flow::kDone; }
};

TEST_F(ChainTest, FilterLeavingBucketsBehindIsReported) {
  OutputChain chain(&exchange_);
  chain.Add(std::make_unique<DropFilter>());
  chain.Add(std::make_unique<CollectFilter>(&collected_));
  Brigade bb = Data({"lost?"});
  absl::StatusOr<Flow> f = chain.Pass(bb);
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(f.status().message().find("DROP"), std::string::npos);
}

TEST_F(ChainTest, ChainWithoutSinkRefusesData) {
  OutputChain chain(&exchange_);
  Brigade bb = Data({"x"});
  EXPECT_EQ(chain.Pass(bb).status().code(), absl::StatusCode::kFailedPrecondition);
  Brigade empty(alloc_.get());
  EXPECT_TRUE(chain.Pass(empty).ok());
}

TEST_F(ChainTest, InitRunsOnceBeforeTheFirstBrigade) {
  int inits = 0;
  OutputChain chain(&exchange_);
  chain.Add(std::make_unique<InitCounter>(&inits, false));
  chain.Add(std::make_unique<CollectFilter>(&collected_));
  EXPECT_EQ(inits, 0);
  for (int i = 0; i < 3; ++i) {
    Brigade bb = Data({"x"});
    ASSERT_TRUE(chain.Pass(bb).ok());
  }
  EXPECT_EQ(inits, 1);
}

TEST_F(ChainTest, InitFailureFailsTheFirstPass) {
  int inits = 0;
  OutputChain chain(&exchange_);
  chain.Add(std::make_unique<InitCounter>(&inits, true));
  chain.Add(std::make_unique<CollectFilter>(&collected_));
  Brigade bb = Data({"x"});
  absl::StatusOr<Flow> f = chain.Pass(bb);
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(f.status().message().find("INIT: init: bad config"), std::string::npos);
}

TEST_F(ChainTest, FlushAndEmptyBrigadesAndOneByteBucketsPassInOrder) {
  OutputChain chain(&exchange_);
  chain.Add(std::make_unique<UpperFilter>());
  chain.Add(std::make_unique<CollectFilter>(&collected_));
  Brigade empty(alloc_.get());
  ASSERT_TRUE(chain.Pass(empty).ok());
  Brigade bb = Data({"a", "b", "c"});
  bb.Append(Bucket::Flush(alloc_.get()));
  bb.Append(Bucket::Immortal(alloc_.get(), "d"));
  ASSERT_TRUE(chain.Pass(bb).ok());
  Brigade end = Data({}, true);
  ASSERT_TRUE(chain.Pass(end).ok());
  EXPECT_EQ(Rendered(), "ABC<FLUSH>D<EOS>");
}

// Holds everything until EOS (set aside), then passes it in one brigade.
class HoldFilter : public OutputFilter {
 public:
  HoldFilter() : OutputFilter("HOLD", FilterKind::kContentSet) {}
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override {
    bool eos = bb.ends_with_eos();
    bb.Setaside();
    if (!held_) held_ = std::make_unique<Brigade>(bb.allocator());
    held_->Concat(bb);
    if (!eos) return Flow::kDone;
    return PassNext(*held_);
  }
  FilterTraits traits() const override { return {.needs_bytes = false, .max_buffered_bytes = 1 << 20}; }

 private:
  std::unique_ptr<Brigade> held_;
};

TEST_F(ChainTest, BufferingFilterKeepsTransientDataSafe) {
  OutputChain chain(&exchange_);
  chain.Add(std::make_unique<HoldFilter>());
  chain.Add(std::make_unique<CollectFilter>(&collected_));
  {
    std::string scratch(2000, 't');  // large: a TRANSIENT bucket borrowing `scratch`
    Brigade bb(alloc_.get());
    ASSERT_TRUE(bb.Write(scratch).ok());
    ASSERT_TRUE(chain.Pass(bb).ok());
    scratch.assign(2000, '!');
  }
  EXPECT_TRUE(collected_.empty());
  Brigade end = Data({}, true);
  ASSERT_TRUE(chain.Pass(end).ok());
  EXPECT_EQ(Rendered(), std::string(2000, 't') + "<EOS>");
}

TEST_F(ChainTest, FileBucketsPassUntouchedThroughFiltersThatDoNotNeedBytes) {
  testing_util::TempFile f(std::string(100000, 'f'));
  OutputChain chain(&exchange_);
  chain.Add(std::make_unique<TraceFilter>("a", FilterKind::kContentSet, &trace_));
  chain.Add(std::make_unique<TraceFilter>("b", FilterKind::kProtocol, &trace_));
  chain.Add(std::make_unique<CollectFilter>(&collected_));
  Brigade bb(alloc_.get());
  bb.Append(Bucket::FileRange(alloc_.get(), f.file(), 0, 100000));
  bb.Append(Bucket::Eos(alloc_.get()));
  CopyStats before = GlobalCopyStats();
  ASSERT_TRUE(chain.Pass(bb).ok());
  CopyStats d = GlobalCopyStats().Since(before);
  EXPECT_EQ(d.bytes_copied, 0u);
  EXPECT_EQ(d.bytes_read, 0u);
  EXPECT_EQ(collected_.DebugString(), "FILE(100000) EOS");
  PipelineReport report = chain.Report();
  EXPECT_TRUE(report.zero_copy) << report.DebugString();
}

TEST_F(ChainTest, PipelineReportSumsBuffersAndLosesZeroCopyOnAByteFilter) {
  OutputChain chain(&exchange_);
  chain.Add(std::make_unique<HoldFilter>());
  chain.Add(std::make_unique<UpperFilter>());
  chain.Add(std::make_unique<CollectFilter>(&collected_));
  PipelineReport report = chain.Report();
  ASSERT_EQ(report.filters.size(), 3u);
  EXPECT_EQ(report.filters[0].name, "UPPER");
  EXPECT_FALSE(report.zero_copy);
  EXPECT_TRUE(report.preserves_flush);
  EXPECT_EQ(report.max_buffered_bytes, 1u << 20);
  EXPECT_NE(report.DebugString().find("zero_copy=no"), std::string::npos);
}

TEST_F(ChainTest, AnAsAddedChainKeepsTheOrderWhateverTheKinds) {
  OutputChain below(&exchange_);
  OutputChain chain(&exchange_, &below, ChainOrder::kAsAdded);
  chain.Add(std::make_unique<TraceFilter>("net", FilterKind::kNetwork, &trace_));
  chain.Add(std::make_unique<TraceFilter>("res", FilterKind::kResource, &trace_));
  below.Add(std::make_unique<CollectFilter>(&collected_));
  EXPECT_EQ(chain.Names(), (std::vector<std::string>{"net", "res", "COLLECT"}));
  Brigade bb(alloc_.get());
  bb.Append(Bucket::Immortal(alloc_.get(), "x"));
  ASSERT_TRUE(chain.Pass(bb).ok());
  EXPECT_EQ(trace_, (std::vector<std::string>{"net", "res"}));
}

TEST_F(ChainTest, PipelineReportFormatsOneLinePerFilterAndTwoSummaryLines) {
  OutputChain chain(&exchange_);
  chain.Add(std::make_unique<UpperFilter>());
  chain.Add(std::make_unique<HoldFilter>());
  EXPECT_EQ(chain.Report().Format(),
            "UPPER: RESOURCE, needs bytes in memory, passes FLUSH on, holds at most 0 bytes\n"
            "HOLD: CONTENT_SET, takes file ranges as they are, passes FLUSH on, holds at most "
            "1048576 bytes\n"
            "zero-copy: no (UPPER needs bytes in memory)\n"
            "worst-case buffered: 1048576 bytes\n");
  EXPECT_EQ(PipelineReport().Format(), "zero-copy: yes\nworst-case buffered: 0 bytes\n");
}

// --- Input chains ---

// Upper-cases what it reads from below.
class UpperInput : public InputFilter {
 public:
  UpperInput() : InputFilter("UPPER_IN", FilterKind::kContentSet) {}
  [[nodiscard]] absl::Status Read(Brigade& out, ReadMode mode, BlockMode block, size_t n) override {
    Brigade got(out.allocator());
    if (absl::Status s = ReadNext(got, mode, block, n); !s.ok()) return s;
    while (!got.empty()) {
      Bucket* b = got.front();
      if (b->is_metadata()) {
        out.Append(got.Remove(b));
        continue;
      }
      std::string up(b->view());
      for (char& c : up) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
      if (absl::Status s = out.WriteCopy(up); !s.ok()) return s;
      got.Delete(b);
    }
    return absl::OkStatus();
  }
};

TEST_F(ChainTest, InputChainPullsThroughFiltersAndDeliversEosOnce) {
  InputChain chain(&exchange_);
  chain.Add(std::make_unique<CoreInputFilter>(Data({"hello"})));
  chain.Add(std::make_unique<UpperInput>());
  EXPECT_EQ(chain.Names(), (std::vector<std::string>{"UPPER_IN", "CORE_IN"}));
  Brigade out(alloc_.get());
  ASSERT_TRUE(chain.Read(out, ReadMode::kReadBytes, BlockMode::kBlock, 3).ok());
  EXPECT_EQ(testing_util::ReadAll(out), "HEL");
  out.Clear();
  ASSERT_TRUE(chain.Read(out, ReadMode::kReadBytes, BlockMode::kBlock, 100).ok());
  EXPECT_EQ(testing_util::ReadAll(out), "LO");
  out.Clear();
  ASSERT_TRUE(chain.Read(out, ReadMode::kReadBytes, BlockMode::kBlock, 100).ok());
  EXPECT_EQ(out.DebugString(), "EOS");
  EXPECT_TRUE(chain.eos_delivered());
  for (ReadMode m : {ReadMode::kReadBytes, ReadMode::kGetLine, ReadMode::kExhaustive}) {
    Brigade again(alloc_.get());
    absl::Status s = chain.Read(again, m, BlockMode::kBlock, 10);
    EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange) << ReadModeName(m);
    EXPECT_TRUE(again.empty());
  }
}

TEST_F(ChainTest, RequestInputChainReadsFromConnectionChain) {
  Exchange conn_exchange;
  InputChain connection(&conn_exchange);
  connection.Add(std::make_unique<CoreInputFilter>(Data({"line one\n", "line two\n"})));
  InputChain request(&exchange_, &connection);
  request.Add(std::make_unique<UpperInput>());
  Brigade out(alloc_.get());
  ASSERT_TRUE(request.Read(out, ReadMode::kGetLine, BlockMode::kBlock, 0).ok());
  EXPECT_EQ(testing_util::ReadAll(out), "LINE ONE\n");
}

TEST_F(ChainTest, ABorrowedInputFilterIsReadThroughAndNotDeleted) {
  UpperInput upper;
  {
    InputChain chain(&exchange_);
    chain.Add(std::make_unique<CoreInputFilter>(Data({"hi"})));
    chain.AddBorrowed(&upper);
    EXPECT_EQ(chain.Names(), (std::vector<std::string>{"UPPER_IN", "CORE_IN"}));
    Brigade out(alloc_.get());
    ASSERT_TRUE(chain.Read(out, ReadMode::kReadBytes, BlockMode::kBlock, 10).ok());
    EXPECT_EQ(testing_util::ReadAll(out), "HI");
  }
  EXPECT_EQ(upper.name(), "UPPER_IN");  // still a live object (ASan checks the rest)
}

TEST_F(ChainTest, RestartLetsAnInputChainEndAgainAndMovesItsStreamBelow) {
  UpperInput upper;
  Exchange conn_exchange;
  InputChain first(&conn_exchange);
  first.Add(std::make_unique<CoreInputFilter>(Data({"one"}, true)));
  InputChain second(&conn_exchange);
  second.Add(std::make_unique<CoreInputFilter>(Data({"two"}, true)));
  InputChain chain(&exchange_, &first);
  chain.AddBorrowed(&upper);
  Brigade out(alloc_.get());
  for (int i = 0; i < 4 && !chain.eos_delivered(); ++i) {
    ASSERT_TRUE(chain.Read(out, ReadMode::kReadBytes, BlockMode::kBlock, 10).ok());
  }
  EXPECT_TRUE(chain.eos_delivered());
  EXPECT_EQ(testing_util::ReadAll(out), "ONE");
  chain.Restart();
  chain.set_below(&second);
  EXPECT_FALSE(chain.eos_delivered());
  Brigade again(alloc_.get());
  ASSERT_TRUE(chain.Read(again, ReadMode::kReadBytes, BlockMode::kBlock, 10).ok());
  EXPECT_EQ(testing_util::ReadAll(again), "TWO");
}

// Throws on the call given by `throw_on` (1 = the first), after passing what came before on.
// `what` empty: throws an int, not a std::exception.
class ThrowingFilter : public OutputFilter {
 public:
  ThrowingFilter(int throw_on, std::string what, int* calls)
      : OutputFilter("THROWS", FilterKind::kResource),
        throw_on_(throw_on),
        what_(std::move(what)),
        calls_(calls) {}
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override {
    if (++*calls_ == throw_on_) {
      if (what_.empty()) throw 7;
      throw std::runtime_error(what_);
    }
    return PassNext(bb);
  }

 private:
  int throw_on_;
  std::string what_;
  int* calls_;
};

// A filter that throws fails its stream with an Internal error naming it, and only its
// stream: the filters around it are unharmed, a later call does not reach it again, and
// another chain with the same filter runs on.
TEST_F(ChainTest, AFilterThatThrowsFailsItsStreamWithAnErrorNamingIt) {
  int calls = 0;
  OutputChain chain(&exchange_);
  chain.Add(std::make_unique<UpperFilter>());
  chain.Add(std::make_unique<ThrowingFilter>(2, "boom", &calls));
  chain.Add(std::make_unique<CollectFilter>(&collected_));
  Brigade first = Data({"one "});
  ASSERT_TRUE(chain.Pass(first).ok());
  Brigade second = Data({"two"});
  absl::StatusOr<Flow> f = chain.Pass(second);
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(f.status().message(), "filter 'THROWS' threw: boom");
  Brigade end = Data({}, true);
  f = chain.Pass(end);
  EXPECT_EQ(f.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(f.status().message(), "filter 'THROWS' threw earlier in this stream");
  EXPECT_EQ(calls, 2) << "not called again after it threw";
  EXPECT_EQ(Rendered(), "ONE ") << "what passed before the throw stays delivered";

  int other_calls = 0;
  OutputChain other(&exchange_);
  other.Add(std::make_unique<ThrowingFilter>(1, "", &other_calls));
  other.Add(std::make_unique<CollectFilter>(&collected_));
  Brigade bb = Data({"x"});
  f = other.Pass(bb);
  EXPECT_EQ(f.status().message(),
            "filter 'THROWS' threw: an exception that is not a std::exception");
}

class ThrowingInit : public OutputFilter {
 public:
  ThrowingInit() : OutputFilter("INIT_THROWS", FilterKind::kResource) {}
  [[nodiscard]] absl::Status Init() override { throw std::bad_alloc(); }
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override { return PassNext(bb); }
};

TEST_F(ChainTest, AnInitThatThrowsFailsTheFirstPass) {
  OutputChain chain(&exchange_);
  chain.Add(std::make_unique<ThrowingInit>());
  chain.Add(std::make_unique<CollectFilter>(&collected_));
  Brigade bb = Data({"x"});
  absl::StatusOr<Flow> f = chain.Pass(bb);
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(f.status().message(), "filter 'INIT_THROWS' threw: std::bad_alloc");
  EXPECT_EQ(Rendered(), "");
}

// Throws from its second read on.
class ThrowingInput : public InputFilter {
 public:
  ThrowingInput() : InputFilter("THROWS_IN", FilterKind::kResource) {}
  [[nodiscard]] absl::Status Read(Brigade& out, ReadMode mode, BlockMode block,
                                  size_t readbytes) override {
    if (++reads_ == 2) throw std::length_error("bad length");
    return ReadNext(out, mode, block, readbytes);
  }

 private:
  int reads_ = 0;
};

TEST_F(ChainTest, AnInputFilterThatThrowsFailsTheRead) {
  InputChain chain(&exchange_);
  chain.Add(std::make_unique<CoreInputFilter>(Data({"hello"})));
  chain.Add(std::make_unique<ThrowingInput>());
  Brigade out(alloc_.get());
  ASSERT_TRUE(chain.Read(out, ReadMode::kReadBytes, BlockMode::kBlock, 2).ok());
  EXPECT_EQ(testing_util::ReadAll(out), "he");
  out.Clear();
  absl::Status s = chain.Read(out, ReadMode::kReadBytes, BlockMode::kBlock, 2);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(s.message(), "filter 'THROWS_IN' threw: bad length");
  s = chain.Read(out, ReadMode::kReadBytes, BlockMode::kBlock, 2);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace brigade::filters
