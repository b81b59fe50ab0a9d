// `keel show` and `keel logs`: one run, for a human.
#include <algorithm>
#include <cstdint>
#include <map>

#include "api/json_codec.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "cli/text.h"

namespace keel::cli {
namespace {

namespace field = api::field;
using nlohmann::json;

const json& arrayOf(const json& j, const char* key) {
  static const json kEmpty = json::array();
  const auto& m = member(j, key);
  return m.is_array() ? m : kEmpty;
}

// "exit 3", "signal 9" or "-".
std::string exitText(const json& attempt) {
  if (member(attempt, field::kExitCode).is_number())
    return "exit " + text(attempt, field::kExitCode);
  if (member(attempt, field::kSignal).is_number()) return "signal " + text(attempt, field::kSignal);
  return "-";
}

std::string millisText(const json& ms) {
  return ms.is_number_integer() ? formatMillis(ms.get<int64_t>()) : "-";
}

void printHeader(std::ostream& out, const json& run) {
  Table header({"run", text(run, field::kId)});
  header.addRow({"workflow", text(run, field::kWorkflow) + "@" + text(run, field::kVersion)});
  std::string state = text(run, field::kState);
  if (auto reason = text(run, field::kReason); !reason.empty()) state += " (" + reason + ")";
  header.addRow({"state", state});
  if (const auto& wait = member(run, field::kWait); wait.is_object())
    header.addRow({"waiting", text(wait, field::kReason)});
  header.addRow({"params", paramsText(member(run, field::kParams), SIZE_MAX)});
  if (const auto& owner = member(run, field::kOwner); owner.is_object())
    header.addRow(
        {"owner", text(owner, field::kTeam) + (text(owner, field::kContact).empty()
                                                   ? ""
                                                   : " <" + text(owner, field::kContact) + ">")});
  if (auto runbook = text(run, field::kRunbook); !runbook.empty())
    header.addRow({"runbook", runbook});
  if (auto key = text(run, field::kIdempotencyKey); !key.empty())
    header.addRow({"idempotency key", key});
  header.addRow({"created", shortTime(member(run, field::kCreatedAt))});
  header.addRow({"started", shortTime(member(run, field::kStartedAt))});
  header.addRow({"finished", shortTime(member(run, field::kFinishedAt))});
  header.addRow({"duration", millisText(member(run, field::kDurationMs))});
  header.print(out);
}

void printAttempts(std::ostream& out, const json& run) {
  Table table({"STEP", "N", "STATE", "STARTED", "DURATION", "EXIT", "CLASS", "MESSAGE"});
  for (const auto& step : arrayOf(run, field::kSteps))
    for (const auto& a : arrayOf(step, field::kAttempts))
      table.addRow({text(step, field::kName), text(a, field::kN), text(a, field::kState),
                    shortTime(member(a, field::kStartedAt)),
                    millisText(member(a, field::kDurationMs)), exitText(a),
                    text(a, field::kFailureClass, "-"), text(a, field::kMessage)});
  if (table.rows() > 1) table.print(out);
}

void printTimeline(std::ostream& out, const json& run, const json& events) {
  auto start = parseRfc3339(text(run, field::kCreatedAt));
  Table table({"OFFSET", "KIND", "STEP", "MESSAGE"});
  for (const auto& e : events) {
    std::string offset = "-";
    auto at = parseRfc3339(text(e, field::kAt));
    if (start && at) offset = "+" + formatMillis(*at - *start);
    std::string step = text(e, field::kStep);
    if (auto n = text(e, field::kAttempt); !n.empty()) step += "#" + n;
    // What an operator did says who, and why: "… by alice (token ops): disk full".
    std::string message = text(e, field::kMessage);
    if (auto actor = text(e, field::kActor); !actor.empty()) {
      message += (message.empty() ? "by " : " by ") + actor;
      if (auto reason = text(e, field::kReason); !reason.empty()) message += ": " + reason;
    }
    table.addRow({offset, text(e, field::kKind), step.empty() ? "-" : step, message});
  }
  table.print(out);
}

// Why a step that has not finished is where it is, or "" for a finished
// one: "waiting: concurrency key eu held by run …", "pending: needs load",
// "retry 3 of 5 at 2026-11-28T02:14:07Z after timeout", "running: attempt 2".
std::string whyText(const json& step, const std::map<std::string, std::string>& states) {
  const std::string state = text(step, field::kState);
  if (const auto& wait = member(step, field::kWait); wait.is_object())
    return "waiting: " + text(wait, field::kReason);
  const auto& attempts = arrayOf(step, field::kAttempts);
  if (state == "pending") {
    const auto& needs = member(step, field::kNeeds);
    if (!needs.is_array()) return "pending: its needs are unknown";
    std::string unfinished;
    for (const auto& n : needs) {
      if (!n.is_string()) continue;
      auto it = states.find(n.get<std::string>());
      if (it != states.end() && (it->second == "succeeded" || it->second == "skipped")) continue;
      unfinished += (unfinished.empty() ? "" : ", ") + n.get<std::string>();
    }
    return unfinished.empty() ? "pending: ready to start" : "pending: needs " + unfinished;
  }
  if (state == "retrying") {
    std::string of = member(step, field::kMaxAttempts).is_number_integer()
                         ? " of " + text(step, field::kMaxAttempts)
                         : "";
    std::string after =
        attempts.empty() ? "" : " after " + text(attempts.back(), field::kFailureClass, "failure");
    return "retry " + std::to_string(attempts.size() + 1) + of + " at " +
           shortTime(member(step, field::kDueAt)) + after;
  }
  if (state == "running" || state == "ready")
    return state + ": attempt " + std::to_string(std::max<size_t>(attempts.size(), 1)) +
           (attempts.empty() ? ""
                             : " since " + shortTime(member(attempts.back(), field::kStartedAt)));
  if (state == "waiting") return "waiting";
  return "";
}

// One line per step that has not finished, saying why.
void printWhy(std::ostream& out, const json& run) {
  std::map<std::string, std::string> states;
  for (const auto& step : arrayOf(run, field::kSteps))
    states[text(step, field::kName)] = text(step, field::kState);
  for (const auto& step : arrayOf(run, field::kSteps))
    if (auto why = whyText(step, states); !why.empty())
      out << text(step, field::kName) << " " << why << '\n';
}

// "==> attempt 2 stdout (3000000 bytes, truncated: head and tail kept) <=="
void printStream(std::ostream& out, const json& attempt, const char* stream, const char* bytesKey) {
  std::string body = text(attempt, stream);
  const auto& bytes = member(attempt, bytesKey);
  int64_t written = bytes.is_number_integer() ? bytes.get<int64_t>() : 0;
  out << "==> attempt " << text(attempt, field::kAttempt) << " " << stream << " (" << written
      << " bytes";
  if (written > static_cast<int64_t>(body.size())) out << ", truncated: head and tail kept";
  out << ") <==\n" << body;
  if (!body.empty() && body.back() != '\n') out << "\n(no newline at end)\n";
}

}  // namespace

void printStepTable(std::ostream& out, const json& run) {
  Table table({"STEP", "STATE", "ATTEMPTS", "DURATION", "CLASS"});
  for (const auto& step : arrayOf(run, field::kSteps)) {
    const auto& attempts = arrayOf(step, field::kAttempts);
    std::string duration = "-", failure = "-";
    if (!attempts.empty()) {
      duration = durationBetween(member(attempts.front(), field::kStartedAt),
                                 member(attempts.back(), field::kFinishedAt));
      failure = text(attempts.back(), field::kFailureClass, "-");
    }
    table.addRow({text(step, field::kName), text(step, field::kState),
                  std::to_string(attempts.size()), duration, failure});
  }
  table.print(out);
}

int showCommand(const Context& ctx, const std::string& runId, bool asJson) {
  const std::string path = "/api/v1/runs/" + urlEncode(runId);
  ApiResponse run, events;
  if (int code = checkAnswer(ctx, ctx.api->get(path), &run)) return code;
  if (int code = checkAnswer(ctx, ctx.api->get(path + "/events"), &events)) return code;
  const auto& timeline = arrayOf(events.body, field::kEvents);
  if (asJson) {
    printJson(ctx.out, {{field::kRun, run.body}, {field::kEvents, timeline}});
    return kExitOk;
  }
  printHeader(ctx.out, run.body);
  ctx.out << '\n';
  printStepTable(ctx.out, run.body);
  printWhy(ctx.out, run.body);
  ctx.out << '\n';
  printAttempts(ctx.out, run.body);
  ctx.out << '\n';
  printTimeline(ctx.out, run.body, timeline);
  return kExitOk;
}

int logsCommand(const Context& ctx, const std::string& runId, const std::string& step,
                int attempt) {
  std::string path = "/api/v1/runs/" + urlEncode(runId) + "/steps/" + urlEncode(step) + "/logs";
  if (attempt > 0) path += "?attempt=" + std::to_string(attempt);
  ApiResponse answer;
  if (int code = checkAnswer(ctx, ctx.api->get(path), &answer)) return code;
  const auto& attempts = arrayOf(answer.body, field::kAttempts);
  if (attempts.empty()) {
    ctx.err << "no logs for step " << step << " of run " << runId
            << (attempt > 0 ? " attempt " + std::to_string(attempt) : std::string()) << " (yet)\n";
    return kExitOk;
  }
  for (const auto& a : attempts) {
    printStream(ctx.out, a, field::kStdout, field::kStdoutBytes);
    printStream(ctx.out, a, field::kStderr, field::kStderrBytes);
  }
  return kExitOk;
}

}  // namespace keel::cli
