#include "engine/workflow_metrics.h"

#include <algorithm>
#include <chrono>

namespace keel::engine {
namespace {

constexpr char kRunDuration[] = "keel_run_duration_seconds";
constexpr char kRunDurationHelp[] =
    "Time from a run's creation to its end, in seconds, by workflow and end state.";
constexpr char kStepDuration[] = "keel_step_attempt_duration_seconds";
constexpr char kStepDurationHelp[] =
    "Time from an attempt's start to its end, in seconds, by workflow and step kind.";
constexpr char kTriggerToStart[] = "keel_run_trigger_to_start_seconds";
constexpr char kTriggerToStartHelp[] =
    "Time from a run's creation to the start of its first attempt, in seconds, by workflow.";
constexpr char kRunsFinished[] = "keel_runs_finished_total";
constexpr char kRunsFinishedHelp[] =
    "Runs that reached an end since keel started, by workflow and state (succeeded, failed, "
    "cancelled).";
constexpr char kAttemptsSucceeded[] = "keel_attempts_succeeded_total";
constexpr char kAttemptsSucceededHelp[] =
    "Step attempts that succeeded since keel started, by workflow.";
constexpr char kAttemptsFailed[] = "keel_attempts_failed_total";
constexpr char kAttemptsFailedHelp[] =
    "Step attempts that failed since keel started, by workflow and failure class (error, "
    "timeout, lost, bad_input, ...).";
constexpr char kLastSuccess[] = "keel_workflow_last_success_timestamp_seconds";
constexpr char kLastSuccessHelp[] =
    "Unix time of the end of the workflow's newest successful run (read from the store at start, "
    "then kept up to date).";

double seconds(WallTime from, WallTime to) {
  // A wall clock stepped backwards would give a negative duration: none
  // is shorter than zero.
  return std::max(0.0, std::chrono::duration<double>(to - from).count());
}

// The series of `key`, registered by `make` the first time.
template <typename Map, typename Make>
auto& cached(Map& cache, const typename Map::key_type& key, Make make) {
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, make()).first;
  return *it->second;
}

}  // namespace

const std::vector<double>& WorkflowMetrics::durationBuckets() {
  static const std::vector<double> kBuckets{0.01, 0.025, 0.05, 0.1,  0.25, 0.5,   1,
                                            2.5,  5,     10,   30,   60,   120,   300,
                                            600,  1200,  1800, 3600, 7200, 14400, 28800};
  return kBuckets;
}

void WorkflowMetrics::known(const std::string& workflow) {
  if (!known_.insert(workflow).second) return;
  for (RunState state : {RunState::kSucceeded, RunState::kFailed, RunState::kCancelled}) {
    auto key = std::make_pair(workflow, std::string(toString(state)));
    runsFinished_[key] = &registry_.counter(kRunsFinished, kRunsFinishedHelp,
                                            {{"workflow", workflow}, {"state", key.second}});
  }
  attemptsSucceeded_[workflow] =
      &registry_.counter(kAttemptsSucceeded, kAttemptsSucceededHelp, {{"workflow", workflow}});
  for (FailureClass cls :
       {FailureClass::kTimeout, FailureClass::kDependencyUnavailable, FailureClass::kRateLimited,
        FailureClass::kBadInput, FailureClass::kCrash, FailureClass::kLost,
        FailureClass::kCancelled, FailureClass::kError}) {
    auto key = std::make_pair(workflow, std::string(toString(cls)));
    attemptsFailed_[key] = &registry_.counter(kAttemptsFailed, kAttemptsFailedHelp,
                                              {{"workflow", workflow}, {"class", key.second}});
  }
}

void WorkflowMetrics::firstAttemptStarted(const std::string& workflow, WallTime createdAt,
                                          WallTime startedAt) {
  cached(triggerToStart_, workflow, [&] {
    return &registry_.histogram(kTriggerToStart, kTriggerToStartHelp, durationBuckets(),
                                {{"workflow", workflow}});
  }).observe(seconds(createdAt, startedAt));
}

void WorkflowMetrics::attemptEnded(const std::string& workflow, std::string_view kind,
                                   const store::AttemptRow& attempt) {
  if (attempt.state == AttemptState::kRunning) return;
  auto key = std::make_pair(workflow, std::string(kind));
  cached(stepDuration_, key, [&] {
    return &registry_.histogram(kStepDuration, kStepDurationHelp, durationBuckets(),
                                {{"workflow", workflow}, {"kind", key.second}});
  }).observe(seconds(attempt.startedAt, attempt.finishedAt.value_or(attempt.startedAt)));
  if (attempt.state == AttemptState::kSucceeded) {
    cached(attemptsSucceeded_, workflow, [&] {
      return &registry_.counter(kAttemptsSucceeded, kAttemptsSucceededHelp,
                                {{"workflow", workflow}});
    }).inc();
    return;
  }
  auto classKey = std::make_pair(workflow, std::string(toString(attempt.failureClass)));
  cached(attemptsFailed_, classKey, [&] {
    return &registry_.counter(kAttemptsFailed, kAttemptsFailedHelp,
                              {{"workflow", workflow}, {"class", classKey.second}});
  }).inc();
}

void WorkflowMetrics::runEnded(const store::RunRow& row) {
  if (!isTerminal(row.state)) return;
  WallTime end = row.finishedAt.value_or(row.createdAt);
  auto key = std::make_pair(row.workflow, std::string(toString(row.state)));
  cached(runDuration_, key, [&] {
    return &registry_.histogram(kRunDuration, kRunDurationHelp, durationBuckets(),
                                {{"workflow", row.workflow}, {"state", key.second}});
  }).observe(seconds(row.createdAt, end));
  cached(runsFinished_, key, [&] {
    return &registry_.counter(kRunsFinished, kRunsFinishedHelp,
                              {{"workflow", row.workflow}, {"state", key.second}});
  }).inc();
  if (row.state == RunState::kSucceeded) lastSuccess(row.workflow, end);
}

void WorkflowMetrics::lastSuccess(const std::string& workflow, WallTime at) {
  auto& gauge = cached(lastSuccess_, workflow, [&] {
    return &registry_.gauge(kLastSuccess, kLastSuccessHelp, {{"workflow", workflow}});
  });
  double t = std::chrono::duration<double>(at.time_since_epoch()).count();
  if (t > gauge.value()) gauge.set(t);
}

}  // namespace keel::engine
