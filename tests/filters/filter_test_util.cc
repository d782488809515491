#include "tests/filters/filter_test_util.h"

#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "filters/chain.h"
#include "filters/core_input.h"

namespace brigade::filters::test {
namespace {

std::string TempPath(absl::string_view tag) {
  const char* dir = std::getenv("TEST_TMPDIR");
  static int counter = 0;
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", tag, "_", getpid(), "_", ++counter);
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

[[nodiscard]] absl::StatusOr<Output> RunFilter(std::unique_ptr<OutputFilter> filter,
                                               Exchange& exchange,
                                               const std::vector<std::string>& pieces, bool eos) {
  AllocatorHandle alloc = BucketAllocator::Create({.block_size = 512});
  Brigade collected(alloc.get());
  OutputChain chain(&exchange);
  chain.Add(std::move(filter));
  chain.Add(std::make_unique<CollectFilter>(&collected));
  Brigade bb(alloc.get());
  for (const std::string& p : pieces) {
    if (p == "|") {
      absl::StatusOr<Flow> f = chain.Pass(bb);
      if (!f.ok()) return f.status();
    } else if (p == "<FLUSH>") {
      bb.Append(Bucket::Flush(alloc.get()));
    } else {
      bb.Append(Bucket::CopyOf(alloc.get(), p));
    }
  }
  if (eos) bb.Append(Bucket::Eos(alloc.get()));
  absl::StatusOr<Flow> f = chain.Pass(bb);
  if (!f.ok()) return f.status();
  Output out;
  for (Bucket& b : collected) {
    if (b.is_metadata()) {
      out.rendered += "<" + std::string(b.kind_name()) + ">";
      continue;
    }
    absl::StatusOr<absl::string_view> v = b.Read();
    if (!v.ok()) return v.status();
    out.bytes += std::string(*v);
    out.rendered += std::string(*v);
  }
  return out;
}

[[nodiscard]] absl::StatusOr<std::string> RunCommand(const std::string& command,
                                                     absl::string_view input) {
  std::string in = TempPath("in"), out = TempPath("out"), err = TempPath("err");
  {
    std::ofstream f(in, std::ios::binary);
    f.write(input.data(), static_cast<std::streamsize>(input.size()));
  }
  std::string full = absl::StrCat("(", command, ") <", in, " >", out, " 2>", err);
  int rc = std::system(full.c_str());
  std::string result = Slurp(out), errors = Slurp(err);
  unlink(in.c_str());
  unlink(out.c_str());
  unlink(err.c_str());
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("`", command, "` exited with ", WEXITSTATUS(rc), ": ",
                                            errors));
  }
  return result;
}

std::string ZlibGzip(absl::string_view data, int level) {
  z_stream s{};
  deflateInit2(&s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&s, data.size()) + 64, '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  deflate(&s, Z_FINISH);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

[[nodiscard]] absl::StatusOr<std::string> ZlibGunzip(absl::string_view data) {
  z_stream s{};
  inflateInit2(&s, 15 + 16);
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    s.next_out = reinterpret_cast<Bytef*>(buf);
    s.avail_out = sizeof(buf);
    rc = inflate(&s, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - s.avail_out);
    if (rc == Z_BUF_ERROR && s.avail_in == 0) break;
  }
  inflateEnd(&s);
  if (rc != Z_STREAM_END) return absl::InvalidArgumentError(absl::StrCat("zlib inflate: ", rc));
  return out;
}

}  // namespace brigade::filters::test
