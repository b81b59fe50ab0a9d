// `keel bench --workload L1`: the run listing of `GET /api/v1/runs` on a
// large database. Fills a store with 300,000 finished runs (or --runs),
// reopens it (timed: open_ms), then times one page of 50 for every
// combination of the filters the API offers (workflow, state, cursor),
// straight on the store.
#pragma once

#include "cli/cli.h"

namespace keel::app {

int runListBench(const cli::BenchOptions& options);

}  // namespace keel::app
