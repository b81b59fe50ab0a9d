// `keel bench`: the workloads W1-W3 and L1 of docs/benchmarks.md, run in this
// process (W3 also in a child `keel serve` that it kills). Prints progress
// on stderr and one last line on stdout:
// RESULT peer=keel workload=W1 runs=N seconds=S runs_per_s=R p50_ms=A p99_ms=B rss_kb=K
#pragma once

#include "cli/cli.h"

namespace keel::app {

int runBench(const cli::BenchOptions& options);

}  // namespace keel::app
