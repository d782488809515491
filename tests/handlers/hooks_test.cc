#include "handlers/hooks.h"

#include <stdexcept>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace brigade::handlers {
namespace {

struct Ctx {
  std::vector<std::string> ran;
  HandlerStack<Ctx> stack;
};

// A handler that records its name and returns `result`.
std::function<Outcome(Ctx&)> Rec(std::string name, Outcome result) {
  return [name, result](Ctx& c) {
    c.ran.push_back(name);
    return result;
  };
}

using Runs = std::vector<std::string>;

TEST(HooksTest, VoidRunsEveryHandlerWhateverTheyReturn) {
  Hook<Ctx> hook(RunType::kVoid);
  hook.Register(Rec("a", Outcome::Status(500)));
  hook.Register(Rec("b", Outcome::Done()));
  hook.Register(Rec("c", Outcome::Declined()));
  Ctx c;
  EXPECT_EQ(hook.Run(c), Outcome::Ok());
  EXPECT_EQ(c.ran, (Runs{"a", "b", "c"}));
}

// A handler's exception stops at the hook runner as a 500: RUN_ALL stops there, as at a returned
// 500; a void hook runs the rest.
TEST(HooksTest, AHandlerThatThrowsCountsAsA500) {
  auto thrower = [](std::string name) {
    return [name](Ctx& c) -> Outcome {
      c.ran.push_back(name);
      throw std::runtime_error("boom");
    };
  };
  Hook<Ctx> all(RunType::kRunAll);
  all.Register(Rec("ok", Outcome::Ok()));
  all.Register(thrower("throws"), Order::kMiddle, "throws");
  all.Register(Rec("never", Outcome::Ok()));
  Ctx c;
  EXPECT_EQ(all.Run(c), Outcome::Status(500));
  EXPECT_EQ(c.ran, (Runs{"ok", "throws"}));

  Hook<Ctx> each(RunType::kVoid);
  each.Register([](Ctx& c) -> Outcome {
    c.ran.push_back("int");
    throw 7;
  });
  each.Register(Rec("after", Outcome::Ok()));
  Ctx d;
  EXPECT_EQ(each.Run(d), Outcome::Ok());
  EXPECT_EQ(d.ran, (Runs{"int", "after"}));
}

TEST(HooksTest, RunAllStopsAtFirstResultOtherThanOkOrDeclined) {
  Hook<Ctx> hook(RunType::kRunAll);
  hook.Register(Rec("ok", Outcome::Ok()));
  hook.Register(Rec("declined", Outcome::Declined()));
  hook.Register(Rec("forbidden", Outcome::Status(403)));
  hook.Register(Rec("never", Outcome::Ok()));
  Ctx c;
  EXPECT_EQ(hook.Run(c), Outcome::Status(403));
  EXPECT_EQ(c.ran, (Runs{"ok", "declined", "forbidden"}));
}

TEST(HooksTest, RunAllReturnsOkWhenAllRan) {
  Hook<Ctx> hook(RunType::kRunAll);
  hook.Register(Rec("a", Outcome::Declined()));
  hook.Register(Rec("b", Outcome::Ok()));
  Ctx c;
  EXPECT_EQ(hook.Run(c), Outcome::Ok());
  EXPECT_EQ(c.ran, (Runs{"a", "b"}));
}

TEST(HooksTest, RunAllStopsAtDone) {
  Hook<Ctx> hook(RunType::kRunAll);
  hook.Register(Rec("done", Outcome::Done()));
  hook.Register(Rec("never", Outcome::Ok()));
  Ctx c;
  EXPECT_EQ(hook.Run(c), Outcome::Done());
  EXPECT_EQ(c.ran, (Runs{"done"}));
}

TEST(HooksTest, RunFirstStopsAtFirstResultOtherThanDeclined) {
  Hook<Ctx> hook(RunType::kRunFirst);
  hook.Register(Rec("d1", Outcome::Declined()));
  hook.Register(Rec("ok", Outcome::Ok()));
  hook.Register(Rec("never", Outcome::Ok()));
  Ctx c;
  EXPECT_EQ(hook.Run(c), Outcome::Ok());
  EXPECT_EQ(c.ran, (Runs{"d1", "ok"}));
}

TEST(HooksTest, RunFirstReturnsDeclinedWhenAllDecline) {
  Hook<Ctx> hook(RunType::kRunFirst);
  hook.Register(Rec("a", Outcome::Declined()));
  hook.Register(Rec("b", Outcome::Declined()));
  Ctx c;
  EXPECT_EQ(hook.Run(c), Outcome::Declined());
  EXPECT_EQ(c.ran, (Runs{"a", "b"}));
  Hook<Ctx> empty(RunType::kRunFirst);
  EXPECT_EQ(empty.Run(c), Outcome::Declined());
}

TEST(HooksTest, RunFirstStopsAtAnErrorStatus) {
  Hook<Ctx> hook(RunType::kRunFirst);
  hook.Register(Rec("auth", Outcome::Status(401)));
  hook.Register(Rec("never", Outcome::Ok()));
  Ctx c;
  EXPECT_EQ(hook.Run(c), Outcome::Status(401));
  EXPECT_EQ(c.ran, (Runs{"auth"}));
}

TEST(HooksTest, OrderConstantsSortAndEqualOrdersKeepRegistrationOrder) {
  Hook<Ctx> hook(RunType::kVoid);
  hook.Register(Rec("last1", Outcome::Ok()), Order::kLast);
  hook.Register(Rec("middle1", Outcome::Ok()));
  hook.Register(Rec("really_last", Outcome::Ok()), Order::kReallyLast);
  hook.Register(Rec("first", Outcome::Ok()), Order::kFirst);
  hook.Register(Rec("middle2", Outcome::Ok()), Order::kMiddle);
  hook.Register(Rec("really_first", Outcome::Ok()), Order::kReallyFirst);
  hook.Register(Rec("last2", Outcome::Ok()), Order::kLast);
  Ctx c;
  hook.Run(c);
  EXPECT_EQ(c.ran, (Runs{"really_first", "first", "middle1", "middle2", "last1", "last2",
                         "really_last"}));
}

TEST(HooksTest, PushedHandlersRunAfterRegisteredOnesFifoAndTwiceWhenPushedTwice) {
  Hook<Ctx> hook(RunType::kVoid);
  hook.Register(Rec("registered", Outcome::Ok()));
  Ctx c;
  c.stack.Push({Rec("p1", Outcome::Ok()), "p1"});
  c.stack.Push({Rec("p2", Outcome::Ok()), "p2"});
  c.stack.Push({Rec("p1", Outcome::Ok()), "p1"});
  hook.Run(c, &c.stack);
  EXPECT_EQ(c.ran, (Runs{"registered", "p1", "p2", "p1"}));
}

// Configured handlers (the per-phase directives) sit where a kMiddle hook would, after the
// kMiddle ones, and before anything pushed at run time.
TEST(HooksTest, ConfiguredHandlersRunAtMiddleInTheirOrderBeforePushedOnes) {
  Hook<Ctx> hook(RunType::kVoid);
  hook.Register(Rec("last", Outcome::Ok()), Order::kReallyLast, "last");
  hook.Register(Rec("first", Outcome::Ok()), Order::kFirst, "first");
  hook.Register(Rec("middle", Outcome::Ok()), Order::kMiddle, "middle");
  std::vector<HandlerEntry<Ctx>> configured = {{Rec("c1", Outcome::Ok()), "c1"},
                                               {Rec("c2", Outcome::Ok()), "c2"},
                                               {Rec("c1", Outcome::Ok()), "c1"}};
  Ctx c;
  c.stack.Configure(&configured);
  c.stack.Push({Rec("pushed", Outcome::Ok()), "pushed"});
  hook.Run(c, &c.stack);
  Runs want = {"first", "middle", "c1", "c2", "c1", "last", "pushed"};
  EXPECT_EQ(c.ran, want);
  EXPECT_EQ(hook.Names(&c.stack), want);
}

TEST(HooksTest, ConfiguredHandlersRunWithNoRegisteredOnesAndStopARunFirst) {
  Hook<Ctx> hook(RunType::kRunFirst);
  std::vector<HandlerEntry<Ctx>> configured = {{Rec("declines", Outcome::Declined()), "d"},
                                               {Rec("answers", Outcome::Status(403)), "a"},
                                               {Rec("never", Outcome::Ok()), "n"}};
  Ctx c;
  c.stack.Configure(&configured);
  EXPECT_EQ(hook.Run(c, &c.stack), Outcome::Status(403));
  EXPECT_EQ(c.ran, (Runs{"declines", "answers"}));
}

TEST(HooksTest, ModuleConstraintsMoveHooksAcrossOrdersOnlyAsFarAsNeeded) {
  Hook<Ctx> hook(RunType::kVoid);
  hook.Register(Rec("auth", Outcome::Ok()), {.order = Order::kFirst, .after = {}, .before = {}},
                "auth", "auth");
  // Wants to run before auth although registered at kMiddle, and after log (kReallyLast).
  hook.Register(Rec("rewrite", Outcome::Ok()),
                {.order = Order::kMiddle, .after = {}, .before = {"auth"}}, "rewrite", "rewrite");
  hook.Register(Rec("stats", Outcome::Ok()),
                {.order = Order::kReallyFirst, .after = {"rewrite"}, .before = {}}, "stats", "stats");
  hook.Register(Rec("plain", Outcome::Ok()), Order::kMiddle, "plain");
  ASSERT_TRUE(hook.Sort().ok());
  Ctx c;
  hook.Run(c);
  EXPECT_EQ(c.ran, (Runs{"rewrite", "stats", "auth", "plain"}));
}

TEST(HooksTest, ACycleOfModuleConstraintsIsAnErrorNamingTheModules) {
  Hook<Ctx> hook(RunType::kVoid);
  hook.Register(Rec("a", Outcome::Ok()), {.order = Order::kMiddle, .after = {"b"}, .before = {}},
                "a", "mod_a");
  hook.Register(Rec("b", Outcome::Ok()), {.order = Order::kMiddle, .after = {"mod_a"}, .before = {}},
                "b", "b");
  absl::Status s = hook.Sort();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "hook ordering constraints form a cycle among modules b, mod_a");
}

TEST(HooksTest, HandlerPushedOntoRunningPhaseRunsInTheSamePass) {
  Hook<Ctx> hook(RunType::kRunAll);
  hook.Register(
      [](Ctx& c) {
        c.ran.push_back("pusher");
        c.stack.Push({Rec("pushed-now", Outcome::Ok()), "pushed-now"});
        return Outcome::Ok();
      },
      Order::kMiddle, "pusher");
  Ctx c;
  EXPECT_EQ(hook.Run(c, &c.stack), Outcome::Ok());
  EXPECT_EQ(c.ran, (Runs{"pusher", "pushed-now"}));
}

TEST(HooksTest, PushedHandlerCanItselfPushAndResultsStillFollowRunType) {
  Hook<Ctx> hook(RunType::kRunFirst);
  Ctx c;
  c.stack.Push({[](Ctx& ctx) {
                  ctx.ran.push_back("a");
                  ctx.stack.Push({Rec("b", Outcome::Status(418)), "b"});
                  return Outcome::Declined();
                },
                "a"});
  EXPECT_EQ(hook.Run(c, &c.stack), Outcome::Status(418));
  EXPECT_EQ(c.ran, (Runs{"a", "b"}));
}

TEST(HooksTest, SetReplacesTheListAndGetShowsIt) {
  Hook<Ctx> hook(RunType::kVoid);
  hook.Register(Rec("registered", Outcome::Ok()), Order::kMiddle, "registered");
  Ctx c;
  c.stack.Push({Rec("pushed", Outcome::Ok()), "pushed"});
  EXPECT_EQ(hook.Names(&c.stack), (Runs{"registered", "pushed"}));
  c.stack.Set({{Rec("x", Outcome::Ok()), "x"}, {Rec("y", Outcome::Ok()), "y"}});
  EXPECT_EQ(hook.Names(&c.stack), (Runs{"x", "y"}));
  hook.Run(c, &c.stack);
  EXPECT_EQ(c.ran, (Runs{"x", "y"}));
  EXPECT_EQ(hook.Names(), (Runs{"registered"}));  // the registered list is untouched
}

TEST(OutcomeTest, DebugStrings) {
  EXPECT_EQ(Outcome::Ok().DebugString(), "OK");
  EXPECT_EQ(Outcome::Declined().DebugString(), "DECLINED");
  EXPECT_EQ(Outcome::Done().DebugString(), "DONE");
  EXPECT_EQ(Outcome::Status(404).DebugString(), "404");
  EXPECT_EQ(RunTypeName(RunType::kRunFirst), "RUN_FIRST");
}

// A handler's own bug, caught in debug builds (--config=asan): a status that is no HTTP
// status, or reading the status of an outcome that has none.
TEST(HooksTest, AnOutcomeOutsideTheHttpStatusesFailsTheDebugCheck) {
#ifdef NDEBUG
  GTEST_SKIP() << "REQUIRES checks are compiled out with NDEBUG";
#endif
  EXPECT_DEATH(Outcome::Status(42), "REQUIRES failed");
  EXPECT_DEATH((void)Outcome::Ok().http_status(), "REQUIRES failed: is_http_status\\(\\)");
  EXPECT_EQ(Outcome::Status(599).http_status(), 599);
}

}  // namespace
}  // namespace brigade::handlers
