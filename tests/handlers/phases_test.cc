#include "handlers/phases.h"

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "filters/core_input.h"
#include "gtest/gtest.h"
#include "handlers/request.h"

namespace brigade::handlers {
namespace {

using Runs = std::vector<std::string>;

class PhasesTest : public ::testing::Test {
 protected:
  PhasesTest() { connection_.output().Add(std::make_unique<filters::CollectFilter>(&wire_)); }

  // Registers a handler on every request phase that records the phase and returns OK
  // (DECLINED for RUN_FIRST phases, so that the cycle continues).
  void TraceAllPhases() {
    for (int i = static_cast<int>(Phase::kPostReadRequest); i < kPhaseCount; ++i) {
      Phase p = static_cast<Phase>(i);
      hooks_.request(p).Register(
          [this, p](Request&) {
            ran_.push_back(std::string(PhaseName(p)));
            return RunTypeOf(p) == RunType::kRunFirst ? Outcome::Declined() : Outcome::Ok();
          },
          Order::kFirst);
    }
  }
  // Registers a response handler writing `body`.
  void RespondWith(std::string body) {
    hooks_.request(Phase::kResponse).Register([body](Request& r) {
      Brigade bb(r.allocator());
      if (!bb.Write(body).ok()) return Outcome::Status(500);
      bb.Setaside();
      bb.Append(Bucket::Eos(r.allocator()));
      return r.Pass(bb).ok() ? Outcome::Ok() : Outcome::Status(500);
    });
  }
  // The bytes and metadata that reached the connection: "body<EOS>".
  std::string Wire() { return Rendered(wire_); }
  static std::string Rendered(Brigade& wire) {
    std::string out;
    for (Bucket& b : wire) {
      if (b.is_metadata()) {
        out += "<" + std::string(b.kind_name()) + ">";
      } else {
        out += std::string(*b.Read());
      }
    }
    return out;
  }
  int EosCount() {
    int n = 0;
    for (Bucket& b : wire_) n += b.is_eos();
    return n;
  }

  Hooks hooks_;
  Connection connection_;
  Brigade wire_{connection_.allocator()};
  Runs ran_;
};

TEST_F(PhasesTest, RunTypesFollowTheDesignTable) {
  EXPECT_EQ(RunTypeOf(Phase::kOpenLogs), RunType::kRunAll);
  EXPECT_EQ(RunTypeOf(Phase::kPostConfig), RunType::kRunAll);
  EXPECT_EQ(RunTypeOf(Phase::kChildInit), RunType::kVoid);
  EXPECT_EQ(RunTypeOf(Phase::kPreConnection), RunType::kRunAll);
  EXPECT_EQ(RunTypeOf(Phase::kProcessConnection), RunType::kRunFirst);
  EXPECT_EQ(RunTypeOf(Phase::kPostReadRequest), RunType::kRunAll);
  EXPECT_EQ(RunTypeOf(Phase::kTranslate), RunType::kRunFirst);
  EXPECT_EQ(RunTypeOf(Phase::kHeaderParser), RunType::kRunAll);
  EXPECT_EQ(RunTypeOf(Phase::kAccess), RunType::kRunAll);
  EXPECT_EQ(RunTypeOf(Phase::kAuthen), RunType::kRunFirst);
  EXPECT_EQ(RunTypeOf(Phase::kAuthz), RunType::kRunFirst);
  EXPECT_EQ(RunTypeOf(Phase::kType), RunType::kRunFirst);
  EXPECT_EQ(RunTypeOf(Phase::kFixups), RunType::kRunAll);
  EXPECT_EQ(RunTypeOf(Phase::kResponse), RunType::kRunFirst);
  EXPECT_EQ(RunTypeOf(Phase::kLog), RunType::kRunAll);
  EXPECT_EQ(RunTypeOf(Phase::kCleanup), RunType::kRunAll);
  for (int i = 0; i < kPhaseCount; ++i) {
    Phase p = static_cast<Phase>(i);
    if (p <= Phase::kChildInit) {
      EXPECT_EQ(hooks_.server(p).run_type(), RunTypeOf(p));
    } else if (p <= Phase::kProcessConnection) {
      EXPECT_EQ(hooks_.connection(p).run_type(), RunTypeOf(p));
    } else {
      EXPECT_EQ(hooks_.request(p).run_type(), RunTypeOf(p));
    }
  }
}

TEST_F(PhasesTest, RequestPhasesRunInOrderAndProduceOneResponse) {
  TraceAllPhases();
  RespondWith("hello");
  Request r(&connection_);
  Outcome o = RunRequestCycle(hooks_, r);
  EXPECT_EQ(o, Outcome::Ok());
  EXPECT_EQ(ran_, (Runs{"post_read_request", "translate", "header_parser", "access", "authen",
                        "authz", "type", "fixups", "response", "log", "cleanup"}));
  EXPECT_EQ(Wire(), "hello<EOS>");
  EXPECT_FALSE(r.aborted);
}

TEST_F(PhasesTest, DoneSkipsToLogAndCleanup) {
  TraceAllPhases();
  hooks_.request(Phase::kAccess).Register([](Request& r) {
    Brigade bb(r.allocator());
    bb.Append(Bucket::Eos(r.allocator()));
    return r.Pass(bb).ok() ? Outcome::Done() : Outcome::Status(500);
  });
  RespondWith("never");
  Request r(&connection_);
  EXPECT_EQ(RunRequestCycle(hooks_, r), Outcome::Done());
  EXPECT_EQ(ran_, (Runs{"post_read_request", "translate", "header_parser", "access", "log",
                        "cleanup"}));
  EXPECT_EQ(EosCount(), 1);
}

TEST_F(PhasesTest, ErrorStatusSkipsToLogAndCleanupWithOneErrorResponse) {
  TraceAllPhases();
  hooks_.request(Phase::kAuthz).Register([](Request&) { return Outcome::Status(403); });
  RespondWith("never");
  Request r(&connection_);
  EXPECT_EQ(RunRequestCycle(hooks_, r), Outcome::Status(403));
  EXPECT_EQ(ran_, (Runs{"post_read_request", "translate", "header_parser", "access", "authen",
                        "authz", "log", "cleanup"}));
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(Wire().find("<h1>403 Forbidden</h1>"), std::string::npos) << Wire();
  EXPECT_EQ(EosCount(), 1);
  EXPECT_EQ(r.response_headers.Get("Content-Type"), "text/html; charset=utf-8");
}

TEST_F(PhasesTest, ResponseWithNoHandlerIs404) {
  Request r(&connection_);
  EXPECT_EQ(RunRequestCycle(hooks_, r), Outcome::Status(404));
  EXPECT_NE(Wire().find("404 Not Found"), std::string::npos);
  EXPECT_EQ(EosCount(), 1);
}

TEST_F(PhasesTest, OkHandlerThatSentNothingStillYieldsOneEmptyResponse) {
  hooks_.request(Phase::kResponse).Register([](Request&) { return Outcome::Ok(); });
  Request r(&connection_);
  EXPECT_EQ(RunRequestCycle(hooks_, r), Outcome::Ok());
  EXPECT_EQ(Wire(), "<EOS>");
}

TEST_F(PhasesTest, HandlerThatForgetsEosGetsItOnce) {
  hooks_.request(Phase::kResponse).Register([](Request& r) {
    Brigade bb(r.allocator());
    if (!bb.Write("partial").ok() || !r.Pass(bb).ok()) return Outcome::Status(500);
    return Outcome::Ok();
  });
  Request r(&connection_);
  RunRequestCycle(hooks_, r);
  EXPECT_EQ(Wire(), "partial<EOS>");
}

TEST_F(PhasesTest, ErrorAfterResponseStartedAbortsInsteadOfSendingASecondResponse) {
  TraceAllPhases();
  hooks_.request(Phase::kResponse).Register([](Request& r) {
    Brigade bb(r.allocator());
    if (!bb.Write("half a bo").ok() || !r.Pass(bb).ok()) return Outcome::Status(500);
    return Outcome::Status(500);  // fails mid-body
  });
  Request r(&connection_);
  EXPECT_EQ(RunRequestCycle(hooks_, r), Outcome::Status(500));
  EXPECT_EQ(Wire(), "half a bo<ERROR>");
  EXPECT_EQ(EosCount(), 0);  // no EOS: a chunked body must not look complete
  EXPECT_TRUE(r.aborted);
  EXPECT_FALSE(r.keep_alive);
  EXPECT_EQ(ran_.back(), "cleanup");
}

TEST_F(PhasesTest, CleanupsPushedAtRunTimeRunFifoAfterLog) {
  Runs order;
  hooks_.request(Phase::kResponse).Register([&order](Request& r) {
    r.PushHandler(Phase::kCleanup, [&order](Request&) {
      order.push_back("first pushed");
      return Outcome::Ok();
    });
    r.PushHandler(Phase::kCleanup, [&order](Request&) {
      order.push_back("second pushed");
      return Outcome::Ok();
    });
    return Outcome::Ok();
  });
  hooks_.request(Phase::kLog).Register([&order](Request&) {
    order.push_back("log");
    return Outcome::Ok();
  });
  Request r(&connection_);
  RunRequestCycle(hooks_, r);
  EXPECT_EQ(order, (Runs{"log", "first pushed", "second pushed"}));
}

TEST_F(PhasesTest, ResponseHandlerPushedByTranslateRuns) {
  hooks_.request(Phase::kTranslate).Register([](Request& r) {
    r.PushHandler(Phase::kResponse, [](Request& req) {
      Brigade bb(req.allocator());
      bb.Append(Bucket::Immortal(req.allocator(), "pushed handler"));
      bb.Append(Bucket::Eos(req.allocator()));
      return req.Pass(bb).ok() ? Outcome::Ok() : Outcome::Status(500);
    });
    return Outcome::Declined();
  });
  Request r(&connection_);
  EXPECT_EQ(RunRequestCycle(hooks_, r), Outcome::Ok());
  EXPECT_EQ(Wire(), "pushed handler<EOS>");
}

TEST_F(PhasesTest, HeadErrorResponseHasLengthButNoBody) {
  Request r(&connection_);
  r.method = "HEAD";
  EXPECT_EQ(RunRequestCycle(hooks_, r), Outcome::Status(404));
  EXPECT_EQ(Wire(), "<EOS>");
  EXPECT_TRUE(r.response_headers.Has("Content-Length"));
}

TEST_F(PhasesTest, ReadBodyPullsThroughRequestAndConnectionInputChains) {
  Brigade src(connection_.allocator());
  src.Append(Bucket::Immortal(connection_.allocator(), "request body"));
  connection_.input().Add(std::make_unique<filters::CoreInputFilter>(std::move(src)));
  hooks_.request(Phase::kResponse).Register([](Request& r) {
    Brigade body(r.allocator());
    while (true) {
      absl::StatusOr<size_t> n = r.TryReadBody(body, 5);
      if (!n.ok()) return Outcome::Status(HttpStatusFor(n.status()));
      if (*n == 0) break;
    }
    body.Append(Bucket::Eos(r.allocator()));
    return r.Pass(body).ok() ? Outcome::Ok() : Outcome::Status(500);
  });
  Request r(&connection_);
  EXPECT_EQ(RunRequestCycle(hooks_, r), Outcome::Ok());
  EXPECT_EQ(Wire(), "request body<EOS>");
  EXPECT_TRUE(r.body_done());
}

// Counts its destruction; passes everything on.
class DestroyedFilter : public filters::OutputFilter {
 public:
  explicit DestroyedFilter(int* destroyed)
      : OutputFilter("DESTROYED", filters::FilterKind::kContentSet), destroyed_(destroyed) {}
  ~DestroyedFilter() override { ++*destroyed_; }
  [[nodiscard]] absl::StatusOr<filters::Flow> Filter(Brigade& bb) override {
    return PassNext(bb);
  }

 private:
  int* destroyed_;
};

// A server carries request after request on one record: what a request leaves in it must not
// reach the next. After Reset every member reads as in a new record, what the request held
// (its filters, module state, file, pushed handlers) is gone, and Rebind moves its stream to
// another connection.
TEST_F(PhasesTest, AResetRecordCarriesNothingOfItsRequestIntoTheNext) {
  int destroyed = 0;
  int requests = 0;
  Runs pushed;
  ConfigValues values;
  hooks_.request(Phase::kResponse).Register([&](Request& r) {
    if (++requests == 2) {
      Brigade bb(r.allocator());
      bb.Append(Bucket::Immortal(r.allocator(), "second"));
      bb.Append(Bucket::Eos(r.allocator()));
      return r.Pass(bb).ok() ? Outcome::Ok() : Outcome::Status(500);
    }
    r.PushHandler(Phase::kCleanup, [&pushed](Request&) {
      pushed.push_back("cleanup");
      return Outcome::Ok();
    });
    r.output().Add(std::make_unique<DestroyedFilter>(&destroyed));
    r.state().At(2) = std::shared_ptr<int>(new int(0), [&destroyed](int* p) {
      ++destroyed;
      delete p;
    });
    r.set_config(&values);
    r.handler = "static";
    r.args = "a=1";
    r.user = "alice";
    r.filename = "/srv/x";
    r.file = File::Adopt(-1, /*take_ownership=*/false);
    r.file_status = 404;
    r.the_request = "POST /x HTTP/1.0";
    r.bytes_sent = 9;
    r.request_time = 1234;
    r.document_root = "/srv";
    r.document_root_fd = 7;
    r.body_buffer_size = 1;
    r.body_temp_dir = "/var/tmp";
    r.uri = "/x";
    r.status = 201;
    r.response_headers.Add("X-First", "1");
    r.request_trailers.Add("X-Trailer", "1");
    r.response_trailers.Add("X-Trailer", "1");
    r.notes["deflate"] = "declined";
    Brigade bb(r.allocator());
    bb.Append(Bucket::Immortal(r.allocator(), "first"));
    bb.Append(Bucket::Eos(r.allocator()));
    return r.Pass(bb).ok() ? Outcome::Ok() : Outcome::Status(500);
  });
  Request r(&connection_);
  r.method = "POST";
  r.protocol = "HTTP/1.0";
  r.request_headers.Add("Host", "example.org");
  EXPECT_EQ(RunRequestCycle(hooks_, r), Outcome::Ok());
  EXPECT_EQ(Wire(), "first<EOS>");
  EXPECT_EQ(pushed, (Runs{"cleanup"}));
  EXPECT_EQ(destroyed, 0);

  r.Reset();
  EXPECT_EQ(destroyed, 2);  // the request's filter and its module state
  Request fresh(&connection_);
  EXPECT_EQ(r.method, fresh.method);
  EXPECT_EQ(r.uri, fresh.uri);
  EXPECT_EQ(r.protocol, fresh.protocol);
  EXPECT_EQ(r.status, fresh.status);
  EXPECT_TRUE(r.request_headers.empty());
  EXPECT_TRUE(r.response_headers.empty());
  EXPECT_TRUE(r.request_trailers.empty());
  EXPECT_TRUE(r.response_trailers.empty());
  EXPECT_TRUE(r.notes.empty());
  EXPECT_EQ(r.handler, fresh.handler);
  EXPECT_EQ(r.args, fresh.args);
  EXPECT_EQ(r.user, fresh.user);
  EXPECT_EQ(r.filename, fresh.filename);
  EXPECT_FALSE(r.file);
  EXPECT_EQ(r.file_status, fresh.file_status);
  EXPECT_EQ(r.aborted, fresh.aborted);
  EXPECT_EQ(r.keep_alive, fresh.keep_alive);
  EXPECT_EQ(r.the_request, fresh.the_request);
  EXPECT_EQ(r.bytes_sent, fresh.bytes_sent);
  EXPECT_EQ(r.request_time, fresh.request_time);
  EXPECT_EQ(r.document_root, fresh.document_root);
  EXPECT_EQ(r.document_root_fd, fresh.document_root_fd);
  EXPECT_EQ(&r.config(), &fresh.config());
  EXPECT_EQ(r.state().size(), 0u);
  EXPECT_EQ(r.body_buffer_size, fresh.body_buffer_size);
  EXPECT_EQ(r.body_temp_dir, fresh.body_temp_dir);
  EXPECT_EQ(r.output().Names(), fresh.output().Names());
  EXPECT_EQ(r.input().Names(), fresh.input().Names());
  EXPECT_FALSE(r.input().eos_delivered());
  for (int i = static_cast<int>(Phase::kPostReadRequest); i < kPhaseCount; ++i) {
    EXPECT_FALSE(r.stack(static_cast<Phase>(i)).modified()) << i;
  }
  EXPECT_FALSE(r.response_started());
  EXPECT_FALSE(r.response_finished());
  EXPECT_FALSE(r.body_done());
  EXPECT_EQ(r.parked().task(), nullptr);
  EXPECT_FALSE(r.cycle().responded);
  EXPECT_FALSE(r.cycle().ended);

  Connection other;
  Brigade other_wire(other.allocator());
  other.output().Add(std::make_unique<filters::CollectFilter>(&other_wire));
  r.Rebind(&other);
  EXPECT_EQ(RunRequestCycle(hooks_, r), Outcome::Ok());
  EXPECT_EQ(Wire(), "first<EOS>");  // nothing more on the first connection
  EXPECT_EQ(Rendered(other_wire), "second<EOS>");
  EXPECT_EQ(pushed, (Runs{"cleanup"}));  // the first request's pushed cleanup ran once
  EXPECT_EQ(destroyed, 2);
}

TEST_F(PhasesTest, ServerStartupRunsOpenLogsPostConfigThenChildInit) {
  Runs order;
  hooks_.server(Phase::kChildInit).Register([&](ServerRecord&) {
    order.push_back("child_init");
    return Outcome::Status(500);  // VOID: ignored
  });
  hooks_.server(Phase::kPostConfig).Register([&](ServerRecord&) {
    order.push_back("post_config");
    return Outcome::Ok();
  });
  hooks_.server(Phase::kOpenLogs).Register([&](ServerRecord&) {
    order.push_back("open_logs");
    return Outcome::Ok();
  });
  ServerRecord server;
  EXPECT_TRUE(RunServerConfig(hooks_, server).ok());
  RunChildInit(hooks_, server);
  EXPECT_EQ(order, (Runs{"open_logs", "post_config", "child_init"}));
}

// Pruning asks each hook's HookNeeded of the server, once: a hook the server does not need is
// gone from its phase; one needed, or registered without a HookNeeded, stays where it was.
TEST_F(PhasesTest, PruneLeavesOutTheHooksTheServerDoesNotNeed) {
  auto record = [this](std::string name) {
    return [this, name](Request&) {
      ran_.push_back(name);
      return Outcome::Ok();
    };
  };
  auto configured = [](const ServerRecord& s) { return s.notes.contains("logging"); };
  hooks_.request(Phase::kLog).Register(record("first"), {}, "first", "a");
  hooks_.request(Phase::kLog).Register(record("logger"), {}, "logger", "b", configured);
  hooks_.request(Phase::kLog).Register(record("last"), {}, "last", "c");
  Hooks kept = hooks_;
  ConfigValues values;
  ServerRecord quiet;
  quiet.config = &values;
  hooks_.Prune(quiet);
  EXPECT_EQ(hooks_.request(Phase::kLog).Names(), (Runs{"first", "last"}));
  ServerRecord logging;
  logging.config = &values;
  logging.notes["logging"] = "on";
  kept.Prune(logging);
  Request r(&connection_);
  kept.request(Phase::kLog).Run(r);
  EXPECT_EQ(ran_, (Runs{"first", "logger", "last"}));
}

TEST_F(PhasesTest, ServerConfigStopsAtAFailingOpenLogsWithWhatTheHookSaid) {
  bool post_config_ran = false;
  hooks_.server(Phase::kOpenLogs).Register([](ServerRecord& s) {
    s.failure = "cannot open /x";
    return Outcome::Status(500);
  });
  hooks_.server(Phase::kPostConfig).Register([&](ServerRecord&) {
    post_config_ran = true;
    return Outcome::Ok();
  });
  ServerRecord server;
  EXPECT_EQ(RunServerConfig(hooks_, server).message(),
            "open_logs failed: a hook answered 500: cannot open /x");
  EXPECT_FALSE(post_config_ran);
}

TEST_F(PhasesTest, ProcessConnectionRunsFirstProtocolThatAccepts) {
  Runs order;
  hooks_.connection(Phase::kPreConnection).Register([&](Connection&) {
    order.push_back("pre");
    return Outcome::Ok();
  });
  hooks_.connection(Phase::kProcessConnection).Register([&](Connection&) {
    order.push_back("echo declines");
    return Outcome::Declined();
  });
  hooks_.connection(Phase::kProcessConnection).Register([&](Connection&) {
    order.push_back("http takes it");
    return Outcome::Ok();
  });
  hooks_.connection(Phase::kProcessConnection).Register([&](Connection&) {
    order.push_back("never");
    return Outcome::Ok();
  });
  EXPECT_EQ(RunConnection(hooks_, connection_), Outcome::Ok());
  EXPECT_EQ(order, (Runs{"pre", "echo declines", "http takes it"}));
}

TEST_F(PhasesTest, FailingPreConnectionSkipsProcessConnection) {
  bool processed = false;
  hooks_.connection(Phase::kPreConnection).Register([](Connection&) {
    return Outcome::Status(403);
  });
  hooks_.connection(Phase::kProcessConnection).Register([&](Connection&) {
    processed = true;
    return Outcome::Ok();
  });
  EXPECT_EQ(RunConnection(hooks_, connection_), Outcome::Status(403));
  EXPECT_FALSE(processed);
}

TEST(HttpDateTest, MatchesStrftimeAcrossTheCache) {
  auto reference = [](time_t t) {
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[64];
    strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return std::string(buf);
  };
  char out[29];
  EXPECT_EQ(HttpDate(784111777, out), "Sun, 06 Nov 1994 08:49:37 GMT");  // RFC 9110's example
  // Now and a file's mtime, alternating as responses ask for them, then a run of seconds.
  std::vector<time_t> times = {1796000000, 1600000000, 1796000000, 1600000000, 0, 1796000001};
  for (time_t t = 1796086390; t < 1796086410; ++t) times.push_back(t);  // across midnight
  for (time_t t : times) EXPECT_EQ(HttpDate(t, out), reference(t)) << t;
}

}  // namespace
}  // namespace brigade::handlers
