// Approval steps on the engine loop: the wait that starts at dispatch, the
// one decision (approve or reject, Control::decideApproval) and the
// deadline. The wait is the step's row (state `waiting`, wait kind
// `approval`, dueAt), so a restart finds it and arms its deadline again
// (continueRun), and a deadline passed while keel was down is applied at
// once.
#include <fmt/format.h>

#include "engine/engine.h"
#include "spec/parser.h"
#include "spec/template.h"

namespace keel::engine {

using nlohmann::json;

namespace {

std::string approverList(const spec::ApprovalSpec& a) {
  std::string out;
  for (const auto& name : a.approvers) out += (out.empty() ? "" : ", ") + name;
  return out;
}

// How an ended approval step was decided, for the refusal of a second
// decision; nullopt when the row shows no decision.
std::optional<std::string> decidedAlready(const store::StepRow& row) {
  if (row.state == StepState::kSucceeded) {
    json out = json::parse(row.outputJson, nullptr, false);
    if (out.is_object() && out.value("approved", false) && out.contains("by") &&
        out["by"].is_string())
      return fmt::format("step '{}' was already approved by {}", row.name,
                         out["by"].get<std::string>());
  }
  if (row.state == StepState::kDead && row.reason.starts_with("rejected by "))
    return fmt::format("step '{}' was already {}", row.name, row.reason);
  if (row.state == StepState::kDead && row.reason.starts_with("no decision within "))
    return fmt::format("step '{}' already timed out: {}", row.name, row.reason);
  return std::nullopt;
}

Error notWaiting(const store::StepRow& row) {
  if (auto decided = decidedAlready(row)) return Error(ErrorCode::kConflict, *decided);
  return Error(ErrorCode::kConflict, fmt::format("step '{}' is not waiting for approval (it is {})",
                                                 row.name, toString(row.state)));
}

}  // namespace

void Engine::startApproval(RunRt& run, int idx) {
  auto& s = run.steps[idx];
  const auto& approval = run.wf->spec->steps[idx].approval;
  std::string message;
  if (!approval.message.empty()) {
    // Only the outputs of the steps this one needs, like any other step.
    std::map<std::string, json> outputs;
    std::vector<int> todo = run.wf->needs[idx];
    std::vector<char> seen(run.steps.size(), 0);
    while (!todo.empty()) {
      int up = todo.back();
      todo.pop_back();
      if (seen[up]) continue;
      seen[up] = 1;
      todo.insert(todo.end(), run.wf->needs[up].begin(), run.wf->needs[up].end());
      const auto& other = run.steps[up];
      if (other.row.state != StepState::kSucceeded || other.row.outputJson.empty()) continue;
      json out = json::parse(other.row.outputJson, nullptr, false);
      outputs[other.row.name] = out.is_discarded() ? json() : out;
    }
    spec::TemplateContext ctx;
    ctx.params = &run.params;
    ctx.stepOutputs = &outputs;
    ctx.runId = run.row.id;
    ctx.workflow = run.row.workflow;
    auto rendered = spec::renderTemplate(approval.message, ctx);
    if (!rendered.ok()) {
      s.attempt->state = AttemptState::kFailed;
      s.attempt->finishedAt = now();
      s.attempt->failureClass = FailureClass::kBadInput;
      s.attempt->message = "approval.message: " + rendered.error().message();
      pending_.mutations.emplace_back(store::PutAttempt{*s.attempt});
      event(run, "attempt_failed", s.row.name, s.attempt->n,
            fmt::format("{}: {}", toString(FailureClass::kBadInput), s.attempt->message));
      killStep(run, idx, s.attempt->message);
      return;
    }
    message = std::move(*rendered);
  }
  s.row.state = StepState::kWaiting;
  s.row.dueAt = now() + approval.timeout;
  s.row.waitKind = kWaitApproval;
  s.row.waitReason =
      "approval by " + approverList(approval) + (message.empty() ? "" : ": ") + message;
  s.row.reason = s.row.waitReason;
  markStep(run, idx);
  pending_.mutations.emplace_back(store::PutAttempt{*s.attempt});
  event(run, "approval_requested", s.row.name, s.attempt->n,
        fmt::format("{} (until {})", s.row.waitReason, formatRfc3339(*s.row.dueAt)));
  armStepTimer(run, idx, *s.row.dueAt);
}

void Engine::approvalTimedOut(RunRt& run, int idx) {
  auto& s = run.steps[idx];
  const auto& approval = run.wf->spec->steps[idx].approval;
  cancelTimers(s);
  const std::string within = "no decision within " + spec::formatDuration(approval.timeout);
  // Shown as "approved by keel (timeout): no decision within 4h".
  RequestContext keel;
  keel.token = "keel (timeout)";
  keel.reason = within;
  // keel decides in a person's place: an entry like theirs, actor `keel`.
  RequestContext auditor;
  auditor.reason = within;
  if (approval.approveOnTimeout) {
    s.attempt->state = AttemptState::kSucceeded;
    s.attempt->finishedAt = now();
    s.attempt->message = within + "; approved by keel (timeout)";
    pending_.mutations.emplace_back(store::PutAttempt{*s.attempt});
    event(run, "approval_timed_out", keel, s.row.name, "approved");
    auditRun(run, auditor, "step.approve", s.row.name);
    json out = {{"approved", true},
                {"by", "keel (timeout)"},
                {"reason", within},
                {"at", formatRfc3339(now())}};
    succeedStep(run, idx, out.dump());
    return;
  }
  s.attempt->state = AttemptState::kFailed;
  s.attempt->finishedAt = now();
  s.attempt->failureClass = FailureClass::kTimeout;
  s.attempt->message = within;
  pending_.mutations.emplace_back(store::PutAttempt{*s.attempt});
  event(run, "approval_timed_out", keel, s.row.name, "failed");
  auditRun(run, auditor, "step.reject", s.row.name);
  killStep(run, idx, within);
}

std::future<Result<store::RunRow>> Engine::decideApproval(const std::string& runId,
                                                          const std::string& step, bool approve,
                                                          RequestContext who) {
  return onLoopIfHealthy<Result<store::RunRow>>(
      [this, runId, step, approve, who = std::move(who)](auto reply) {
        onDecideApproval(runId, step, approve, who, reply);
      });
}

void Engine::onDecideApproval(const std::string& runId, const std::string& step, bool approve,
                              RequestContext who,
                              std::shared_ptr<std::promise<Result<store::RunRow>>> reply) {
  RunRt* run = findRun(runId);
  if (!run) {
    // Finished and durable, or unknown: the StoreReader says which.
    ++readsInFlight_;
    reader_.post([this, runId, step, approve, who, reply] {
      auto detail = store_.getRun(runId);
      loop_.post([this, runId, step, approve, who, reply, detail = std::move(detail)] {
        --readsInFlight_;
        if (findRun(runId)) {
          onDecideApproval(runId, step, approve, who, reply);  // retried meanwhile
          return;
        }
        if (!detail.ok()) {
          reply->set_value(detail.error());
          return;
        }
        if (!detail->has_value()) {
          reply->set_value(Error(ErrorCode::kNotFound, "no run " + runId));
          return;
        }
        for (const auto& row : (*detail)->steps)
          if (row.name == step) {
            reply->set_value(notWaiting(row));
            return;
          }
        reply->set_value(
            Error(ErrorCode::kNotFound, fmt::format("run {} has no step '{}'", runId, step)));
      });
    });
    return;
  }
  int idx = -1;
  for (size_t i = 0; i < run->steps.size(); ++i)
    if (run->steps[i].row.name == step) idx = static_cast<int>(i);
  if (idx < 0) {
    reply->set_value(
        Error(ErrorCode::kNotFound, fmt::format("run {} has no step '{}'", runId, step)));
    return;
  }
  auto& s = run->steps[idx];
  const auto& spec = run->wf->spec->steps[idx];
  if (spec.kind != spec::StepKind::kApproval) {
    reply->set_value(Error(ErrorCode::kConflict,
                           fmt::format("step '{}' is a {} step, not an approval step (it is {})",
                                       step, toString(spec.kind), toString(s.row.state))));
    return;
  }
  if (s.row.state != StepState::kWaiting || !s.attempt) {
    reply->set_value(notWaiting(s.row));
    return;
  }
  replyWhenDurable(*run, [reply](const store::RunRow& row) { reply->set_value(row); });
  cancelTimers(s);
  ++s.timerToken;
  const std::string actor = who.actor();
  if (approve) {
    s.attempt->state = AttemptState::kSucceeded;
    s.attempt->finishedAt = now();
    s.attempt->message = "approved by " + actor;
    pending_.mutations.emplace_back(store::PutAttempt{*s.attempt});
    // Shown as "approved by ACTOR: REASON".
    event(*run, "approval_granted", who, s.row.name, "approved");
    auditRun(*run, who, "step.approve", s.row.name);
    json out = {
        {"approved", true}, {"by", actor}, {"reason", who.reason}, {"at", formatRfc3339(now())}};
    succeedStep(*run, idx, out.dump());
    return;
  }
  std::string why = "rejected by " + actor + (who.reason.empty() ? "" : ": " + who.reason);
  s.attempt->state = AttemptState::kFailed;
  s.attempt->finishedAt = now();
  s.attempt->failureClass = FailureClass::kBadInput;
  s.attempt->message = why;
  pending_.mutations.emplace_back(store::PutAttempt{*s.attempt});
  event(*run, "approval_rejected", who, s.row.name, "rejected");
  auditRun(*run, who, "step.reject", s.row.name);
  killStep(*run, idx, why);
}

}  // namespace keel::engine
