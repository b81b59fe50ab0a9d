// Operator actions on one step of a run: skip (keel skip), re-run from a
// step (keel rerun --from) and cancel of one running step (keel cancel
// --step). Each is decided on the loop from the run's current state; a run
// no longer in memory (finished, its end durable) is read on the
// StoreReader and decided back on the loop, like a retry (engine_runs.cc),
// and re-opened in memory when the action makes it run again.
#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/engine.h"

namespace keel::engine {

namespace {

int stepIndex(const LoadedWorkflow& wf, const std::string& name) {
  const auto& steps = wf.spec->steps;
  for (size_t i = 0; i < steps.size(); ++i)
    if (steps[i].name == name) return static_cast<int>(i);
  return -1;
}

// The step and every step downstream of it (by needs), in workflow order.
std::vector<int> downstreamOf(const LoadedWorkflow& wf, int idx) {
  std::vector<char> in(wf.spec->steps.size(), 0);
  std::vector<int> todo{idx};
  while (!todo.empty()) {
    int i = todo.back();
    todo.pop_back();
    if (in[i]) continue;
    in[i] = 1;
    todo.insert(todo.end(), wf.dependants[i].begin(), wf.dependants[i].end());
  }
  std::vector<int> out;
  for (size_t i = 0; i < in.size(); ++i)
    if (in[i]) out.push_back(static_cast<int>(i));
  return out;
}

// " (ACTOR): REASON", each part only when there is one.
std::string byWhom(const std::string& actor, const std::string& reason) {
  std::string out;
  if (!actor.empty()) out += " (" + actor + ")";
  if (!reason.empty()) out += ": " + reason;
  return out;
}
std::string byWhom(const RequestContext& who) { return byWhom(who.actor(), who.reason); }

Error conflict(std::string message) { return Error(ErrorCode::kConflict, std::move(message)); }

}  // namespace

Status Engine::checkStepAction(StepAction action, const store::RunRow& runRow, bool cancelRequested,
                               const LoadedWorkflow& wf, const std::vector<store::StepRow>& rows,
                               int idx) {
  const std::string& id = runRow.id;
  const store::StepRow& s = rows[idx];
  const std::string state(toString(s.state));
  const bool finished = isTerminal(runRow.state);
  if (cancelRequested && !finished)
    return conflict(fmt::format("run {} is being cancelled; retry it once it has ended", id));
  switch (action) {
    case StepAction::kCancel:
      if (finished)
        return conflict(fmt::format("run {} already finished ({}); step '{}' is not running", id,
                                    toString(runRow.state), s.name));
      if (s.state != StepState::kRunning) {
        bool skippable = s.state == StepState::kPending || s.state == StepState::kReady ||
                         s.state == StepState::kWaiting || s.state == StepState::kRetrying;
        return conflict(fmt::format(
            "step '{}' of run {} is not running (it is {}){}", s.name, id, state,
            skippable ? fmt::format("; skip it instead: keel skip {} {}", id, s.name) : ""));
      }
      return okStatus();
    case StepAction::kSkip:
      if (s.state == StepState::kRunning)
        return conflict(fmt::format(
            "step '{}' of run {} is running; cancel it first (keel cancel {} --step {}), then "
            "skip it",
            s.name, id, id, s.name));
      if (s.state == StepState::kSucceeded)
        return conflict(fmt::format(
            "step '{}' of run {} succeeded; nothing to skip (keel rerun {} --from {} runs it "
            "again)",
            s.name, id, id, s.name));
      if (s.state == StepState::kSkipped)
        return conflict(
            fmt::format("step '{}' of run {} is already skipped ({})", s.name, id, s.reason));
      if (finished && runRow.state != RunState::kFailed)
        return conflict(fmt::format(
            "run {} was {}; a skip re-opens only a failed run (keel retry {} or keel rerun {} "
            "--from STEP)",
            id, toString(runRow.state), id, id));
      return okStatus();
    case StepAction::kRerunFrom: {
      auto affected = downstreamOf(wf, idx);
      for (int i : affected)
        if (rows[i].state == StepState::kRunning)
          return conflict(fmt::format(
              "step '{}' of run {} is running; wait for it or cancel it (keel cancel {} --step {}) "
              "before re-running from '{}'",
              rows[i].name, id, id, rows[i].name, s.name));
      for (int i : affected)
        for (int need : wf.needs[i]) {
          if (std::find(affected.begin(), affected.end(), need) != affected.end()) continue;
          const auto& up = rows[need];
          bool blocked = up.state == StepState::kDead ||
                         (up.state == StepState::kSkipped && !skippedByOperator(up)) ||
                         (finished && !satisfiesNeeds(up));
          if (blocked)
            return conflict(fmt::format(
                "step '{}' needs '{}', which did not succeed ({}); re-run from '{}' or skip it "
                "first",
                rows[i].name, up.name, toString(up.state), up.name));
        }
      return okStatus();
    }
  }
  return okStatus();
}

std::future<Result<store::RunRow>> Engine::postStepAction(StepAction action,
                                                          const std::string& runId,
                                                          const std::string& step,
                                                          RequestContext who) {
  return onLoopIfHealthy<Result<store::RunRow>>(
      [this, action, runId, step, who = std::move(who)](auto reply) {
        onStepAction(action, runId, step, who, reply);
      });
}

std::future<Result<store::RunRow>> Engine::skipStep(const std::string& runId,
                                                    const std::string& step, RequestContext who) {
  return postStepAction(StepAction::kSkip, runId, step, std::move(who));
}

std::future<Result<store::RunRow>> Engine::rerunFrom(const std::string& runId,
                                                     const std::string& step, RequestContext who) {
  return postStepAction(StepAction::kRerunFrom, runId, step, std::move(who));
}

std::future<Result<store::RunRow>> Engine::cancelStep(const std::string& runId,
                                                      const std::string& step, RequestContext who) {
  return postStepAction(StepAction::kCancel, runId, step, std::move(who));
}

void Engine::onStepAction(StepAction action, const std::string& id, const std::string& step,
                          RequestContext who,
                          std::shared_ptr<std::promise<Result<store::RunRow>>> reply) {
  if (RunRt* live = findRun(id)) {
    if (isTerminal(live->row.state)) {
      // Its end is not durable yet: decide once it is (then from the store).
      afterCommit(
          [this, action, id, step, who, reply] { onStepAction(action, id, step, who, reply); });
      return;
    }
    int idx = stepIndex(*live->wf, step);
    if (idx < 0) {
      reply->set_value(
          Error(ErrorCode::kNotFound, fmt::format("run {} has no step '{}'", id, step)));
      return;
    }
    std::vector<store::StepRow> rows;
    for (const auto& s : live->steps) rows.push_back(s.row);
    if (Status ok = checkStepAction(action, live->row, live->cancelRequested, *live->wf, rows, idx);
        !ok.ok()) {
      reply->set_value(ok.error());
      return;
    }
    replyWhenDurable(*live, [reply](const store::RunRow& row) { reply->set_value(row); });
    if (action == StepAction::kSkip) applySkip(*live, idx, who);
    if (action == StepAction::kRerunFrom) applyRerunFrom(*live, idx, who);
    if (action == StepAction::kCancel) applyCancelStep(*live, idx, who);
    return;
  }
  // Not in memory: finished and durable, or unknown. The StoreReader reads
  // it, its workflow version and its timeline, and hands them back.
  ++readsInFlight_;
  reader_.post([this, action, id, step, who, reply, retriesSeen = retries_] {
    auto found = store_.getRun(id);
    Result<std::shared_ptr<const LoadedWorkflow>> wf =
        Error(ErrorCode::kNotFound, "no workflow version read");
    Result<std::vector<store::EventRow>> events = std::vector<store::EventRow>{};
    if (found.ok() && found->has_value() && action != StepAction::kCancel) {
      wf = workflows_.version((*found)->run.workflow, (*found)->run.version);
      events = store_.runEvents(id);
    }
    loop_.post([this, action, id, step, who, reply, retriesSeen, found = std::move(found),
                wf = std::move(wf), events = std::move(events)]() mutable {
      --readsInFlight_;
      stepActionFromStore(action, id, step, std::move(who), retriesSeen, std::move(found),
                          std::move(wf), std::move(events), reply);
    });
  });
}

void Engine::stepActionFromStore(StepAction action, const std::string& id, const std::string& step,
                                 RequestContext who, uint64_t retriesSeen,
                                 Result<std::optional<store::RunDetail>> found,
                                 Result<std::shared_ptr<const LoadedWorkflow>> wf,
                                 Result<std::vector<store::EventRow>> events,
                                 std::shared_ptr<std::promise<Result<store::RunRow>>> reply) {
  if (findRun(id) || retriesSeen != retries_) {
    // Re-opened by a retry or another action while the store was read.
    onStepAction(action, id, step, std::move(who), reply);
    return;
  }
  if (!found.ok()) {
    reply->set_value(found.error());
    return;
  }
  if (!found->has_value()) {
    reply->set_value(Error(ErrorCode::kNotFound, "no run " + id));
    return;
  }
  store::RunDetail detail = std::move(**found);
  if (!isTerminal(detail.run.state)) {
    // Read while a retry of it was running: decide again once the store
    // has moved on.
    afterCommit(
        [this, action, id, step, who, reply] { onStepAction(action, id, step, who, reply); });
    return;
  }
  auto row = std::find_if(detail.steps.begin(), detail.steps.end(),
                          [&](const store::StepRow& s) { return s.name == step; });
  if (row == detail.steps.end()) {
    reply->set_value(Error(ErrorCode::kNotFound, fmt::format("run {} has no step '{}'", id, step)));
    return;
  }
  if (action == StepAction::kCancel) {
    reply->set_value(conflict(fmt::format("run {} already finished ({}); step '{}' is not running",
                                          id, toString(detail.run.state), step)));
    return;
  }
  if (!wf.ok()) {
    reply->set_value(wf.error());
    return;
  }
  if (!events.ok()) {
    // Without its timeline its next end could start an after trigger's run twice.
    reply->set_value(events.error());
    return;
  }
  const LoadedWorkflow& version = **wf;
  int idx = stepIndex(version, step);
  if (idx < 0) {
    reply->set_value(Error(ErrorCode::kNotFound, fmt::format("run {} has no step '{}'", id, step)));
    return;
  }
  // The steps in workflow order, as rebuildRun will see them.
  std::vector<store::StepRow> rows(version.spec->steps.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i].name = version.spec->steps[i].name;
    for (const auto& s : detail.steps)
      if (s.name == rows[i].name) rows[i] = s;
  }
  if (Status ok = checkStepAction(action, detail.run, false, version, rows, idx); !ok.ok()) {
    reply->set_value(ok.error());
    return;
  }
  const std::string endedAs(toString(detail.run.state));
  store::ActiveRun active;
  active.run = std::move(detail.run);
  active.run.state = RunState::kPending;
  active.run.finishedAt.reset();
  active.run.reason.clear();
  active.run.cancelReason.clear();
  active.run.waitKind.clear();
  active.run.waitReason.clear();
  active.steps = std::move(detail.steps);
  active.attempts = std::move(detail.attempts);
  RunRt* run = rebuildRun(std::move(active), std::move(*wf));
  // As a restart reads it (loadBudgets): after triggers fired, completion
  // order, retry budgets.
  collectFromTimeline(*run, *events);
  ++retries_;
  event(*run, "run_reopened", who, step,
        fmt::format("the run had ended {}; re-opened by {} of step '{}'", endedAs,
                    action == StepAction::kSkip ? "a skip" : "a re-run", step));
  if (action == StepAction::kSkip) applySkip(*run, idx, who);
  if (action == StepAction::kRerunFrom) applyRerunFrom(*run, idx, who);
  markRun(*run);
  replyWhenDurable(*run, [reply](const store::RunRow& row) { reply->set_value(row); });
  startRun(*run);
}

namespace {

// A sleep's attempt runs while the step waits: it ends with the action.
void endSleep(StepRt& s, WallTime at, const std::string& why, store::Batch& pending) {
  if (!s.attempt || s.attempt->state != AttemptState::kRunning) return;
  s.attempt->state = AttemptState::kFailed;
  s.attempt->failureClass = FailureClass::kCancelled;
  s.attempt->finishedAt = at;
  s.attempt->message = why;
  pending.mutations.emplace_back(store::PutAttempt{*s.attempt});
}

}  // namespace

void Engine::applySkip(RunRt& run, int idx, const RequestContext& who) {
  auto& s = run.steps[idx];
  endSleep(s, now(), "skipped by an operator", pending_);
  s.row.state = StepState::kSkipped;
  s.row.reason = std::string(kSkippedByOperator) + byWhom(who);
  s.row.dueAt.reset();
  s.row.waitKind.clear();
  s.row.waitReason.clear();
  ++s.timerToken;  // a pending retry or sleep no longer applies
  cancelTimers(s);
  markStep(run, idx);
  auditRun(run, who, "step.skip", s.row.name);
  operatorEvent(run, "step_skipped", who, s.row.name, s.row.attempts,
                "skipped by an operator; the steps that need it run with an empty output from it");
  // The steps skipped because this one did not succeed may run now.
  std::vector<int> todo = run.wf->dependants[idx];
  while (!todo.empty()) {
    int d = todo.back();
    todo.pop_back();
    auto& dep = run.steps[d];
    if (dep.row.state != StepState::kSkipped || skippedByOperator(dep.row)) continue;
    dep.row.state = StepState::kPending;
    dep.row.reason.clear();
    markStep(run, d);
    todo.insert(todo.end(), run.wf->dependants[d].begin(), run.wf->dependants[d].end());
  }
  settleSteps(run);
}

void Engine::applyRerunFrom(RunRt& run, int idx, const RequestContext& who) {
  auto affected = downstreamOf(*run.wf, idx);
  std::string names;
  for (int i : affected) names += (names.empty() ? "" : ", ") + run.steps[i].row.name;
  auditRun(run, who, "step.rerun_from", run.steps[idx].row.name);
  event(run, "run_rerun_from", who, run.steps[idx].row.name,
        fmt::format("re-running {} with fresh retry budgets", names));
  for (int i : affected) {
    auto& s = run.steps[i];
    endSleep(s, now(), "re-run by an operator", pending_);
    ++s.timerToken;
    cancelTimers(s);
    s.row.state = StepState::kPending;
    s.row.reason.clear();
    s.row.outputJson.clear();
    s.output.reset();
    s.row.dueAt.reset();
    s.row.waitKind.clear();
    s.row.waitReason.clear();
    s.cancelledBy.reset();
    // A fresh budget: max_attempts more attempts, numbered on from the last.
    s.budgetStart = s.row.attempts;
    s.lastDelay = Millis(0);
    markStep(run, i);
    operatorEvent(
        run, kStepRerunEvent, who, s.row.name, s.row.attempts,
        fmt::format("re-run from '{}' with a fresh retry budget", run.steps[idx].row.name));
  }
  settleSteps(run);
}

void Engine::applyCancelStep(RunRt& run, int idx, const RequestContext& who) {
  auto& s = run.steps[idx];
  s.cancelledBy = "cancelled by an operator" + byWhom(who);
  auditRun(run, who, "step.cancel", s.row.name);
  operatorEvent(run, kStepCancelRequestedEvent, who, s.row.name, s.attempt ? s.attempt->n : 0,
                "the step's attempt is stopped (class cancelled, not retried)");
  // Stopped once the request is durable; an attempt not started yet is
  // ended by launchAttempt.
  if (s.handle && s.runner)
    afterCommit([runner = s.runner, handle = *s.handle] {
      runner->stop(handle, FailureClass::kCancelled);
    });
  markRun(run);
}

void Engine::collectStepCancels(RunRt& run, const std::vector<store::EventRow>& events) {
  // Attempt numbers only grow (a rerun numbers on), so a request naming the
  // attempt that still runs was made for it and never applied.
  for (auto& s : run.steps) {
    if (s.row.state != StepState::kRunning || s.row.attempts <= 0) continue;
    for (const auto& e : events)
      if (e.kind == kStepCancelRequestedEvent && e.step == s.row.name &&
          e.attempt == s.row.attempts)
        s.cancelledBy = "cancelled by an operator" + byWhom(e.actor, e.reason);
  }
}

void Engine::settleSteps(RunRt& run) {
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < run.steps.size(); ++i) {
      auto& s = run.steps[i];
      if (s.row.state != StepState::kPending) continue;
      for (int need : run.wf->needs[i]) {
        const auto& up = run.steps[need].row;
        if (up.state != StepState::kDead &&
            !(up.state == StepState::kSkipped && !skippedByOperator(up)))
          continue;
        s.row.state = StepState::kSkipped;
        s.row.reason = fmt::format("skipped: needs '{}', which did not succeed", up.name);
        markStep(run, static_cast<int>(i));
        event(run, "step_skipped", s.row.name, 0, s.row.reason);
        changed = true;
        break;
      }
    }
  }
  for (size_t i = 0; i < run.steps.size(); ++i) {
    auto& s = run.steps[i];
    s.pendingNeeds = 0;
    for (int need : run.wf->needs[i])
      if (!satisfiesNeeds(run.steps[need].row)) ++s.pendingNeeds;
  }
  // A run re-opened from the store is started by startRun, which readies them.
  if (run.row.state != RunState::kRunning || run.cancelRequested) return;
  for (size_t i = 0; i < run.steps.size(); ++i) {
    auto& s = run.steps[i];
    if (s.row.state == StepState::kPending && s.pendingNeeds == 0)
      readyStep(run, static_cast<int>(i));
  }
  maybeFinishRun(run);
}

void Engine::operatorEvent(const RunRt& run, std::string kind, const RequestContext& who,
                           const std::string& step, int attempt, std::string message) {
  store::EventRow e;
  e.runId = run.row.id;
  e.at = now();
  e.kind = std::move(kind);
  e.step = step;
  e.attempt = attempt;
  e.message = std::move(message);
  e.actor = who.actor();
  e.reason = who.reason;
  pending_.mutations.emplace_back(store::AppendEvent{std::move(e)});
}

}  // namespace keel::engine
