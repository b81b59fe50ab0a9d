#include "api/json_codec.h"

#include <map>
#include <string>

#include "observe/trace_context.h"

namespace keel::api {

using nlohmann::json;

json timeJson(std::optional<WallTime> t) {
  if (!t) return nullptr;
  return formatRfc3339(*t);
}

json durationJson(std::optional<WallTime> from, std::optional<WallTime> to) {
  if (!from || !to) return nullptr;
  return std::chrono::duration_cast<Millis>(*to - *from).count();
}

json storedJson(const std::string& text) {
  if (text.empty()) return nullptr;
  auto parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return text;
  return parsed;
}

json waitJson(const std::string& kind, const std::string& reason) {
  if (kind.empty()) return nullptr;
  return {{field::kKind, kind}, {field::kReason, reason}};
}

namespace {

json stringOrNull(const std::string& s) {
  if (s.empty()) return nullptr;
  return s;
}

template <typename T>
json optionalJson(const std::optional<T>& v) {
  if (!v) return nullptr;
  return *v;
}

json stepJson(const store::StepRow& step, const std::vector<const store::AttemptRow*>& attempts,
              const RunFacts* facts) {
  json list = json::array();
  for (const auto* a : attempts) list.push_back(attemptJson(*a));
  json needed = nullptr, maxAttempts = nullptr;
  if (facts) {
    needed = json::array();
    if (auto it = facts->steps.find(step.name); it != facts->steps.end()) {
      for (const auto& n : it->second.needs) needed.push_back(n);
      maxAttempts = it->second.maxAttempts;
    }
  }
  return {{field::kName, step.name},
          {field::kState, toString(step.state)},
          {field::kReason, step.reason},
          {field::kDueAt, timeJson(step.dueAt)},
          {field::kWait, waitJson(step.waitKind, step.waitReason)},
          {field::kNeeds, std::move(needed)},
          {field::kMaxAttempts, std::move(maxAttempts)},
          {field::kAttempts, std::move(list)},
          {field::kOutput, storedJson(step.outputJson)}};
}

}  // namespace

json workflowSummaryJson(const store::WorkflowVersionRow& row) {
  return {{field::kName, row.name},
          {field::kVersion, row.version},
          {field::kNamespace, row.ns},
          {field::kCreatedAt, timeJson(row.createdAt)}};
}

json workflowDetailJson(const store::WorkflowVersionRow& latest,
                        const std::vector<store::WorkflowVersionRow>& versions) {
  json out = workflowSummaryJson(latest);
  out[field::kYaml] = latest.yaml;
  json list = json::array();
  for (const auto& v : versions)
    list.push_back({{field::kVersion, v.version},
                    {field::kCreatedAt, timeJson(v.createdAt)},
                    {"applied_by", v.appliedBy}});
  out[field::kVersions] = std::move(list);
  return out;
}

json runSummaryJson(const store::RunRow& run) {
  json params = storedJson(run.paramsJson);
  return {{field::kId, run.id},
          {field::kWorkflow, run.workflow},
          {field::kVersion, run.version},
          {field::kState, toString(run.state)},
          {field::kReason, run.reason},
          {field::kWait, waitJson(run.waitKind, run.waitReason)},
          {field::kParams, params.is_null() ? json::object() : std::move(params)},
          {field::kCreatedAt, timeJson(run.createdAt)},
          {field::kStartedAt, timeJson(run.startedAt)},
          {field::kFinishedAt, timeJson(run.finishedAt)}};
}

json runJson(const store::RunRow& run) {
  json out = runSummaryJson(run);
  out[field::kIdempotencyKey] = stringOrNull(run.idempotencyKey);
  out[field::kConcurrencyKey] = stringOrNull(run.concurrencyKey);
  out[field::kDurationMs] = durationJson(run.startedAt, run.finishedAt);
  out[field::kCancelReason] = stringOrNull(run.cancelReason);
  out["pause_reason"] = stringOrNull(run.pauseReason);  // set while the run itself is paused
  out[field::kCompensation] = stringOrNull(run.compensation);
  // The run's W3C trace (docs/tracing.md): stored, or derived from the id
  // for a run stored before runs kept theirs.
  out["trace_id"] = observe::runTraceId(run.traceId, run.id);
  out["request_id"] = stringOrNull(run.requestId);
  return out;
}

json runDetailJson(const store::RunDetail& detail, const RunFacts* facts) {
  std::map<std::string, std::vector<const store::AttemptRow*>> byStep;
  for (const auto& a : detail.attempts) byStep[a.step].push_back(&a);
  json steps = json::array();
  for (const auto& s : detail.steps) steps.push_back(stepJson(s, byStep[s.name], facts));
  json out = runJson(detail.run);
  out[field::kOwner] =
      facts ? json{{field::kTeam, facts->team}, {field::kContact, facts->contact}} : json(nullptr);
  out[field::kRunbook] = facts ? json(facts->runbook) : json(nullptr);
  out[field::kSteps] = std::move(steps);
  return out;
}

json attemptJson(const store::AttemptRow& a) {
  json failure = nullptr;
  if (a.failureClass != FailureClass::kNone) failure = toString(a.failureClass);
  return {{field::kN, a.n},
          {field::kState, toString(a.state)},
          {field::kStartedAt, timeJson(a.startedAt)},
          {field::kFinishedAt, timeJson(a.finishedAt)},
          {field::kDurationMs, durationJson(a.startedAt, a.finishedAt)},
          {field::kExitCode, optionalJson(a.exitCode)},
          {field::kSignal, optionalJson(a.signal)},
          {field::kFailureClass, std::move(failure)},
          {field::kMessage, a.message}};
}

json eventJson(const store::EventRow& e) {
  json attempt = nullptr;
  if (e.attempt > 0) attempt = e.attempt;
  return {{field::kSeq, e.seq},
          {field::kAt, timeJson(e.at)},
          {field::kKind, e.kind},
          {field::kStep, stringOrNull(e.step)},
          {field::kAttempt, std::move(attempt)},
          {field::kMessage, e.message},
          {field::kActor, stringOrNull(e.actor)},
          {field::kReason, stringOrNull(e.reason)}};
}

json logJson(const store::LogRow& log) {
  return {{field::kAttempt, log.attempt},
          {field::kStdout, log.stdoutText},
          {field::kStderr, log.stderrText},
          {field::kStdoutBytes, log.stdoutBytes},
          {field::kStderrBytes, log.stderrBytes}};
}

json tokenJson(const store::TokenRow& token) {
  return {{field::kName, token.name},
          {field::kRole, token.role},
          {field::kCreatedAt, timeJson(token.createdAt)},
          {field::kCreatedBy, token.createdBy},
          {field::kRevokedAt, timeJson(token.revokedAt)}};
}

}  // namespace keel::api
