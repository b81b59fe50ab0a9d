// W3: crash recovery under load. Runs `keel serve` as a child process,
// submits runs whose steps append to an O_APPEND ledger, kill -9s the child
// when the ledger reaches a threshold, restarts it, and measures how long
// the remaining work takes, runs lost and steps executed twice.
#pragma once

#include "cli/cli.h"

namespace keel::app {

int runW3(const cli::BenchOptions& options);

}  // namespace keel::app
