// The in-memory state of an active run, owned by the engine loop.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/event_loop.h"
#include "engine/workflow_cache.h"
#include "exec/executor.h"
#include "store/records.h"

namespace keel::engine {

// The reason a run carries between a cancel request and its end, and the
// cancel_reason kept with it (store::RunRow::cancelReason): that column,
// not the reason text, is how a cancel survives a restart.
inline constexpr const char* kCancelRequested = "cancel requested";
// The cancel_reason of a cancel that runs the compensations of the run's
// succeeded steps before the run ends (engine_compensate.cc).
inline constexpr const char* kCancelCompensate = "cancel and compensate requested";
// The run's reason while its compensations run.
inline constexpr const char* kCompensating = "compensating";
// store::RunRow::compensation.
inline constexpr const char* kCompensationRunning = "running";
inline constexpr const char* kCompensationDone = "done";
inline constexpr const char* kCompensationFailed = "failed";
// The event a manual retry writes for each step it re-runs; its attempt
// field is the step's attempt count at that moment.
inline constexpr const char* kStepRerunEvent = "step_rerun";
// The event `keel cancel RUN --step STEP` writes; its attempt field is the
// attempt to stop. A restart reads it to stop that attempt if it still runs.
inline constexpr const char* kStepCancelRequestedEvent = "step_cancel_requested";

// The reason of a step an operator skipped (keel skip) starts with this:
// such a step counts as done for its dependants and for the run's end,
// unlike a step skipped because a step it needs did not succeed.
inline constexpr const char* kSkippedByOperator = "skipped by an operator";
inline bool skippedByOperator(const store::StepRow& s) {
  return s.state == StepState::kSkipped && s.reason.rfind(kSkippedByOperator, 0) == 0;
}
// A step its dependants may start after: succeeded, or skipped by an operator.
inline bool satisfiesNeeds(const store::StepRow& s) {
  return s.state == StepState::kSucceeded || skippedByOperator(s);
}

// The events of an upstream run whose end started a run by an after
// trigger ("started run ID of workflow W (after-trigger N)"; read back by
// triggers::parseAfterStarted), and whose end did not (bad params).
inline constexpr const char* kAfterStartedEvent = "after_trigger_started";
inline constexpr const char* kAfterFailedEvent = "after_trigger_failed";

// The time limit of a `run:` step without `timeout:` (keel's own timer;
// the supervisor enforces none).
inline constexpr std::chrono::milliseconds kNoTimeout{24LL * 3600 * 1000};

class StepRunner;

struct StepRt {
  store::StepRow row;
  int pendingNeeds = 0;                            // needs not yet succeeded
  std::optional<store::AttemptRow> attempt;        // the current or last attempt
  std::optional<exec::ExecHandle> handle;          // while an attempt runs
  StepRunner* runner = nullptr;                    // the runner of that attempt
  std::optional<nlohmann::json> output;            // parsed row.outputJson, on demand
  std::chrono::milliseconds lastDelay{0};          // for decorrelated jitter
  uint64_t timerToken = 0;                         // a timer applies only if it matches
  std::optional<EventLoop::TimerId> stepTimer;     // retry backoff or sleep
  std::optional<EventLoop::TimerId> timeoutTimer;  // the running attempt's timeout
  // Attempts made before the current retry budget began: 0, or the count
  // when a manual retry re-ran the step. Unknown after a restart until
  // Engine::start reads it back from the run's events (loadBudgets).
  std::optional<int> budgetStart = 0;
  // Set by an operator's cancel of this step (keel cancel --step) while
  // its attempt runs: the step's reason when that attempt ends. Cleared
  // when a new attempt starts.
  std::optional<std::string> cancelledBy;
  bool dirty = false;
  bool holdsProcSlot = false;  // counted in the engine's running processes
  bool heldByPause = false;    // a sleep that came due while its run was paused
  // When its success was recorded, in the run's order (a timeline event's
  // seq after a restart); 0 = never, or unknown. Compensations run in the
  // reverse of this order.
  uint64_t completedSeq = 0;
  // Escalation (engine_escalation.cc): when its first attempt in this run
  // failed (from the run's events after a restart), the timer that raises
  // step_not_recovered escalate_after later, and whether it was raised.
  std::optional<WallTime> firstFailedAt;
  std::optional<EventLoop::TimerId> escalationTimer;
  bool notRecoveredRaised = false;
};

struct RunRt {
  store::RunRow row;
  std::shared_ptr<const LoadedWorkflow> wf;
  nlohmann::json params;
  std::vector<StepRt> steps;
  bool cancelRequested = false;
  bool compensateOnCancel = false;  // the cancel asked for compensation
  uint64_t nextCompletedSeq = 1;    // StepRt::completedSeq of the next success
  bool holdsSlot = false;           // counted in its concurrency key
  bool dirty = false;
  bool queuedForFlush = false;
  // The after triggers (workflow, index) an earlier end of this run fired,
  // from its timeline when it was loaded; an end fires each at most once.
  std::set<std::pair<std::string, size_t>> afterFired;
  // Its timeline could not be read when it was loaded: its end fires no
  // after trigger (it may have already) and says so in its timeline.
  bool afterFiredUnknown = false;
  // Called with the run's row once the batch holding it is durable: the
  // replies of trigger, cancel and retry.
  std::vector<std::function<void(const store::RunRow&)>> onDurable;
};

// Gives the run one step per step of its workflow, each a fresh `pending`
// row marked for writing.
// Compensations get theirs too, written only once one starts.
inline void initSteps(RunRt& run) {
  const auto& specs = run.wf->specs;
  run.steps.resize(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    auto& s = run.steps[i];
    s.row.runId = run.row.id;
    s.row.name = specs[i]->name;
    s.dirty = !run.wf->isCompensation(static_cast<int>(i));
  }
}

}  // namespace keel::engine
