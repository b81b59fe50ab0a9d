// Recovery: rebuilding the memory of unfinished runs from the store, and
// continuing each from its last durable transition (G3).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/engine.h"
#include "observe/json_log.h"
#include "observe/trace_context.h"

namespace keel::engine {

RunRt* Engine::rebuildRun(store::ActiveRun active, std::shared_ptr<const LoadedWorkflow> wf) {
  auto owned = std::make_unique<RunRt>();
  RunRt& run = *owned;
  run.row = std::move(active.run);
  run.wf = std::move(wf);
  run.params = nlohmann::json::parse(run.row.paramsJson, nullptr, false);
  if (run.params.is_discarded()) run.params = nlohmann::json::object();
  run.cancelRequested = !run.row.cancelReason.empty();
  run.compensateOnCancel = run.row.cancelReason == kCancelCompensate;
  initSteps(run);
  for (auto& s : run.steps) s.budgetStart.reset();  // read back by start()
  const size_t total = run.steps.size();
  for (size_t i = 0; i < total; ++i) {
    auto& s = run.steps[i];  // dirty until a stored row is found for it
    for (auto& row : active.steps)
      if (row.name == s.row.name) {
        s.row = row;
        s.dirty = false;
      }
    for (auto& a : active.attempts)
      if (a.step == s.row.name && (!s.attempt || a.n > s.attempt->n)) s.attempt = a;
  }
  for (size_t i = 0; i < total; ++i)
    for (int need : run.wf->needs[i])
      if (!satisfiesNeeds(run.steps[need].row)) ++run.steps[i].pendingNeeds;
  auto* ptr = &run;
  runs_[run.row.id] = std::move(owned);
  activeRuns_ = runs_.size();
  for (size_t i = 0; i < ptr->steps.size(); ++i)
    if (ptr->steps[i].dirty) markStep(*ptr, static_cast<int>(i));
  return ptr;
}

bool Engine::heldSlotWhenStopped(const RunRt& run) {
  if (run.row.concurrencyKey.empty() || !run.wf->spec->concurrency) return false;
  if (isTerminal(run.row.state) || run.row.state == RunState::kPending) return false;
  bool passed = false;
  for (const auto& s : run.steps) {
    if (s.row.state == StepState::kReady && s.row.waitKind == kWaitConcurrency) return false;
    switch (s.row.state) {
      case StepState::kRunning:
      case StepState::kWaiting:
      case StepState::kRetrying:
      case StepState::kSucceeded:
      case StepState::kDead:
        passed = true;
        break;
      case StepState::kReady:
        passed = passed || s.row.waitKind == kWaitMaxParallel;
        break;
      default:
        break;
    }
  }
  return passed;
}

// Continues a run that was running when keel stopped.
void Engine::continueRun(RunRt& run) {
  if (run.cancelRequested) skipUnstartedSteps(run);
  // What each step was when keel stopped: a step that a transition below
  // moves on (a dependant of a step that succeeds at once) is not resumed
  // a second time.
  std::vector<StepState> stored;
  for (const auto& s : run.steps) stored.push_back(s.row.state);
  for (size_t i = 0; i < run.steps.size(); ++i) {
    int idx = static_cast<int>(i);
    auto& s = run.steps[i];
    if (s.row.state != stored[i]) continue;
    switch (s.row.state) {
      case StepState::kRunning:
        if (s.attempt && runnerFor(run.wf->step(static_cast<int>(i)).kind)) {
          reattachStep(run, idx);
          break;
        }
        if (!s.attempt) {
          // The step row says running but its attempt never became durable.
          s.attempt.emplace();
          s.attempt->runId = run.row.id;
          s.attempt->step = s.row.name;
          s.attempt->n = s.row.attempts;
          s.attempt->startedAt = now();
        }
        event(run, "attempt_lost", s.row.name, s.attempt->n,
              "keel stopped while this attempt was running");
        failAttempt(run, idx, FailureClass::kLost, std::nullopt,
                    "keel stopped while this attempt was running; its outcome is unknown");
        break;
      case StepState::kRetrying:
      case StepState::kWaiting:
        armStepTimer(run, idx, s.row.dueAt.value_or(now()));
        break;
      case StepState::kReady:
        dispatchStep(run, idx);
        break;
      case StepState::kPending:
        // A compensation starts only by maybeFinishRun (engine_compensate.cc).
        if (s.pendingNeeds == 0 && !run.cancelRequested && !run.wf->isCompensation(idx))
          readyStep(run, idx);
        break;
      default:
        break;
    }
  }
  refreshPaused(run);  // a paused run stays paused; one no longer paused runs
  maybeFinishRun(run);
}

void Engine::failUnloadable(store::ActiveRun active, const Error& why) {
  auto& run = active.run;
  std::string cause = fmt::format("workflow '{}' version {} cannot be loaded: {}", run.workflow,
                                  run.version, why.message());
  if (observe::logEnabled(spdlog::level::err))
    observe::logFields(spdlog::level::err, "run failed: " + cause,
                       {{"run_id", run.id},
                        {"trace_id", observe::runTraceId(run.traceId, run.id)},
                        {"workflow", run.workflow},
                        {"version", run.version},
                        {"state", "failed"}});
  WallTime at = now();
  run.state = RunState::kFailed;
  run.reason = cause;
  run.waitKind.clear();
  run.waitReason.clear();
  run.finishedAt = at;
  pending_.mutations.emplace_back(store::PutRun{run});
  for (auto& s : active.steps) {
    if (isTerminal(s.state)) continue;
    bool started = s.state == StepState::kRunning || s.state == StepState::kWaiting ||
                   s.state == StepState::kRetrying;
    s.state = started ? StepState::kDead : StepState::kSkipped;
    s.reason = started ? "its workflow version cannot be loaded" : "run failed before it started";
    s.dueAt.reset();
    s.waitKind.clear();
    s.waitReason.clear();
    pending_.mutations.emplace_back(store::PutStep{s});
  }
  for (auto& a : active.attempts) {
    if (a.state != AttemptState::kRunning) continue;
    a.state = AttemptState::kFailed;
    a.failureClass = FailureClass::kLost;
    a.finishedAt = at;
    a.message =
        "keel stopped while this attempt was running, and its workflow version can no "
        "longer be loaded";
    pending_.mutations.emplace_back(store::PutAttempt{a});
    if (observe::logEnabled(spdlog::level::warn))
      observe::logFields(spdlog::level::warn, "attempt lost: " + a.message,
                         {{"run_id", run.id},
                          {"trace_id", observe::runTraceId(run.traceId, run.id)},
                          {"workflow", run.workflow},
                          {"step", a.step},
                          {"attempt", a.n},
                          {"class", toString(FailureClass::kLost)}});
  }
  store::EventRow e;
  e.runId = run.id;
  e.at = at;
  e.kind = "run_failed";
  e.message = cause;
  pending_.mutations.emplace_back(store::AppendEvent{std::move(e)});
  ++runsFinished_;
}

}  // namespace keel::engine
