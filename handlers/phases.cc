#include "handlers/phases.h"

#include "absl/strings/str_cat.h"
#include "brigade/requires.h"
#include "handlers/request.h"

namespace brigade::handlers {
namespace {

constexpr Phase kRequestPhases[] = {
    Phase::kPostReadRequest, Phase::kTranslate, Phase::kHeaderParser, Phase::kAccess,
    Phase::kAuthen,          Phase::kAuthz,     Phase::kType,         Phase::kFixups,
    Phase::kResponse,
};

size_t Index(Phase phase, Phase first) {
  return static_cast<size_t>(phase) - static_cast<size_t>(first);
}

}  // namespace

absl::string_view PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kOpenLogs: return "open_logs";
    case Phase::kPostConfig: return "post_config";
    case Phase::kChildInit: return "child_init";
    case Phase::kPreConnection: return "pre_connection";
    case Phase::kProcessConnection: return "process_connection";
    case Phase::kPostReadRequest: return "post_read_request";
    case Phase::kTranslate: return "translate";
    case Phase::kHeaderParser: return "header_parser";
    case Phase::kAccess: return "access";
    case Phase::kAuthen: return "authen";
    case Phase::kAuthz: return "authz";
    case Phase::kType: return "type";
    case Phase::kFixups: return "fixups";
    case Phase::kResponse: return "response";
    case Phase::kLog: return "log";
    case Phase::kCleanup: return "cleanup";
  }
  return "?";
}

RunType RunTypeOf(Phase phase) {
  switch (phase) {
    case Phase::kChildInit:
      return RunType::kVoid;
    case Phase::kProcessConnection:
    case Phase::kTranslate:
    case Phase::kAuthen:
    case Phase::kAuthz:
    case Phase::kType:
    case Phase::kResponse:
      return RunType::kRunFirst;
    default:
      return RunType::kRunAll;
  }
}

bool IsRequestPhase(Phase phase) { return phase >= Phase::kPostReadRequest; }

Hooks::Hooks()
    : server_{ServerHook(RunTypeOf(Phase::kOpenLogs)), ServerHook(RunTypeOf(Phase::kPostConfig)),
              ServerHook(RunTypeOf(Phase::kChildInit))},
      connection_{ConnectionHook(RunTypeOf(Phase::kPreConnection)),
                  ConnectionHook(RunTypeOf(Phase::kProcessConnection))},
      request_{RequestHook(RunTypeOf(Phase::kPostReadRequest)),
               RequestHook(RunTypeOf(Phase::kTranslate)),
               RequestHook(RunTypeOf(Phase::kHeaderParser)),
               RequestHook(RunTypeOf(Phase::kAccess)),
               RequestHook(RunTypeOf(Phase::kAuthen)),
               RequestHook(RunTypeOf(Phase::kAuthz)),
               RequestHook(RunTypeOf(Phase::kType)),
               RequestHook(RunTypeOf(Phase::kFixups)),
               RequestHook(RunTypeOf(Phase::kResponse)),
               RequestHook(RunTypeOf(Phase::kLog)),
               RequestHook(RunTypeOf(Phase::kCleanup))} {}

ServerHook& Hooks::server(Phase phase) { return server_[Index(phase, Phase::kOpenLogs)]; }
const ServerHook& Hooks::server(Phase phase) const {
  return server_[Index(phase, Phase::kOpenLogs)];
}
ConnectionHook& Hooks::connection(Phase phase) {
  return connection_[Index(phase, Phase::kPreConnection)];
}
const ConnectionHook& Hooks::connection(Phase phase) const {
  return connection_[Index(phase, Phase::kPreConnection)];
}
RequestHook& Hooks::request(Phase phase) {
  return request_[Index(phase, Phase::kPostReadRequest)];
}
const RequestHook& Hooks::request(Phase phase) const {
  return request_[Index(phase, Phase::kPostReadRequest)];
}

void Hooks::Prune(const ServerRecord& server) {
  BRIGADE_REQUIRES(server.config != nullptr);
  for (ServerHook& h : server_) h.Prune(server);
  for (ConnectionHook& h : connection_) h.Prune(server);
  for (RequestHook& h : request_) h.Prune(server);
}

absl::Status Hooks::Sort() {
  auto sorted = [](Phase p, absl::Status s) {
    if (s.ok()) return s;
    return absl::Status(s.code(), absl::StrCat(PhaseName(p), ": ", s.message()));
  };
  for (int i = 0; i < kPhaseCount; ++i) {
    Phase p = static_cast<Phase>(i);
    absl::Status s;
    if (IsRequestPhase(p)) {
      s = request(p).Sort();
    } else if (p == Phase::kPreConnection || p == Phase::kProcessConnection) {
      s = connection(p).Sort();
    } else {
      s = server(p).Sort();
    }
    if (!s.ok()) return sorted(p, s);
  }
  return absl::OkStatus();
}

CounterTotals ServerRecord::Totals() const {
  CounterTotals t;
  for (const std::unique_ptr<ServerCounters>& c : counters) {
    t.connections_open += c->connections_open.load(std::memory_order_relaxed);
    t.connections_total += c->connections_total.load(std::memory_order_relaxed);
    t.requests += c->requests.load(std::memory_order_relaxed);
    t.bytes_in += c->bytes_in.load(std::memory_order_relaxed);
    t.bytes_out += c->bytes_out.load(std::memory_order_relaxed);
    t.idle_records_released += c->idle_records_released.load(std::memory_order_relaxed);
  }
  return t;
}

[[nodiscard]] absl::Status RunServerConfig(const Hooks& hooks, ServerRecord& server) {
  for (Phase p : {Phase::kOpenLogs, Phase::kPostConfig}) {
    Outcome r = hooks.server(p).Run(server);
    if (!r.is_ok() && !r.is_declined()) {
      return absl::InternalError(absl::StrCat(PhaseName(p), " failed: a hook answered ",
                                              r.http_status(), server.failure.empty() ? "" : ": ",
                                              server.failure));
    }
  }
  return absl::OkStatus();
}

void RunChildInit(const Hooks& hooks, ServerRecord& server) {
  hooks.server(Phase::kChildInit).Run(server);
}

Outcome RunConnection(const Hooks& hooks, Connection& connection) {
  Outcome pre = hooks.connection(Phase::kPreConnection)
                    .Run(connection, &connection.stack(Phase::kPreConnection));
  if (!pre.is_ok() && !pre.is_declined()) return pre;
  return hooks.connection(Phase::kProcessConnection)
      .Run(connection, &connection.stack(Phase::kProcessConnection));
}

Outcome ResumeConnection(Connection& c) {
  return c.parked().PollResult().value_or(Outcome::Suspended());
}

namespace {

// Exactly one response: an HTTP status becomes the response when nothing was sent yet;
// otherwise the response under way is ended — with EOS (an OK handler that sent nothing still
// yields one, empty, response) or, after an error, aborted.
CycleState Respond(Request& r, Outcome decided, absl::string_view detail = "") {
  if (decided.is_declined()) decided = Outcome::Status(404);  // declined after parking
  r.cycle().decided = decided;
  r.cycle().responded = true;
  absl::Status s;
  if (decided.is_http_status() && !r.response_started()) {
    s = r.SendErrorResponse(decided.http_status(), detail);
  } else {
    bool failed = decided.is_http_status() && decided.http_status() >= 400;
    s = r.FinishResponse(failed, failed ? decided.http_status() : 0);
  }
  if (!s.ok()) {
    r.aborted = true;
    r.keep_alive = false;
  }
  return CycleState::kResponded;
}

}  // namespace

CycleState StartRequestCycle(const Hooks& hooks, Request& r) {
  Outcome decided = Outcome::Ok();
  for (Phase p : kRequestPhases) {
    Outcome o = hooks.request(p).Run(r, &r.stack(p));
    if (o.is_suspended()) return CycleState::kSuspended;
    if (p == Phase::kResponse && o.is_declined()) o = Outcome::Status(404);
    if (o.is_done() || o.is_http_status()) {
      decided = o;
      break;
    }
  }
  return Respond(r, decided);
}

CycleState ResumeRequestCycle(Request& r) {
  BRIGADE_REQUIRES(!r.cycle().responded);
  std::optional<Outcome> o = r.parked().PollResult();
  return o.has_value() ? Respond(r, *o) : CycleState::kSuspended;
}

CycleState AbandonRequestCycle(Request& r, int status, absl::string_view detail) {
  BRIGADE_REQUIRES(status >= 400 && status <= 599 && !r.cycle().responded);
  r.parked().Drop();
  return Respond(r, Outcome::Status(status), detail);
}

void EndRequestCycle(const Hooks& hooks, Request& r) {
  if (r.cycle().ended) return;
  r.cycle().ended = true;
  if (r.parked().task() != nullptr) {
    r.parked().Drop();
    r.aborted = true;
    r.keep_alive = false;
  }
  hooks.request(Phase::kLog).Run(r, &r.stack(Phase::kLog));
  hooks.request(Phase::kCleanup).Run(r, &r.stack(Phase::kCleanup));
}

Outcome RunRequestCycle(const Hooks& hooks, Request& r) {
  CycleState state = StartRequestCycle(hooks, r);
  while (state == CycleState::kSuspended) state = ResumeRequestCycle(r);
  EndRequestCycle(hooks, r);
  return r.cycle().decided;
}

}  // namespace brigade::handlers
