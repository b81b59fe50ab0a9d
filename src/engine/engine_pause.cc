// Pause, resume, disable and enable on the engine loop. A paused workflow
// or run holds every step not yet dispatched at the `paused` gate (running
// steps finish); a disabled workflow's triggers start no run. What is set
// on a workflow lives in the store's workflow_controls (loaded by start()),
// what is set on a run in its row's pause_reason.
#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/engine.h"
#include "observe/json_log.h"
#include "observe/trace_context.h"

namespace keel::engine {

namespace {

std::string byActorWithReason(const std::string& actor, const std::string& reason) {
  std::string out = actor.empty() ? "" : " by " + actor;
  if (!reason.empty()) out += ": " + reason;
  return out;
}

const char* actionName(int action) {
  static const char* names[] = {"paused", "resumed", "disabled", "enabled"};
  return names[action];
}

}  // namespace

Status Engine::loadControls() {
  auto rows = store_.listWorkflowControls();
  if (!rows.ok()) {
    if (rows.error().code() == ErrorCode::kUnimplemented) return okStatus();
    return rows.error();
  }
  controls_.clear();
  pausedWorkflows_ = 0;
  for (auto& r : *rows) {
    if (r.paused) ++pausedWorkflows_;
    controls_[r.name] = std::move(r);
  }
  return okStatus();
}

std::string Engine::pauseHold(const RunRt& run) const {
  if (!run.row.pauseReason.empty()) return run.row.pauseReason;
  if (pausedWorkflows_ == 0) return {};
  auto it = controls_.find(run.row.workflow);
  if (it == controls_.end() || !it->second.paused) return {};
  return fmt::format("workflow {} paused{}", run.row.workflow,
                     byActorWithReason(it->second.pausedBy, it->second.pausedReason));
}

std::string Engine::disabledReason(const std::string& workflow) const {
  auto it = controls_.find(workflow);
  if (it == controls_.end() || !it->second.disabled) return {};
  const auto& c = it->second;
  return fmt::format("workflow {} is disabled{}{}{}", workflow,
                     c.disabledBy.empty() ? "" : " by " + c.disabledBy,
                     c.disabledAt ? " since " + formatRfc3339(*c.disabledAt) : "",
                     c.disabledReason.empty() ? "" : ": " + c.disabledReason);
}

void Engine::refreshPaused(RunRt& run) {
  if (isTerminal(run.row.state) || run.row.state == RunState::kPending) return;
  std::string why = pauseHold(run);
  if (why.empty()) {
    if (run.row.state != RunState::kPaused) return;
    run.row.state = RunState::kRunning;
    run.row.reason.clear();
    markRun(run);
    return;
  }
  if (run.row.state == RunState::kPaused) {
    if (run.row.reason != why) {
      run.row.reason = why;
      markRun(run);
    }
    return;
  }
  // Paused once nothing of it runs any more.
  for (const auto& s : run.steps)
    if (s.row.state == StepState::kRunning) return;
  run.row.state = RunState::kPaused;
  run.row.reason = why;
  markRun(run);
}

void Engine::holdPaused(RunRt& run) {
  std::string why = pauseHold(run);
  if (why.empty() || isTerminal(run.row.state)) return;
  GateDecision hold = GateDecision::hold(kWaitPaused, why);
  for (size_t i = 0; i < run.steps.size(); ++i) {
    auto& s = run.steps[i];
    if (s.row.state == StepState::kReady) {
      holdStep(run, static_cast<int>(i), hold);
    } else if (s.heldByPause) {
      s.row.reason = why;
      markStep(run, static_cast<int>(i));
    }
  }
  refreshPaused(run);
}

void Engine::releasePaused(RunRt& run) {
  if (isTerminal(run.row.state)) return;
  if (!pauseHold(run).empty()) {
    holdPaused(run);  // still paused (by the run itself or its workflow): re-worded
    return;
  }
  refreshPaused(run);
  for (size_t i = 0; i < run.steps.size(); ++i) {
    auto& s = run.steps[i];
    const int idx = static_cast<int>(i);
    if (run.cancelRequested) break;
    if (s.row.state == StepState::kReady && s.row.waitKind == kWaitPaused) {
      dispatchStep(run, idx);
    } else if (s.row.state == StepState::kWaiting && s.heldByPause && s.attempt) {
      // A sleep that came due while paused ends now.
      s.heldByPause = false;
      s.attempt->state = AttemptState::kSucceeded;
      s.attempt->finishedAt = now();
      pending_.mutations.emplace_back(store::PutAttempt{*s.attempt});
      succeedStep(run, idx, {});
    }
  }
}

std::future<Result<WorkflowControlResult>> Engine::controlWorkflow(ControlAction action,
                                                                   const std::string& name,
                                                                   RequestContext who) {
  auto reply = std::make_shared<std::promise<Result<WorkflowControlResult>>>();
  auto future = reply->get_future();
  if (Status h = health(); !h.ok()) {
    reply->set_value(h.error());
    return future;
  }
  auto wf = workflows_.latest(name);
  if (!wf.ok()) {
    reply->set_value(wf.error());
    return future;
  }
  loop_.post([this, action, name, who = std::move(who), reply] {
    onControlWorkflow(action, name, who, reply);
  });
  return future;
}

std::future<Result<WorkflowControlResult>> Engine::pauseWorkflow(const std::string& name,
                                                                 RequestContext who) {
  return controlWorkflow(ControlAction::kPause, name, std::move(who));
}
std::future<Result<WorkflowControlResult>> Engine::resumeWorkflow(const std::string& name,
                                                                  RequestContext who) {
  return controlWorkflow(ControlAction::kResume, name, std::move(who));
}
std::future<Result<WorkflowControlResult>> Engine::disableWorkflow(const std::string& name,
                                                                   RequestContext who) {
  return controlWorkflow(ControlAction::kDisable, name, std::move(who));
}
std::future<Result<WorkflowControlResult>> Engine::enableWorkflow(const std::string& name,
                                                                  RequestContext who) {
  return controlWorkflow(ControlAction::kEnable, name, std::move(who));
}

void Engine::onControlWorkflow(ControlAction action, const std::string& name, RequestContext who,
                               std::shared_ptr<std::promise<Result<WorkflowControlResult>>> reply) {
  store::WorkflowControlRow row;
  row.name = name;
  if (auto it = controls_.find(name); it != controls_.end()) row = it->second;
  const bool on = action == ControlAction::kPause || action == ControlAction::kDisable;
  const bool pause = action == ControlAction::kPause || action == ControlAction::kResume;
  bool& flag = pause ? row.paused : row.disabled;
  if (flag == on) {
    // Already so: nothing to write. Answered once what set it is durable.
    afterCommit([reply, row] { reply->set_value(WorkflowControlResult{row, false}); });
    return;
  }
  flag = on;
  std::string& by = pause ? row.pausedBy : row.disabledBy;
  std::optional<WallTime>& at = pause ? row.pausedAt : row.disabledAt;
  std::string& reason = pause ? row.pausedReason : row.disabledReason;
  if (on) {
    by = who.actor();
    at = now();
    reason = who.reason;
  } else {
    by.clear();
    at.reset();
    reason.clear();
  }
  if (pause) pausedWorkflows_ += on ? 1 : -1;
  controls_[name] = row;
  pending_.mutations.emplace_back(store::PutWorkflowControl{row});
  const char* what = actionName(static_cast<int>(action));
  static const char* kAuditActions[] = {"workflow.pause", "workflow.resume", "workflow.disable",
                                        "workflow.enable"};
  audit(who, kAuditActions[static_cast<int>(action)], name, {{"workflow", name}});
  observe::logFields(spdlog::level::info, fmt::format("workflow {} {}", name, what),
                     {{"workflow", name}, {"actor", who.actor()}, {"reason", who.reason}});
  if (pause) {
    // Oldest run first, so a resume dispatches them in creation order.
    std::vector<RunRt*> affected;
    for (auto& [id, run] : runs_)
      if (run->row.workflow == name && !isTerminal(run->row.state)) affected.push_back(run.get());
    std::sort(affected.begin(), affected.end(),
              [](const RunRt* a, const RunRt* b) { return a->row.id < b->row.id; });
    for (RunRt* run : affected) {
      event(*run, on ? "run_paused" : "run_resumed", who, {},
            fmt::format("workflow {} {}", name, what));
      if (on)
        holdPaused(*run);
      else
        releasePaused(*run);
    }
  }
  afterCommit([reply, row] { reply->set_value(WorkflowControlResult{row, true}); });
}

std::future<Result<store::RunRow>> Engine::pauseRun(const std::string& runId, RequestContext who) {
  return onLoopIfHealthy<Result<store::RunRow>>(
      [this, runId, who = std::move(who)](auto reply) { onControlRun(true, runId, who, reply); });
}

std::future<Result<store::RunRow>> Engine::resumeRun(const std::string& runId, RequestContext who) {
  return onLoopIfHealthy<Result<store::RunRow>>(
      [this, runId, who = std::move(who)](auto reply) { onControlRun(false, runId, who, reply); });
}

void Engine::onControlRun(bool pause, const std::string& runId, RequestContext who,
                          std::shared_ptr<std::promise<Result<store::RunRow>>> reply) {
  RunRt* run = findRun(runId);
  if (!run) {
    // Finished and durable, or unknown: the StoreReader says which.
    ++readsInFlight_;
    reader_.post([this, pause, runId, who, reply] {
      auto detail = store_.getRun(runId);
      loop_.post([this, pause, runId, who, reply, detail = std::move(detail)] {
        --readsInFlight_;
        if (findRun(runId)) {
          onControlRun(pause, runId, who, reply);  // retried meanwhile
        } else if (!detail.ok()) {
          reply->set_value(detail.error());
        } else if (!detail->has_value()) {
          reply->set_value(Error(ErrorCode::kNotFound, "no run " + runId));
        } else if (!isTerminal((*detail)->run.state)) {
          afterCommit([this, pause, runId, who, reply] { onControlRun(pause, runId, who, reply); });
        } else {
          reply->set_value(Error(
              ErrorCode::kConflict,
              fmt::format("run {} already finished ({})", runId, toString((*detail)->run.state))));
        }
      });
    });
    return;
  }
  if (isTerminal(run->row.state)) {
    reply->set_value(Error(ErrorCode::kConflict, fmt::format("run {} already finished ({})", runId,
                                                             toString(run->row.state))));
    return;
  }
  replyWhenDurable(*run, [reply](const store::RunRow& row) { reply->set_value(row); });
  const bool isPaused = !run->row.pauseReason.empty();
  if (isPaused == pause) return;  // already so: answered with the run as it is
  run->row.pauseReason =
      pause ? fmt::format("run {} paused{}", runId, byActorWithReason(who.actor(), who.reason))
            : "";
  markRun(*run);
  event(*run, pause ? "run_paused" : "run_resumed", who, {}, pause ? "run paused" : "run resumed");
  auditRun(*run, who, pause ? "run.pause" : "run.resume");
  observe::logFields(spdlog::level::info,
                     fmt::format("run {} {}", runId, pause ? "paused" : "resumed"),
                     {{"run_id", runId},
                      {"trace_id", observe::runTraceId(run->row.traceId, runId)},
                      {"workflow", run->row.workflow},
                      {"actor", who.actor()},
                      {"reason", who.reason}});
  if (pause)
    holdPaused(*run);
  else
    releasePaused(*run);
}

}  // namespace keel::engine
