// The offline database commands: `keel check` (and their output). They
// open the database file directly, so keel serve must not be running on it
// (its lock refuses them if it is).
#pragma once

#include "cli/cli.h"

namespace keel::app {

// Prints "ok" (exit 0), or every problem found, one a line (exit 1); exit 1
// with a message on stderr when the file cannot be checked.
int runCheck(const cli::CheckOptions& options);

}  // namespace keel::app
