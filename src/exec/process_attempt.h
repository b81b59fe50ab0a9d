// runProcessAttempt: runs one attempt of a `run:` step to its end, on the
// calling thread, and returns its outcome. Internal to exec: the
// ProcessExecutor calls it on one of its worker threads.
//
// The attempt gets a private temporary directory holding the file named by
// $KEEL_OUTPUT, runs `/bin/sh -c COMMAND` in its own process group, captures
// both streams (capped, see StreamCapture) with poll() so that neither pipe
// can block the child, and honours a stop request from `latch` (SIGTERM to
// the group, SIGKILL after request.killGrace). When the shell exits, the
// pipes are read until EOF or for at most kDrainAfterExit, and then the
// whole group is SIGKILLed: no process started by a step outlives it (unless
// it left the process group on purpose, with setsid or setpgid).
#pragma once

#include <chrono>

#include "exec/executor.h"
#include "exec/stop_latch.h"

namespace keel::exec {

// How long pipes held open by leftover background processes are still read
// after the shell itself has exited.
inline constexpr std::chrono::milliseconds kDrainAfterExit{2000};

// `acceptedAt` is when start() accepted the request; the "timed out after"
// in messages is measured from it, as the engine's timeout is.
StepOutcome runProcessAttempt(const StepRequest& request, StopLatch& latch,
                              std::chrono::steady_clock::time_point acceptedAt);

// The outcome of an attempt stopped `after` its acceptance, before any
// process was started.
StepOutcome stoppedBeforeStart(FailureClass why, std::chrono::milliseconds after);

}  // namespace keel::exec
