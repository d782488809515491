#include "filters/registry.h"

#include <string>

#include "filters/core_input.h"
#include "gtest/gtest.h"
#include "tests/filters/test_filters.h"

namespace brigade::filters {
namespace {

// A filter with one option, "tag", and one integer option, "count" (1-5).
class TagFilter : public OutputFilter {
 public:
  TagFilter(std::string tag, int count)
      : OutputFilter("TAG", FilterKind::kResource), tag_(std::move(tag)), count_(count) {}
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override {
    if (bb.ends_with_eos()) {
      Bucket* eos = bb.back();
      for (int i = 0; i < count_; ++i) bb.InsertBefore(eos, Bucket::Immortal(bb.allocator(), tag_));
    }
    return PassNext(bb);
  }

 private:
  std::string tag_;
  int count_;
};

struct TagOptions {
  std::string tag = "#";
  int count = 1;
  static const OptionTable<TagOptions>& Table() {
    static const auto* table =
        &(*new OptionTable<TagOptions>())
             .String("tag", [](TagOptions& o) -> std::string& { return o.tag; }, "text to append")
             .Int("count", [](TagOptions& o) -> int& { return o.count; }, 1, 5, "times");
    return *table;
  }
};

FilterRegistry MakeRegistry() {
  FilterRegistry r;
  absl::Status s = r.RegisterOutput<TagOptions>(
      {.name = "TAG", .kind = FilterKind::kResource, .description = "appends a tag"},
      TagOptions::Table(), [](const TagOptions& o) -> std::unique_ptr<OutputFilter> {
        return std::make_unique<TagFilter>(o.tag, o.count);
      });
  EXPECT_TRUE(s.ok()) << s;
  return r;
}

TEST(RegistryTest, AddsByNameWithOptions) {
  FilterRegistry registry = MakeRegistry();
  Exchange ex;
  AllocatorHandle alloc = BucketAllocator::Create();
  Brigade collected(alloc.get());
  OutputChain chain(&ex);
  chain.Add(std::make_unique<CollectFilter>(&collected));
  absl::StatusOr<FilterSpec> spec = ParseFilterSpec("TAG:tag=<end>,count=2");
  ASSERT_TRUE(spec.ok()) << spec.status();
  absl::StatusOr<OutputFilter*> f = registry.AddOutput(chain, spec->name, spec->options);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->name(), "TAG");
  Brigade bb(alloc.get());
  bb.Append(Bucket::Immortal(alloc.get(), "x"));
  bb.Append(Bucket::Eos(alloc.get()));
  ASSERT_TRUE(chain.Pass(bb).ok());
  absl::StatusOr<std::string> out = collected.FlattenToString(100);
  EXPECT_EQ(*out, "x<end><end>");
}

TEST(RegistryTest, UnknownNameIsNotFound) {
  FilterRegistry registry = MakeRegistry();
  Exchange ex;
  OutputChain chain(&ex);
  EXPECT_EQ(registry.AddOutput(chain, "NOPE").status().code(), absl::StatusCode::kNotFound);
  InputChain in(&ex);
  EXPECT_EQ(registry.AddInput(in, "TAG").status().code(), absl::StatusCode::kNotFound);
}

TEST(RegistryTest, BadOrUnknownOptionsAreInvalidArgumentNamingThem) {
  FilterRegistry registry = MakeRegistry();
  absl::StatusOr<std::unique_ptr<OutputFilter>> f =
      registry.MakeOutput("TAG", FilterOptions(std::map<std::string, std::string>{{"count", "9"}}));
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(f.status().message(), "TAG: option count=9: expected an integer from 1 to 5");
  f = registry.MakeOutput("TAG", FilterOptions(std::map<std::string, std::string>{{"colour", "red"}}));
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(f.status().message(), "TAG: unknown option colour");
}

TEST(RegistryTest, DuplicateRegistrationIsAlreadyExists) {
  FilterRegistry registry = MakeRegistry();
  absl::Status s = registry.RegisterOutput(
      {.name = "TAG", .kind = FilterKind::kResource},
      [](FilterOptions&) -> absl::StatusOr<FilterRegistry::OutputMaker> {
        return FilterRegistry::OutputMaker([] { return nullptr; });
      });
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
}

TEST(RegistryTest, ListAndFindDescribeFilters) {
  FilterRegistry registry = MakeRegistry();
  ASSERT_EQ(registry.List().size(), 1u);
  const FilterInfo* info = registry.Find("TAG", Direction::kOutput);
  ASSERT_NE(info, nullptr);
  ASSERT_EQ(info->options.size(), 2u);
  // The help comes from the option table, defaults from the options struct.
  EXPECT_EQ(info->options[0].key, "tag");
  EXPECT_EQ(info->options[0].help, "text to append (default #)");
  EXPECT_EQ(info->options[1].help, "times (1-5, default 1)");
  EXPECT_EQ(registry.Find("TAG", Direction::kInput), nullptr);
}

TEST(RegistryTest, PreparedMakerChecksOptionsOnceAndMakesIndependentInstances) {
  FilterRegistry registry = MakeRegistry();
  absl::StatusOr<FilterRegistry::OutputMaker> make = registry.PrepareOutput(
      "TAG", FilterOptions(std::map<std::string, std::string>{{"tag", "!"}, {"count", "3"}}));
  ASSERT_TRUE(make.ok()) << make.status();
  AllocatorHandle alloc = BucketAllocator::Create();
  for (int i = 0; i < 2; ++i) {
    Exchange ex;
    Brigade collected(alloc.get());
    OutputChain chain(&ex);
    chain.Add(std::make_unique<CollectFilter>(&collected));
    chain.Add((*make)());
    Brigade bb(alloc.get());
    bb.Append(Bucket::Immortal(alloc.get(), "x"));
    bb.Append(Bucket::Eos(alloc.get()));
    ASSERT_TRUE(chain.Pass(bb).ok());
    EXPECT_EQ(*collected.FlattenToString(100), "x!!!");
  }
  EXPECT_EQ(registry.PrepareOutput("TAG", FilterOptions(std::map<std::string, std::string>{
                                              {"count", "0"}}))
                .status()
                .message(),
            "TAG: option count=0: expected an integer from 1 to 5");
}

TEST(OptionTableTest, CustomOptionsReportTheirKeyAndDefaultsStayUnset) {
  struct Mode {
    bool fast = false;
  };
  OptionTable<Mode> table;
  table.Custom(
      "mode",
      [](absl::string_view v, Mode& m) -> absl::Status {
        if (v != "fast" && v != "slow") return absl::InvalidArgumentError("fast or slow");
        m.fast = v == "fast";
        return absl::OkStatus();
      },
      "slow", "speed");
  FilterOptions none;
  EXPECT_FALSE(table.Parse(none)->fast);
  EXPECT_TRUE(none.CheckAllUsed("M").ok());
  FilterOptions fast(std::map<std::string, std::string>{{"mode", "fast"}});
  EXPECT_TRUE(table.Parse(fast)->fast);
  FilterOptions bad(std::map<std::string, std::string>{{"mode", "warp"}});
  EXPECT_EQ(table.Parse(bad).status().message(), "option mode: fast or slow");
  EXPECT_EQ(table.Docs()[0].help, "speed (default slow)");
}

TEST(FilterSpecTest, ParsesNameAndOptions) {
  absl::StatusOr<FilterSpec> s = ParseFilterSpec("DEFLATE");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->name, "DEFLATE");
  EXPECT_TRUE(s->options.empty());
  for (const char* bad : {"", ":level=1", "DEFLATE:level", "DEFLATE:=3", "DEFLATE:a=1,,b=2"}) {
    EXPECT_EQ(ParseFilterSpec(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace brigade::filters
