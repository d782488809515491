// Small filters used by the framework tests.

#ifndef TESTS_FILTERS_TEST_FILTERS_H_
#define TESTS_FILTERS_TEST_FILTERS_H_

#include <memory>
#include <string>
#include <vector>

#include "filters/chain.h"
#include "filters/filter.h"

namespace brigade::filters::test {

// Passes everything on, appending its name to a shared trace on every call.
class TraceFilter : public OutputFilter {
 public:
  TraceFilter(std::string name, FilterKind kind, std::vector<std::string>* trace)
      : OutputFilter(std::move(name), kind), trace_(trace) {}
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override {
    trace_->push_back(name());
    return PassNext(bb);
  }
  FilterTraits traits() const override { return {.needs_bytes = false}; }

 private:
  std::vector<std::string>* trace_;
};

// Upper-cases ASCII letters; reads every bucket (file buckets included).
class UpperFilter : public OutputFilter {
 public:
  UpperFilter() : OutputFilter("UPPER", FilterKind::kResource) {}
  [[nodiscard]] absl::StatusOr<Flow> Filter(Brigade& bb) override {
    Brigade out(bb.allocator());
    while (!bb.empty()) {
      Bucket* b = bb.front();
      if (b->is_metadata()) {
        out.Append(bb.Remove(b));
        continue;
      }
      absl::StatusOr<absl::string_view> v = b->Read();
      if (!v.ok()) return v.status();
      std::string up(*v);
      for (char& c : up) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
      if (absl::Status s = out.WriteCopy(up); !s.ok()) return s;
      bb.Delete(b);
    }
    return PassNext(out);
  }
};

}  // namespace brigade::filters::test

#endif  // TESTS_FILTERS_TEST_FILTERS_H_
