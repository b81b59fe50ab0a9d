// `keel run`, `keel runs`, `keel cancel`, `keel retry`.
#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "api/json_codec.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "cli/text.h"
#include "spec/parser.h"

namespace keel::cli {
namespace {

namespace field = api::field;
using nlohmann::json;

bool isTerminalState(const std::string& state) {
  return state == "succeeded" || state == "failed" || state == "cancelled";
}

// The --param list as a JSON object of strings; a malformed or repeated
// key is a usage error.
Result<json> paramsObject(const std::vector<std::string>& params) {
  json out = json::object();
  for (const auto& p : params) {
    auto kv = parseParam(p);
    if (!kv.ok()) return kv.error();
    if (out.contains(kv->first))
      return Error(ErrorCode::kInvalidArgument, "--param " + kv->first + " is given twice");
    out[kv->first] = kv->second;
  }
  return out;
}

void printRunEnd(std::ostream& out, const json& run) {
  out << "run " << text(run, field::kId) << " " << text(run, field::kState) << " in "
      << durationBetween(member(run, field::kStartedAt), member(run, field::kFinishedAt)) << " ("
      << text(run, field::kWorkflow) << "@" << text(run, field::kVersion) << ")\n";
  if (auto reason = text(run, field::kReason); !reason.empty()) out << "reason: " << reason << '\n';
  printStepTable(out, run);
}

using SteadyClock = std::chrono::steady_clock;

// When to give up: at the --timeout if one is given; otherwise never for a
// run that is still running, and after `unreachableFor` of a server that
// cannot be reached.
struct Patience {
  std::optional<SteadyClock::time_point> deadline;
  std::chrono::milliseconds unreachableFor;
  std::chrono::milliseconds retryPause;

  bool over(SteadyClock::time_point unreachableSince) const {
    auto now = SteadyClock::now();
    if (deadline) return now >= *deadline;
    return now - unreachableSince >= unreachableFor;
  }
  bool timedOut() const { return deadline && SteadyClock::now() >= *deadline; }
};

// An idempotency key nobody else will make: 128 bits from the operating
// system, so that a retried trigger can never start a second run.
std::string newIdempotencyKey() {
  std::random_device device;
  std::string key = "cli-";
  for (int i = 0; i < 4; ++i) key += fmt::format("{:08x}", device());
  return key;
}

// Calls `request` until it gets an answer that is not transient (the
// server unreachable, 503 or 429) or `patience` runs out. The errors of
// transient tries are not printed, except a note once; the last answer's
// are.
int untilAnswered(const Context& ctx, const Patience& patience, const std::string& what,
                  const std::function<Result<ApiResponse>()>& request, ApiResponse* answer) {
  bool noted = false;
  const auto since = SteadyClock::now();
  while (true) {
    std::ostringstream quiet;
    Context tryCtx{ctx.out, quiet, ctx.api};
    int code = checkAnswer(tryCtx, request(), answer);
    if (!isTransient(code) || patience.over(since)) {
      ctx.err << quiet.str();
      return code;
    }
    if (!noted) {
      ctx.err << "note: " << what << ": " << quiet.str().substr(0, quiet.str().find('\n'))
              << "; trying again" << (patience.deadline ? " until the --timeout" : "") << '\n';
      noted = true;
    }
    std::this_thread::sleep_for(patience.retryPause);
  }
}

// Polls GET /runs/ID until the run is finished: every 200 ms at first,
// backing off to once a second for long runs. A restart of keel in the
// meantime is ridden out (the run goes on after it).
int waitForRun(const Context& ctx, const std::string& id, bool asJson, const Patience& patience) {
  auto delay = std::chrono::milliseconds(200);
  while (true) {
    ApiResponse answer;
    if (int code = untilAnswered(
            ctx, patience, "waiting for run " + id,
            [&] { return ctx.api->get("/api/v1/runs/" + urlEncode(id)); }, &answer))
      return code;
    std::string state = text(answer.body, field::kState);
    if (isTerminalState(state)) {
      if (asJson) {
        printJson(ctx.out, answer.body);
      } else {
        printRunEnd(ctx.out, answer.body);
      }
      return state == "succeeded" ? kExitOk : kExitFailure;
    }
    if (patience.timedOut()) {
      ctx.err << "keel run: run " << id << " is still " << state << " at the --timeout\n";
      return kExitTempFail;
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 3 / 2, std::chrono::milliseconds(1000));
  }
}

int postRunAction(const Context& ctx, const std::string& runId, const std::string& action,
                  const std::string& reason, json body = json::object()) {
  if (!reason.empty()) body[field::kReason] = reason;
  ApiResponse answer;
  if (int code = checkAnswer(ctx,
                             ctx.api->post("/api/v1/runs/" + urlEncode(runId) + "/" + action,
                                           body.dump(), "application/json"),
                             &answer))
    return code;
  ctx.out << "run " << text(answer.body, field::kId, runId) << ": "
          << text(answer.body, field::kState);
  // A cancelled run with processes still stopping reads "running (cancel
  // requested)"; a reason that only repeats the state is not shown again.
  auto state = text(answer.body, field::kState);
  if (auto reason = text(answer.body, field::kReason); !reason.empty() && reason != state)
    ctx.out << " (" << reason << ")";
  ctx.out << '\n';
  return kExitOk;
}

// The run's reason, or what it waits for (its concurrency key) when it
// has none.
std::string reasonText(const json& run) {
  std::string reason = text(run, field::kReason);
  const auto& wait = member(run, field::kWait);
  if (reason.empty() && wait.is_object()) reason = "waiting: " + text(wait, field::kReason);
  return reason;
}

}  // namespace

int runCommand(const Context& ctx, const RunArgs& args) {
  auto params = paramsObject(args.params);
  if (!params.ok()) {
    ctx.err << "keel run: " << params.error().message() << '\n';
    return kExitUsage;
  }
  Patience patience{std::nullopt, args.unreachableFor, args.retryPause};
  if (!args.timeout.empty()) {
    auto timeout = spec::parseDuration(args.timeout);
    if (!timeout.ok() || timeout->count() <= 0) {
      ctx.err << "keel run: --timeout: '" << args.timeout
              << "' is not a duration such as 30s, 10m or 2h\n";
      return kExitUsage;
    }
    patience.deadline = SteadyClock::now() + *timeout;
  }
  // With a key of its own, a trigger whose answer was lost (keel restarted,
  // the connection broke) is sent again without starting a second run.
  const bool ownKey = args.idempotencyKey.empty();
  const std::string key = ownKey ? newIdempotencyKey() : args.idempotencyKey;
  json body{{field::kParams, *params}, {field::kIdempotencyKey, key}};
  if (!args.reason.empty()) body[field::kReason] = args.reason;
  const std::string payload = body.dump();
  ApiResponse answer;
  if (int code = untilAnswered(
          ctx, patience, "triggering " + args.workflow,
          [&] {
            return ctx.api->post("/api/v1/workflows/" + urlEncode(args.workflow) + "/runs", payload,
                                 "application/json");
          },
          &answer))
    return code;
  std::string id = text(answer.body, field::kId);
  if (answer.status == 200 && !ownKey)
    ctx.err << "note: idempotency key '" << key
            << "' matched an earlier run; no new run was started\n";
  else if (answer.status == 200)
    ctx.err << "note: an earlier try of this command had started the run\n";
  if (!args.json) ctx.out << id << std::endl;  // first, alone, flushed: scripts capture it
  if (args.wait) return waitForRun(ctx, id, args.json, patience);
  if (args.json) printJson(ctx.out, answer.body);
  return kExitOk;
}

int emitCommand(const Context& ctx, const EmitArgs& args) {
  json payload = json::parse(args.data, nullptr, false);
  if (payload.is_discarded() || !payload.is_object()) {
    ctx.err << "keel emit: --data must be a JSON object, e.g. '{\"region\":\"eu\"}'\n";
    return kExitUsage;
  }
  json body{{"id", args.id}, {"payload", std::move(payload)}};
  if (!args.reason.empty()) body["reason"] = args.reason;
  ApiResponse answer;
  if (int code = checkAnswer(
          ctx,
          ctx.api->post("/api/v1/events/" + urlEncode(args.topic), body.dump(), "application/json"),
          &answer))
    return code;
  if (answer.status == 200)
    ctx.err << "note: event '" << args.id << "' on topic '" << args.topic
            << "' was received before; no new run was started\n";
  if (args.json) {
    printJson(ctx.out, answer.body);
    return kExitOk;
  }
  if (answer.body.contains("runs") && answer.body["runs"].is_array())
    for (const auto& id : answer.body["runs"])
      if (id.is_string()) ctx.out << id.get<std::string>() << '\n';
  if (answer.body.contains("errors") && answer.body["errors"].is_array())
    for (const auto& e : answer.body["errors"])
      if (e.is_object())
        ctx.err << "error: workflow '" << e.value("workflow", "") << "': " << e.value("message", "")
                << '\n';
  return kExitOk;
}

int runsCommand(const Context& ctx, const RunsArgs& args) {
  std::string query;
  auto addQuery = [&query](const char* name, const std::string& value) {
    if (value.empty()) return;
    query += (query.empty() ? "?" : "&") + std::string(name) + "=" + urlEncode(value);
  };
  addQuery("workflow", args.workflow);
  addQuery("state", args.state);
  addQuery("since", args.since);
  addQuery("cursor", args.cursor);
  if (args.limit > 0) addQuery("limit", std::to_string(args.limit));
  ApiResponse answer;
  if (int code = checkAnswer(ctx, ctx.api->get("/api/v1/runs" + query), &answer)) return code;
  if (args.json) {
    printJson(ctx.out, answer.body);
    return kExitOk;
  }
  Table table({"ID", "WORKFLOW", "VER", "STATE", "CREATED", "DURATION", "PARAMS", "REASON"});
  const auto& runs = member(answer.body, field::kRuns);
  for (const auto& run : runs.is_array() ? runs : json::array()) {
    table.addRow({text(run, field::kId), text(run, field::kWorkflow), text(run, field::kVersion),
                  text(run, field::kState), shortTime(member(run, field::kCreatedAt)),
                  durationBetween(member(run, field::kStartedAt), member(run, field::kFinishedAt)),
                  paramsText(member(run, field::kParams)), reasonText(run)});
  }
  table.print(ctx.out);
  if (table.rows() == 1) ctx.err << "(no runs)\n";
  if (const auto& next = member(answer.body, field::kNextCursor); next.is_string())
    ctx.err << "(more runs: the next page is --cursor " << next.get<std::string>() << ")\n";
  return kExitOk;
}

int cancelCommand(const Context& ctx, const std::string& runId, const std::string& reason) {
  return postRunAction(ctx, runId, "cancel", reason);
}

int cancelCompensateCommand(const Context& ctx, const std::string& runId,
                            const std::string& reason) {
  return postRunAction(ctx, runId, "cancel", reason, json{{"compensate", true}});
}

int retryCommand(const Context& ctx, const std::string& runId, const std::string& reason) {
  return postRunAction(ctx, runId, "retry", reason);
}

}  // namespace keel::cli
