// W3: crash recovery under load. Runs `keel serve` as a child process,
// submits runs whose steps append to an O_APPEND ledger, kill -9s the child
// when the ledger reaches a threshold, restarts it, and measures how long
// the remaining work takes, runs lost and steps executed twice. The steps'
// supervisors (keel-shim) outlive keel, so the attempts in flight at the
// kill are re-attached or collected, not run again.
//
// W3K: the same, but every supervisor of an attempt in flight is killed
// right after keel (a crash of both): those attempts are lost and retried,
// and their step processes, orphaned, must be killed by the restarted keel.
#pragma once

#include "cli/cli.h"

namespace keel::app {

int runW3(const cli::BenchOptions& options);
int runW3K(const cli::BenchOptions& options);

}  // namespace keel::app
