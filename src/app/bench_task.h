// `keel bench --workload W4`: task: steps done by workers over the HTTP API.
#pragma once

#include "cli/cli.h"

namespace keel::app {

// 10,000 runs (or --runs) of a chain of three `task:` steps (a -> b -> c,
// each step's input rendered from the previous step's output) against
// `keel serve` in a child process. The runs are triggered over HTTP as fast
// as a few kept-alive clients can; four workers inside the bench process
// poll for tasks in batches and complete them in batches
// (POST /api/v1/tasks/results). Measures from the first trigger until every
// run has succeeded, then checks in the database that every run succeeded
// and every step kept the output its worker returned. Prints a RESULT line
// like W1's (latency: trigger sent -> the completion of step c answered).
int runTaskBench(const cli::BenchOptions& options);

}  // namespace keel::app
