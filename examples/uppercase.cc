// UPPERCASE: an output filter written with the stream API's read/print loop (mod_perl's
// $f->read / $f->print): ASCII letters upper-cased, every other byte unchanged. The stream
// adapter keeps FLUSH and EOS in order, so FLUSH still pushes out what came before it.
//   SetOutputFilter UPPERCASE        brigade-filter UPPERCASE < in > out

#include <string>

#include "filters/options.h"
#include "filters/stream_filter.h"
#include "examples/examples.h"
#include "module/module.h"

namespace brigade::examples {
namespace {

struct UppercaseOptions {
  size_t read_size = 8192;  // bytes read per loop
  static const filters::OptionTable<UppercaseOptions>& Table() {
    static const auto* table =
        &(*new filters::OptionTable<UppercaseOptions>())
             .Int("read", [](UppercaseOptions& o) -> size_t& { return o.read_size; }, 1, 1 << 20,
                  "bytes read per loop");
    return *table;
  }
};

class UppercaseFilter : public filters::StreamLoopFilter {
 public:
  explicit UppercaseFilter(const UppercaseOptions& o)
      : StreamLoopFilter("UPPERCASE", filters::FilterKind::kResource), read_size_(o.read_size) {}
  filters::FilterTraits traits() const override {
    return {.needs_bytes = true, .preserves_flush = true, .max_buffered_bytes = 0};
  }

 protected:
  [[nodiscard]] absl::Status Run(filters::StreamIo& io) override {
    std::string buf;
    while (true) {
      absl::StatusOr<size_t> n = io.Read(&buf, read_size_);
      if (!n.ok()) return n.status();
      if (*n == 0) return absl::OkStatus();
      for (char& c : buf) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      }
      if (absl::Status s = io.Print(buf); !s.ok()) return s;
    }
  }

 private:
  size_t read_size_;
};

}  // namespace

modules::Module UppercaseModule() {
  return {"uppercase", [](modules::ModuleContext& ctx) {
            return ctx.filters().RegisterOutput<UppercaseOptions>(
                {.name = "UPPERCASE",
                 .kind = filters::FilterKind::kResource,
                 .description = "upper-case ASCII letters (the stream API's read/print loop)"},
                UppercaseOptions::Table(),
                [](const UppercaseOptions& o) -> std::unique_ptr<filters::OutputFilter> {
                  return std::make_unique<UppercaseFilter>(o);
                });
          }};
}
BRIGADE_MODULE(UppercaseModule);

}  // namespace brigade::examples
