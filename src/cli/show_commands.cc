// `keel show` and `keel logs`: one run, for a human.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "api/json_codec.h"
#include "cli/commands.h"
#include "cli/graph.h"
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
  if (auto compensation = text(run, field::kCompensation); !compensation.empty())
    header.addRow({"compensation", compensation});
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
  if (const auto& wait = member(step, field::kWait); wait.is_object()) {
    std::string why = "waiting: " + text(wait, field::kReason);
    // An approval says until when a decision is awaited.
    if (text(wait, field::kKind) == "approval" && !member(step, field::kDueAt).is_null())
      why += " (decide before " + shortTime(member(step, field::kDueAt)) + ")";
    return why;
  }
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
  ShowArgs args;
  args.runId = runId;
  args.json = asJson;
  return showCommand(ctx, args);
}

namespace {

using SteadyClock = std::chrono::steady_clock;

bool runEnded(const std::string& state) {
  return state == "succeeded" || state == "failed" || state == "cancelled";
}

// What `keel show` prints of a run (and its timeline, unless --graph).
void printShow(std::ostream& out, const ShowArgs& args, const json& run, const json& timeline) {
  if (args.dot) {
    out << renderDot(run);
    return;
  }
  printHeader(out, run);
  out << '\n';
  if (args.graph) {
    out << renderGraph(run);
    printWhy(out, run);
    return;
  }
  printStepTable(out, run);
  printWhy(out, run);
  out << '\n';
  printAttempts(out, run);
  out << '\n';
  printTimeline(out, run, timeline);
}

// GET the run (and, for the full view, its timeline); the exit code of a
// failed request, with its message in `problem`.
int fetchShow(const Context& ctx, const ShowArgs& args, json* run, json* timeline,
              std::string* problem) {
  const std::string path = "/api/v1/runs/" + urlEncode(args.runId);
  std::ostringstream quiet;
  Context tryCtx{ctx.out, quiet, ctx.api};
  ApiResponse answer, events;
  int code = checkAnswer(tryCtx, ctx.api->get(path), &answer);
  if (code == 0 && (args.json || (!args.graph && !args.dot)))
    code = checkAnswer(tryCtx, ctx.api->get(path + "/events"), &events);
  *problem = quiet.str();
  if (code != 0) return code;
  *run = std::move(answer.body);
  *timeline = arrayOf(events.body, field::kEvents);
  return kExitOk;
}

std::map<std::string, std::string> stepStates(const json& run) {
  std::map<std::string, std::string> states;
  for (const auto& step : arrayOf(run, field::kSteps))
    states[text(step, field::kName)] = text(step, field::kState);
  return states;
}

// --watch: draws the run every pollEvery until it ends. On a terminal the
// screen is cleared and redrawn; otherwise the first drawing is printed,
// then one line per change of a step's or the run's state.
int watchRun(const Context& ctx, const ShowArgs& args) {
  // Since when keel has not answered; the epoch while it answers.
  SteadyClock::time_point unreachableSince{};
  std::map<std::string, std::string> lastSteps;
  std::string lastRunState;
  bool drawn = false;
  for (;;) {
    json run, timeline;
    std::string problem;
    if (int code = fetchShow(ctx, args, &run, &timeline, &problem)) {
      const auto now = SteadyClock::now();
      if (unreachableSince == SteadyClock::time_point{}) unreachableSince = now;
      if (!isTransient(code) || now - unreachableSince >= args.unreachableFor) {
        ctx.err << problem;
        return code;
      }
      std::this_thread::sleep_for(args.pollEvery);
      continue;
    }
    unreachableSince = {};
    const std::string state = text(run, field::kState);
    const auto steps = stepStates(run);
    if (args.terminal) {
      ctx.out << "\x1b[H\x1b[2J";  // home, clear screen
      printShow(ctx.out, args, run, timeline);
    } else if (!drawn) {
      printShow(ctx.out, args, run, timeline);
    } else {
      for (const auto& [name, now] : steps)
        if (auto it = lastSteps.find(name); it == lastSteps.end() || it->second != now)
          ctx.out << "step " << name << ": "
                  << (it == lastSteps.end() ? std::string("-") : it->second) << " -> " << now
                  << '\n';
      if (state != lastRunState)
        ctx.out << "run " << args.runId << ": " << lastRunState << " -> " << state << '\n';
    }
    ctx.out.flush();
    drawn = true;
    lastSteps = steps;
    lastRunState = state;
    if (runEnded(state)) return state == "succeeded" ? kExitOk : kExitFailure;
    std::this_thread::sleep_for(args.pollEvery);
  }
}

}  // namespace

int showCommand(const Context& ctx, const ShowArgs& args) {
  if (args.watch) return watchRun(ctx, args);
  json run, timeline;
  std::string problem;
  if (int code = fetchShow(ctx, args, &run, &timeline, &problem)) {
    ctx.err << problem;
    return code;
  }
  if (args.json) {
    printJson(ctx.out, {{field::kRun, run}, {field::kEvents, timeline}});
    return kExitOk;
  }
  printShow(ctx.out, args, run, timeline);
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

int logsFollowCommand(const Context& ctx, const LogsFollowArgs& args) {
  const std::string base = "/api/v1/runs/" + urlEncode(args.runId) + "/steps/" +
                           urlEncode(args.step) +
                           "/logs?follow=true&wait_ms=" + std::to_string(args.waitEach.count());
  int64_t offset = 0;
  int attempt = args.attempt;
  // Since when keel has not answered; the epoch while it answers.
  SteadyClock::time_point unreachableSince{};
  bool noted = false;
  for (;;) {
    std::string path = base + "&offset=" + std::to_string(offset);
    if (attempt > 0) path += "&attempt=" + std::to_string(attempt);
    std::ostringstream quiet;
    Context tryCtx{ctx.out, quiet, ctx.api};
    ApiResponse answer;
    if (int code = checkAnswer(tryCtx, ctx.api->get(path), &answer)) {
      const auto now = SteadyClock::now();
      if (unreachableSince == SteadyClock::time_point{}) unreachableSince = now;
      if (!isTransient(code) || now - unreachableSince >= args.unreachableFor) {
        ctx.err << quiet.str();
        return code;
      }
      if (!noted) {
        ctx.err << "note: following " << args.step << ": "
                << quiet.str().substr(0, quiet.str().find('\n')) << "; trying again\n";
        noted = true;
      }
      std::this_thread::sleep_for(args.retryPause);
      continue;
    }
    unreachableSince = {};
    const auto& body = answer.body;
    if (const auto& data = member(body, field::kData); data.is_string()) {
      ctx.out << data.get_ref<const std::string&>();
      ctx.out.flush();
    }
    if (const auto& next = member(body, field::kOffset); next.is_number_integer())
      offset = next.get<int64_t>();
    if (const auto& n = member(body, field::kAttempt); attempt == 0 && n.is_number_integer())
      attempt = n.get<int>();
    const auto& running = member(body, field::kRunning);
    if (!running.is_boolean() || !running.get<bool>()) {
      if (auto message = text(body, field::kMessage); !message.empty())
        ctx.err << "note: " << message << '\n';
      return kExitOk;
    }
  }
}

}  // namespace keel::cli
