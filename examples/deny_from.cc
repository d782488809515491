// deny-from: an access handler (AccessHandler deny-from) with the directive
//   DenyFrom ADDRESS|CIDR...        (repeatable; IPv4; server scope and <Location>)
// A client in a listed range gets 403; any other client, the handler declines. A Location's
// ranges add to the server's.

#include <arpa/inet.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "handlers/request.h"
#include "examples/examples.h"
#include "module/module.h"

namespace brigade::examples {
namespace {

using handlers::Outcome;
using handlers::Request;

struct Range {
  uint32_t network = 0;  // host order, masked
  uint32_t mask = 0;
};

handlers::ConfigSlot<std::vector<Range>> denied;

std::optional<uint32_t> ParseAddress(const std::string& text) {
  in_addr a;
  if (inet_pton(AF_INET, text.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

[[nodiscard]] absl::StatusOr<Range> ParseRange(const std::string& word) {
  size_t slash = word.find('/');
  std::optional<uint32_t> address = ParseAddress(word.substr(0, slash));
  if (!address) return absl::InvalidArgumentError(absl::StrCat("'", word, "' is not an IPv4 address"));
  int bits = 32;
  if (slash != std::string::npos &&
      (!absl::SimpleAtoi(word.substr(slash + 1), &bits) || bits < 0 || bits > 32)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", word, "': the prefix length is not from 0 to 32"));
  }
  uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
  return Range{*address & mask, mask};
}

Outcome DenyFrom(Request& r) {
  const std::string& peer = r.connection().peer;  // "ADDRESS:PORT"
  std::optional<uint32_t> client = ParseAddress(peer.substr(0, peer.rfind(':')));
  if (!client) return Outcome::Declined();
  for (const Range& range : denied.Get(r.config())) {
    if ((*client & range.mask) == range.network) return Outcome::Status(403);
  }
  return Outcome::Declined();
}

}  // namespace

modules::Module DenyFromModule() {
  return {"deny-from", [](modules::ModuleContext& ctx) -> absl::Status {
            denied = ctx.Slot<std::vector<Range>>(
                [](const std::vector<Range>& server, const std::vector<Range>& location) {
                  std::vector<Range> all = server;
                  all.insert(all.end(), location.begin(), location.end());
                  return all;
                });
            absl::Status s = ctx.AddDirective(
                {.name = "DenyFrom",
                 .syntax = "ADDRESS|CIDR...",
                 .parse = [](const modules::DirectiveArgs& a) -> absl::Status {
                   for (const std::string& word : a.args) {
                     absl::StatusOr<Range> range = ParseRange(word);
                     if (!range.ok()) return range.status();
                     denied.Mutable(a.values).push_back(*range);
                   }
                   return absl::OkStatus();
                 }});
            if (!s.ok()) return s;
            return ctx.handlers().Add(handlers::Phase::kAccess, "deny-from", DenyFrom);
          }};
}
BRIGADE_MODULE(DenyFromModule);

}  // namespace brigade::examples
