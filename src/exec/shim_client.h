// keel's side of a step's supervisor (keel-shim, see shim_main.cc and
// attempt_files.h). Internal to exec: the ProcessExecutor calls these on its
// worker threads, one attempt per call, any number at once.
#pragma once

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "exec/executor.h"
#include "exec/stop_latch.h"

namespace keel::exec {

struct ShimConfig {
  std::string shimPath;     // the keel-shim program
  std::string attemptsDir;  // holds one folder per attempt; created if missing
};

// The outcome of an attempt stopped (`why`) `after` it was accepted, before
// anything was started.
StepOutcome stoppedBeforeStart(FailureClass why, std::chrono::milliseconds after);

// Creates the attempt's folder, starts its supervisor and watches it until
// the attempt has ended (or the latch asks to detach). A stop request is
// written to the folder (its class) and passed on as SIGTERM to the
// supervisor, which stops the step and reports.
StepOutcome runUnderShim(const StepRequest& request, StopLatch& latch,
                         std::chrono::steady_clock::time_point acceptedAt,
                         const ShimConfig& config);

// The attempt started by an earlier keel process: waits for its live
// supervisor, or collects the result it left, or, when there is neither,
// makes sure no supervisor can still start it, kills whatever the attempt
// left running and reports it lost.
StepOutcome reattachShim(const AttemptRef& ref, StopLatch& latch, const ShimConfig& config);

// The folders whose name is not in `keep`, as the attempts folder holds
// them now (a folder made later is not listed).
std::vector<std::string> staleAttemptDirs(const ShimConfig& config,
                                          const std::set<std::string>& keep);

// Removes a folder staleAttemptDirs() listed. One whose supervisor still
// runs is told to stop (class lost) and left for the next start; false then.
bool clearStaleAttemptDir(const std::string& dir);

// Kills every process left by the attempt whose supervisor is gone: those
// whose environment names the attempt (KEEL_RUN_ID, KEEL_STEP,
// KEEL_ATTEMPT) and the members of its recorded process group. Returns
// how many it killed; waits (up to 10 s) until they are gone.
size_t killAttemptLeftovers(const std::string& dir, const AttemptRef& ref);

}  // namespace keel::exec
