#include "handlers/named_handlers.h"

#include "gtest/gtest.h"
#include "handlers/request.h"

namespace brigade::handlers {
namespace {

Outcome Ok(Request&) { return Outcome::Ok(); }
Outcome OkConnection(Connection&) { return Outcome::Ok(); }

TEST(NamedHandlersTest, FindsAHandlerByPhaseAndName) {
  NamedHandlers named;
  ASSERT_TRUE(named.Add(Phase::kAccess, "deny-from", Ok).ok());
  ASSERT_TRUE(named.Add(Phase::kResponse, "hello", Ok).ok());
  absl::StatusOr<HandlerEntry<Request>> e = named.Find(Phase::kAccess, "deny-from");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->name, "deny-from");
  EXPECT_EQ(named.Names(Phase::kResponse), (std::vector<std::string>{"hello"}));
}

TEST(NamedHandlersTest, AHandlerOfAnotherPhaseIsNamedInTheError) {
  NamedHandlers named;
  ASSERT_TRUE(named.Add(Phase::kAccess, "deny-from", Ok).ok());
  EXPECT_EQ(named.Find(Phase::kResponse, "deny-from").status().message(),
            "deny-from is a handler for access, not for response");
  EXPECT_EQ(named.Find(Phase::kResponse, "nope").status().message(),
            "no response handler named nope");
  EXPECT_EQ(named.Find(Phase::kResponse, "nope").status().code(), absl::StatusCode::kNotFound);
}

TEST(NamedHandlersTest, DuplicatesAndWrongScopesAreRefused) {
  NamedHandlers named;
  ASSERT_TRUE(named.Add(Phase::kResponse, "x", Ok).ok());
  EXPECT_EQ(named.Add(Phase::kResponse, "x", Ok).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(named.Add(Phase::kLog, "x", Ok).ok()) << "one name may serve several phases";
  EXPECT_EQ(named.Add(Phase::kPreConnection, "y", Ok).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(named.AddConnection(Phase::kResponse, "y", OkConnection).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(named.AddConnection(Phase::kProcessConnection, "echo", OkConnection).ok());
  EXPECT_TRUE(named.FindConnection(Phase::kProcessConnection, "echo").ok());
  EXPECT_FALSE(named.FindConnection(Phase::kPreConnection, "echo").ok());
}

}  // namespace
}  // namespace brigade::handlers
