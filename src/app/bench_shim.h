// S1: what the step supervisor costs. Runs N attempts of `true` one at a
// time through the ProcessExecutor (each under its own keel-shim, as keel
// runs every `run:` step) and, interleaved with them, N spawns of
// `/bin/sh -c true` with posix_spawn and waitpid and N small files written
// the way the supervisor writes each of its five (fsync of the file and of
// the folder). Reports the mean, p50 and p99 of each; the difference
// between the first two is the supervisor's cost per attempt.
#pragma once

#include "cli/cli.h"

namespace keel::app {

int runShimBench(const cli::BenchOptions& options);

}  // namespace keel::app
