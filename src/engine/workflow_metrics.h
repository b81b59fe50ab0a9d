// WorkflowMetrics: the engine's metrics by workflow, in the registry the
// composition root hands down: how long runs, attempts and the wait before
// a run's first attempt take (histograms in seconds), how runs end and how
// attempts end (counters), and when each workflow last succeeded (a gauge
// that survives a restart, because the engine loads it from the store).
//
// Cardinality stays bounded: the `workflow` label only ever names a
// workflow that was applied (the engine passes a run's workflow, and a run
// exists only for an applied workflow), never anything read from a
// request. Other labels take values from closed sets: run states, step
// kinds, failure classes.
//
// Threads: the engine calls every method from its loop thread only; the
// series it holds are the registry's lock-free counters, gauges and
// histograms, read by render() on any thread.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "observe/metrics.h"
#include "store/records.h"

namespace keel::engine {

class WorkflowMetrics {
 public:
  explicit WorkflowMetrics(observe::MetricsRegistry& registry) : registry_(registry) {}

  // The upper bounds, in seconds, of every duration histogram: 10 ms to
  // 8 hours, in steps of about 1-2.5-5 below a minute, then at the
  // minutes an operator reasons in (2, 5, 10, 20, 30 min, 1, 2, 4, 8 h).
  static const std::vector<double>& durationBuckets();

  // Gives the workflow's counters their series at 0, once: so the first
  // run that fails after a start is an increase that rate() and increase()
  // see, not a series that appears at 1. (Histograms get theirs at their
  // first observation: a series per bucket is too many to make ahead.)
  void known(const std::string& workflow);
  // A run's first attempt started: the time since the run was created.
  void firstAttemptStarted(const std::string& workflow, WallTime createdAt, WallTime startedAt);
  // An attempt ended (durably): its duration, and the count of attempts
  // that succeeded or failed, failed ones by class. `kind` is the step's
  // kind ("run", "http", ...) or "unknown" when its workflow version can no
  // longer be read.
  void attemptEnded(const std::string& workflow, std::string_view kind,
                    const store::AttemptRow& attempt);
  // A run ended (durably) in `row.state`: its duration since it was
  // created, and, when it succeeded, its workflow's last success.
  void runEnded(const store::RunRow& row);
  // The workflow last succeeded at `at`, unless a later success is known.
  void lastSuccess(const std::string& workflow, WallTime at);

 private:
  observe::MetricsRegistry& registry_;
  std::set<std::string> known_;
  // The series already looked up, so the loop does not take the registry's
  // mutex for each observation.
  std::map<std::string, observe::Histogram*> triggerToStart_;
  std::map<std::pair<std::string, std::string>, observe::Histogram*> stepDuration_;
  std::map<std::pair<std::string, std::string>, observe::Histogram*> runDuration_;
  std::map<std::pair<std::string, std::string>, observe::Counter*> runsFinished_;
  std::map<std::string, observe::Counter*> attemptsSucceeded_;
  std::map<std::pair<std::string, std::string>, observe::Counter*> attemptsFailed_;
  std::map<std::string, observe::Gauge*> lastSuccess_;
};

}  // namespace keel::engine
