// The engine's metrics by workflow (workflow_metrics.h): what ends is
// observed from the batches the store has committed, so a count or a
// duration never describes a transition that a crash could still undo, and
// every path that ends an attempt or a run (a step's outcome, an approval,
// an operator's cancel, recovery) is counted in one place.
#include <map>
#include <string>
#include <variant>

#include "engine/engine.h"
#include "spec/workflow.h"

namespace keel::engine {

void Engine::observeCommitted(const store::Batch& batch) {
  for (const auto& m : batch.mutations)
    if (std::holds_alternative<store::PutIncident>(m)) {
      refreshIncidentMetrics();
      break;
    }
  if (!workflowMetrics_) return;
  // A run failed by recovery is not in runs_: its row is in the batch.
  std::map<std::string, const store::RunRow*> rows;
  for (const auto& m : batch.mutations)
    if (const auto* put = std::get_if<store::PutRun>(&m)) rows[put->row.id] = &put->row;
  for (const auto& m : batch.mutations) {
    if (const auto* put = std::get_if<store::PutAttempt>(&m)) {
      const auto& a = put->row;
      if (a.state == AttemptState::kRunning) continue;
      std::string kind = "unknown";
      std::string workflow;
      if (auto it = runs_.find(a.runId); it != runs_.end()) {
        workflow = it->second->row.workflow;
        const auto& index = it->second->wf->stepIndex;
        if (auto s = index.find(a.step); s != index.end())
          kind = std::string(spec::toString(it->second->wf->step(s->second).kind));
      } else if (auto r = rows.find(a.runId); r != rows.end()) {
        workflow = r->second->workflow;
      } else {
        continue;  // not a run of this engine: nothing to label it with
      }
      workflowMetrics_->attemptEnded(workflow, kind, a);
    } else if (const auto* ev = std::get_if<store::AppendEvent>(&m)) {
      // A run's end appends its event once (a re-opened run that ends
      // again, once more), while its row may be written again.
      const auto& kind = ev->row.kind;
      if (kind != "run_succeeded" && kind != "run_failed" && kind != "run_cancelled") continue;
      if (auto r = rows.find(ev->row.runId); r != rows.end())
        workflowMetrics_->runEnded(*r->second);
    }
  }
}

void Engine::observeAttemptStarted(const RunRt& run, const StepRt& step) {
  if (!workflowMetrics_ || !step.attempt) return;
  int attempts = 0;
  for (const auto& s : run.steps) attempts += s.row.attempts;
  if (attempts == 1)
    workflowMetrics_->firstAttemptStarted(run.row.workflow, run.row.createdAt,
                                          step.attempt->startedAt);
}

Status Engine::loadLastSuccesses() {
  if (!workflowMetrics_) return okStatus();
  auto workflows = store_.listWorkflows();
  if (!workflows.ok()) return workflows.error();
  for (const auto& wf : *workflows) {
    workflowMetrics_->known(wf.name);
    store::RunFilter filter;
    filter.workflow = wf.name;
    filter.states = {RunState::kSucceeded};
    filter.limit = 1;
    auto runs = store_.listRuns(filter);
    if (!runs.ok()) return runs.error();
    if (!runs->empty() && runs->front().finishedAt)
      workflowMetrics_->lastSuccess(wf.name, *runs->front().finishedAt);
  }
  return okStatus();
}

}  // namespace keel::engine
