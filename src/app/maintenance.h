// The offline database commands: `keel check` and `keel gc` (and their
// output). They
// open the database file directly, so keel serve must not be running on it
// (its lock refuses them if it is).
#pragma once

#include "cli/cli.h"

namespace keel::app {

// Prints "ok" (exit 0), or every problem found, one a line (exit 1); exit 1
// with a message on stderr when the file cannot be checked.
int runCheck(const cli::CheckOptions& options);

// Deletes the finished runs older than options.olderThanMs; prints the
// count on stdout (exit 0), progress on stderr; exit 1 with a message on
// stderr on failure (what was deleted before it stays deleted).
int runGc(const cli::GcOptions& options);

}  // namespace keel::app
