#include "handlers/hooks.h"

#include "absl/strings/str_cat.h"

namespace brigade::handlers {

std::string Outcome::DebugString() const {
  switch (code_) {
    case Code::kOk:
      return "OK";
    case Code::kDeclined:
      return "DECLINED";
    case Code::kDone:
      return "DONE";
    case Code::kHttpStatus:
      return absl::StrCat(http_status_);
    case Code::kSuspended:
      return "SUSPENDED";
  }
  return "?";
}

absl::string_view RunTypeName(RunType type) {
  switch (type) {
    case RunType::kVoid:
      return "VOID";
    case RunType::kRunAll:
      return "RUN_ALL";
    case RunType::kRunFirst:
      return "RUN_FIRST";
  }
  return "?";
}

}  // namespace brigade::handlers
