// Compensation (sagas): when a run fails for good, or is cancelled with
// compensation, the `compensate:` of each of its succeeded steps runs, in
// the reverse order of those successes, one after another, before the run
// ends. Each compensation is a step of its own ("STEP.compensate", after
// the workflow's steps in RunRt::steps; see workflow_cache.h): its
// attempts, retries, timeouts, logs and re-attach after a restart are those
// of any step, and its row is written only once it starts.
#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/engine.h"
#include "observe/json_log.h"
#include "observe/trace_context.h"

namespace keel::engine {

namespace {

// The compensations due, in the order they run: the succeeded steps that
// have one, the last success first (ties: the later step first).
std::vector<int> compensationPlan(const RunRt& run) {
  std::vector<int> steps;
  for (int i = 0; i < run.wf->stepCount; ++i)
    if (run.wf->compensationOf[i] >= 0 && run.steps[i].row.state == StepState::kSucceeded)
      steps.push_back(i);
  std::sort(steps.begin(), steps.end(), [&](int a, int b) {
    const auto sa = run.steps[a].completedSeq, sb = run.steps[b].completedSeq;
    return sa != sb ? sa > sb : a > b;
  });
  std::vector<int> plan;
  for (int i : steps) plan.push_back(run.wf->compensationOf[i]);
  return plan;
}

}  // namespace

bool Engine::compensationsFinished(RunRt& run, bool allSucceeded) {
  if (run.row.compensation.empty()) {
    const bool due = run.cancelRequested ? run.compensateOnCancel : !allSucceeded;
    if (!due) return true;
    std::vector<int> plan = compensationPlan(run);
    if (plan.empty()) return true;  // nothing that succeeded has anything to undo
    run.row.compensation = kCompensationRunning;
    run.row.reason = kCompensating;
    markRun(run);
    std::string order;
    for (int c : plan) order += (order.empty() ? "" : ", ") + run.steps[c].row.name;
    event(run, "compensation_started", {}, 0,
          fmt::format("{}: {}", run.cancelRequested ? "run cancelled" : "run failed", order));
    if (observe::logEnabled(spdlog::level::info))
      observe::logFields(spdlog::level::info, "run compensating: " + order,
                         {{"run_id", run.row.id},
                          {"trace_id", observe::runTraceId(run.row.traceId, run.row.id)},
                          {"workflow", run.row.workflow}});
  }
  if (run.row.compensation != kCompensationRunning) return true;  // ended earlier
  bool anyFailed = false;
  for (int c : compensationPlan(run)) {
    const auto& s = run.steps[c];
    if (s.row.state == StepState::kPending && s.row.attempts == 0) {
      // If it ends at once (it cannot be prepared), the maybeFinishRun
      // of that end goes on with the next one, or ends the run.
      readyStep(run, c);
      return false;
    }
    if (!isTerminal(s.row.state)) return false;  // it runs, or waits to retry
    anyFailed = anyFailed || s.row.state != StepState::kSucceeded;
  }
  run.row.compensation = anyFailed ? kCompensationFailed : kCompensationDone;
  event(run, anyFailed ? "compensation_finished_with_failures" : "compensation_done", {}, 0,
        anyFailed ? "at least one compensation failed; see the steps named *.compensate"
                  : "every compensation succeeded");
  return true;
}

void Engine::compensationFailed(RunRt& run, int idx) {
  const auto& s = run.steps[idx];
  ++compensationsFailed_;
  event(run, "compensation_failed", s.row.name, s.row.attempts, s.row.reason);
  observe::logFields(spdlog::level::err, "compensation failed: " + s.row.reason,
                     {{"run_id", run.row.id},
                      {"trace_id", observe::runTraceId(run.row.traceId, run.row.id)},
                      {"workflow", run.row.workflow},
                      {"step", s.row.name},
                      {"attempt", s.row.attempts}});
}

void Engine::collectCompletions(RunRt& run, const std::vector<store::EventRow>& events) {
  for (const auto& e : events) {
    if (e.kind != "step_succeeded") continue;
    auto it = run.wf->stepIndex.find(e.step);
    if (it == run.wf->stepIndex.end()) continue;
    auto seq = static_cast<uint64_t>(std::max<int64_t>(e.seq, 0));
    run.steps[it->second].completedSeq = seq;
    run.nextCompletedSeq = std::max(run.nextCompletedSeq, seq + 1);
  }
}

}  // namespace keel::engine
