// `keel bench --workload W5`: http: steps against a local server.
#pragma once

#include "cli/cli.h"

namespace keel::app {

// 1,000 runs (or --runs) of one http: step that POSTs a small JSON body to
// an HTTP server inside the bench process, one run after another, after 20
// warm-up runs; the engine, the HTTP client (libcurl) and the runner are the
// ones `keel serve` uses. Latency is from the trigger to the run's durable
// end. Prints a RESULT line like W1's.
int runHttpBench(const cli::BenchOptions& options);

}  // namespace keel::app
