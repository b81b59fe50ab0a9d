// Retainer: the retention of `keel serve`, deleting finished runs while the
// server runs.
//
// A pass reads the latest version of every workflow, takes its
// `retention:` as the age of its runs (else the server's --retain, else
// none: kept), and asks the store to delete the finished runs that
// finished longer ago than that, a small batch per transaction
// (Store::deleteExpiredRuns); the first pass, then one every
// `outboxInterval`, also deletes the delivered outbox of deleted runs. A
// pass that deleted something logs one info
// line with the counts; the counts also go to /metrics, through the
// registry given to the constructor (keel_retention_runs_deleted_total,
// keel_retention_passes_total, keel_retention_failures_total).
//
// Threads: start() runs a pass at once and then every `interval` on a
// thread of its own; stop() (also called by the destructor) ends the pass
// under way after its current transaction and joins the thread, so the
// store must outlive the Retainer only until stop() returns; the registry
// must outlive the Retainer. runPass() and
// the accessors may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/result.h"
#include "observe/metrics.h"
#include "store/store.h"

namespace keel::app {

struct RetentionOptions {
  std::optional<Millis> defaultAge;  // --retain; none: only workflows with retention:
  Millis interval = std::chrono::minutes(1);
  // How often a pass also walks the outbox (RetentionPolicy::outbox); the
  // first pass always does.
  Millis outboxInterval = std::chrono::hours(1);
  int runsPerTransaction = 100;
};

// From `keel serve`'s flags: --retain (0: off), the defaults otherwise.
RetentionOptions retentionOptions(const cli::ServeOptions& serve);

// The audit entry of one transaction of retention (`retention.delete`,
// actor `keel`) or of `keel gc` (`gc.delete`, actor `keel gc`): target
// `finished runs`; detail: the runs deleted, `finished_before` (the cutoff
// for all, when there is one) and, by workflow, its runs and cutoff.
store::DeletionAudit deletionAudit(std::string actor, std::string action, const Clock& clock,
                                   std::optional<WallTime> finishedBefore);

class Retainer {
 public:
  Retainer(store::Store& store, const Clock& clock, RetentionOptions options,
           observe::MetricsRegistry& metrics);
  ~Retainer();
  Retainer(const Retainer&) = delete;
  Retainer& operator=(const Retainer&) = delete;

  void start();
  void stop();

  // One pass on the calling thread (the background thread calls it too;
  // passes never overlap).
  Result<store::RetentionResult> runPass();

  int64_t runsDeleted() const { return static_cast<int64_t>(runsDeleted_.value()); }
  // Blocks until at least `n` passes have ended since construction.
  void waitForPasses(int64_t n);

 private:
  Result<store::RetentionPolicy> policyAt(WallTime now);
  std::optional<Millis> ageOf(const store::WorkflowVersionRow& row);
  void loop();

  store::Store& store_;
  const Clock& clock_;
  const RetentionOptions options_;

  std::mutex passMu_;  // one pass at a time; guards ageBySha_
  // A workflow version's own retention:, by content digest (versions never
  // change, so each is parsed once).
  std::map<std::string, std::optional<Millis>> ageBySha_;
  std::optional<WallTime> lastOutboxWalk_;  // guarded by passMu_

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  int64_t passes_ = 0;     // guarded by mu_
  std::thread thread_;

  std::atomic<bool> stopRequested_{false};
  observe::Counter& runsDeleted_;
  observe::Counter& passesTotal_;
  observe::Counter& failures_;
};

}  // namespace keel::app
