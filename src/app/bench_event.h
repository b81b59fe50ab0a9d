// `keel bench --workload W6`: events in over the HTTP API.
#pragma once

#include "cli/cli.h"

namespace keel::app {

// 10,000 distinct events (or --runs) posted to POST /api/v1/events/bench.events
// of `keel serve` in a child process, by 16 kept-alive clients; one noop
// workflow has an event trigger on that topic, so each event starts one
// run. Every event is sent twice: the first answer must be 202 with one run,
// the second 200 with the same run. Measures from the first post until the
// last answer; latency is the first post -> its 202 (the event and its run
// durable). Then checks in the database that exactly one run per event
// exists (no duplicate, none missing) and every run succeeded. Prints a
// RESULT line like W4's.
int runEventBench(const cli::BenchOptions& options);

}  // namespace keel::app
