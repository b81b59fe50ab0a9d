// `keel run`, `keel runs`, `keel cancel`, `keel retry`.
#include <algorithm>
#include <chrono>
#include <thread>

#include "api/json_codec.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "cli/text.h"

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

// Polls GET /runs/ID until the run is finished: every 200 ms at first,
// backing off to once a second for long runs.
int waitForRun(const Context& ctx, const std::string& id, bool asJson) {
  auto delay = std::chrono::milliseconds(200);
  while (true) {
    ApiResponse answer;
    if (int code = checkAnswer(ctx, ctx.api->get("/api/v1/runs/" + urlEncode(id)), &answer))
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
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 3 / 2, std::chrono::milliseconds(1000));
  }
}

int postRunAction(const Context& ctx, const std::string& runId, const std::string& action) {
  ApiResponse answer;
  if (int code = checkAnswer(ctx,
                             ctx.api->post("/api/v1/runs/" + urlEncode(runId) + "/" + action, "{}",
                                           "application/json"),
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
  json body{{field::kParams, *params}};
  if (!args.idempotencyKey.empty()) body[field::kIdempotencyKey] = args.idempotencyKey;
  ApiResponse answer;
  if (int code =
          checkAnswer(ctx,
                      ctx.api->post("/api/v1/workflows/" + urlEncode(args.workflow) + "/runs",
                                    body.dump(), "application/json"),
                      &answer))
    return code;
  std::string id = text(answer.body, field::kId);
  if (answer.status == 200)
    ctx.err << "note: idempotency key '" << args.idempotencyKey
            << "' matched an earlier run; no new run was started\n";
  if (!args.json) ctx.out << id << std::endl;  // first, alone, flushed: scripts capture it
  if (args.wait) return waitForRun(ctx, id, args.json);
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

int cancelCommand(const Context& ctx, const std::string& runId) {
  return postRunAction(ctx, runId, "cancel");
}

int retryCommand(const Context& ctx, const std::string& runId) {
  return postRunAction(ctx, runId, "retry");
}

}  // namespace keel::cli
