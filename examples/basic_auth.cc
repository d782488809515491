// basic-auth and require-user: HTTP Basic authentication (RFC 7617) and a user check.
//   AuthenHandler basic-auth   AuthName REALM   AuthUser NAME PASSWORD   (repeatable)
//   AuthzHandler require-user  RequireUser NAME...
// A missing, malformed or wrong "Authorization: Basic" gets 401 with
// WWW-Authenticate: Basic realm="REALM"; the right one sets the request's user (the access
// log's %u). require-user answers 403 to an authenticated user not listed. Passwords are
// compared in constant time. Directives work in server scope and <Location>; a Location's
// users add to the server's, its realm and its required users replace the server's.

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "handlers/request.h"
#include "examples/examples.h"
#include "module/module.h"

namespace brigade::examples {
namespace {

using handlers::Outcome;
using handlers::Request;

using Users = std::vector<std::pair<std::string, std::string>>;  // name, password

handlers::ConfigSlot<std::string> realm;
handlers::ConfigSlot<Users> users;
handlers::ConfigSlot<std::vector<std::string>> required;

// Equal iff a == b, in a time that depends only on the lengths, not on where they differ.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

Outcome Challenge(Request& r) {
  std::string name = realm.Get(r.config());
  r.response_headers.Set("WWW-Authenticate",
                         absl::StrCat("Basic realm=\"", name.empty() ? "brigaded" : name, "\""));
  return Outcome::Status(401);
}

Outcome BasicAuth(Request& r) {
  absl::string_view header = r.request_headers.Get("Authorization").value_or("");
  header = absl::StripAsciiWhitespace(header);
  if (!absl::StartsWithIgnoreCase(header, "Basic ")) return Challenge(r);
  std::string decoded;
  if (!absl::Base64Unescape(absl::StripAsciiWhitespace(header.substr(6)), &decoded)) {
    return Challenge(r);
  }
  size_t colon = decoded.find(':');
  if (colon == std::string::npos) return Challenge(r);
  absl::string_view name = absl::string_view(decoded).substr(0, colon);
  absl::string_view password = absl::string_view(decoded).substr(colon + 1);
  bool ok = false;
  for (const auto& [user, secret] : users.Get(r.config())) {
    // Every entry is compared, so the time does not say which name exists.
    bool match = ConstantTimeEquals(user, name) & ConstantTimeEquals(secret, password);
    ok = ok || match;
  }
  if (!ok) return Challenge(r);
  r.user = std::string(name);
  return Outcome::Ok();
}

Outcome RequireUser(Request& r) {
  if (r.user.empty()) return Challenge(r);
  for (const std::string& name : required.Get(r.config())) {
    if (name == r.user) return Outcome::Ok();
  }
  return Outcome::Status(403);
}

}  // namespace

modules::Module BasicAuthModule() {
  return {"basic-auth", [](modules::ModuleContext& ctx) -> absl::Status {
            realm = ctx.Slot<std::string>();
            users = ctx.Slot<Users>([](const Users& server, const Users& location) {
              Users all = server;
              all.insert(all.end(), location.begin(), location.end());
              return all;
            });
            required = ctx.Slot<std::vector<std::string>>();
            absl::Status s = ctx.AddDirective(
                {.name = "AuthName", .min_args = 1, .max_args = 1, .syntax = "REALM",
                 .parse = [](const modules::DirectiveArgs& a) -> absl::Status {
                   if (a.args[0].find('"') != std::string::npos) {
                     return absl::InvalidArgumentError("a realm cannot hold '\"'");
                   }
                   realm.Mutable(a.values) = a.args[0];
                   return absl::OkStatus();
                 }});
            if (s.ok()) {
              s = ctx.AddDirective({.name = "AuthUser", .min_args = 2, .max_args = 2,
                                    .syntax = "NAME PASSWORD",
                                    .parse = [](const modules::DirectiveArgs& a) -> absl::Status {
                                      if (a.args[0].find(':') != std::string::npos) {
                                        return absl::InvalidArgumentError(
                                            "a user name cannot hold ':' (RFC 7617)");
                                      }
                                      users.Mutable(a.values).emplace_back(a.args[0], a.args[1]);
                                      return absl::OkStatus();
                                    }});
            }
            if (s.ok()) {
              s = ctx.AddDirective({.name = "RequireUser", .syntax = "NAME...",
                                    .parse = [](const modules::DirectiveArgs& a) -> absl::Status {
                                      std::vector<std::string>& list = required.Mutable(a.values);
                                      list.insert(list.end(), a.args.begin(), a.args.end());
                                      return absl::OkStatus();
                                    }});
            }
            if (s.ok()) s = ctx.handlers().Add(handlers::Phase::kAuthen, "basic-auth", BasicAuth);
            if (s.ok()) s = ctx.handlers().Add(handlers::Phase::kAuthz, "require-user", RequireUser);
            return s;
          }};
}
BRIGADE_MODULE(BasicAuthModule);

}  // namespace brigade::examples
