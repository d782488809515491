#include "filters/stream_filter.h"

#include <string>

#include "absl/strings/ascii.h"
#include "filters/chain.h"
#include "filters/core_input.h"
#include "filters/testing/split_invariance.h"
#include "gtest/gtest.h"
#include "tests/brigade/test_util.h"

namespace brigade::filters {
namespace {

std::string Render(Brigade& bb) {
  std::string out;
  for (Bucket& b : bb) {
    if (b.is_metadata()) {
      out += "<" + std::string(b.kind_name()) + ">";
    } else {
      out += std::string(*b.Read());
    }
  }
  return out;
}

StreamCallbacks UpperCallbacks(int* eos_calls, int* flush_calls) {
  StreamCallbacks cb;
  cb.on_data = [](absl::string_view in, Emitter& out) {
    return out.Emit(absl::AsciiStrToUpper(in));
  };
  cb.on_flush = [flush_calls](Emitter& out) {
    ++*flush_calls;
    return out.Emit("|");
  };
  cb.on_eos = [eos_calls](Emitter& out) {
    ++*eos_calls;
    return out.Emit(".");
  };
  return cb;
}

class StreamFilterTest : public ::testing::Test {
 protected:
  AllocatorHandle alloc_ = BucketAllocator::Create({.block_size = 32});
  Exchange exchange_;
  Brigade collected_{alloc_.get()};
};

TEST_F(StreamFilterTest, CallbacksSeeTextAndKeepMetadataOrder) {
  int eos = 0, flush = 0;
  OutputChain chain(&exchange_);
  chain.Add(MakeStreamFilter("UPPER", FilterKind::kResource, UpperCallbacks(&eos, &flush)));
  chain.Add(std::make_unique<CollectFilter>(&collected_));
  Brigade bb(alloc_.get());
  bb.Append(Bucket::Immortal(alloc_.get(), "ab"));
  bb.Append(Bucket::Flush(alloc_.get()));
  bb.Append(Bucket::Immortal(alloc_.get(), "cd"));
  ASSERT_TRUE(chain.Pass(bb).ok());
  Brigade end(alloc_.get());
  end.Append(Bucket::Eos(alloc_.get()));
  ASSERT_TRUE(chain.Pass(end).ok());
  EXPECT_EQ(Render(collected_), "AB|<FLUSH>CD.<EOS>");
  EXPECT_EQ(eos, 1);
  EXPECT_EQ(flush, 1);
}

TEST_F(StreamFilterTest, CallbacksReadFileBuckets) {
  testing_util::TempFile f("file text");
  int eos = 0, flush = 0;
  OutputChain chain(&exchange_);
  chain.Add(MakeStreamFilter("UPPER", FilterKind::kResource, UpperCallbacks(&eos, &flush)));
  chain.Add(std::make_unique<CollectFilter>(&collected_));
  Brigade bb(alloc_.get());
  bb.Append(Bucket::FileRange(alloc_.get(), f.file(), 0, 9));
  bb.Append(Bucket::Eos(alloc_.get()));
  ASSERT_TRUE(chain.Pass(bb).ok());
  EXPECT_EQ(Render(collected_), "FILE TEXT.<EOS>");
}

TEST_F(StreamFilterTest, CallbackErrorNamesFilterAndOffset) {
  StreamCallbacks cb;
  cb.on_data = [](absl::string_view in, Emitter&) {
    return in.find('!') != absl::string_view::npos ? absl::InvalidArgumentError("bang")
                                                   : absl::OkStatus();
  };
  OutputChain chain(&exchange_);
  chain.Add(MakeStreamFilter("PICKY", FilterKind::kResource, std::move(cb)));
  chain.Add(std::make_unique<CollectFilter>(&collected_));
  Brigade bb(alloc_.get());
  bb.Append(Bucket::Immortal(alloc_.get(), "12345"));
  bb.Append(Bucket::Immortal(alloc_.get(), "6!"));
  absl::StatusOr<Flow> f = chain.Pass(bb);
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(f.status().message(), "PICKY at byte 5: bang");
}

TEST_F(StreamFilterTest, CallbackFilterIsSplitInvariant) {
  absl::Status s = testing::CheckSplitInvariance(
      [] {
        StreamCallbacks cb;
        cb.on_data = [](absl::string_view in, Emitter& out) {
          return out.Emit(absl::AsciiStrToUpper(in));
        };
        return MakeStreamFilter("UPPER", FilterKind::kResource, std::move(cb));
      },
      "Hello, stream filters!\nSecond line.");
  EXPECT_TRUE(s.ok()) << s;
}

// mod_perl style: read in small pieces, print reversed words at EOS.
class ShoutLoop : public StreamLoopFilter {
 public:
  ShoutLoop() : StreamLoopFilter("SHOUT", FilterKind::kResource) {}

 protected:
  [[nodiscard]] absl::Status Run(StreamIo& io) override {
    std::string buf;
    while (true) {
      absl::StatusOr<size_t> n = io.Read(&buf, 3);  // tiny reads on purpose
      if (!n.ok()) return n.status();
      if (*n == 0) break;
      if (absl::Status s = io.Print(absl::AsciiStrToUpper(buf)); !s.ok()) return s;
    }
    if (io.seen_eos()) return io.Print("!");
    return absl::OkStatus();
  }
};

TEST_F(StreamFilterTest, ReadPrintLoopKeepsMetadataOrderAndSeesEosOnce) {
  OutputChain chain(&exchange_);
  chain.Add(std::make_unique<ShoutLoop>());
  chain.Add(std::make_unique<CollectFilter>(&collected_));
  Brigade bb(alloc_.get());
  bb.Append(Bucket::Immortal(alloc_.get(), "hello"));
  bb.Append(Bucket::Flush(alloc_.get()));
  bb.Append(Bucket::Immortal(alloc_.get(), "world"));
  bb.Append(Bucket::Eos(alloc_.get()));
  ASSERT_TRUE(chain.Pass(bb).ok());
  EXPECT_EQ(Render(collected_), "HELLO<FLUSH>WORLD!<EOS>");
}

TEST_F(StreamFilterTest, ReadPrintLoopGetsEosAloneToo) {
  OutputChain chain(&exchange_);
  chain.Add(std::make_unique<ShoutLoop>());
  chain.Add(std::make_unique<CollectFilter>(&collected_));
  Brigade bb(alloc_.get());
  bb.Append(Bucket::Immortal(alloc_.get(), "abc"));
  ASSERT_TRUE(chain.Pass(bb).ok());
  Brigade end(alloc_.get());
  end.Append(Bucket::Eos(alloc_.get()));
  ASSERT_TRUE(chain.Pass(end).ok());
  EXPECT_EQ(Render(collected_), "ABC!<EOS>");
}

class LazyLoop : public StreamLoopFilter {
 public:
  LazyLoop() : StreamLoopFilter("LAZY", FilterKind::kResource) {}

 protected:
  [[nodiscard]] absl::Status Run(StreamIo& io) override {
    std::string buf;
    return io.Read(&buf, 1).status();  // reads one byte and stops
  }
};

TEST_F(StreamFilterTest, ReadPrintLoopThatLeavesInputUnreadIsAnError) {
  OutputChain chain(&exchange_);
  chain.Add(std::make_unique<LazyLoop>());
  chain.Add(std::make_unique<CollectFilter>(&collected_));
  Brigade bb(alloc_.get());
  bb.Append(Bucket::Immortal(alloc_.get(), "abc"));
  absl::StatusOr<Flow> f = chain.Pass(bb);
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(f.status().message().find("without reading 2 bytes"), std::string::npos)
      << f.status();
}

}  // namespace
}  // namespace brigade::filters
