// The composition root of `keel serve`: builds the real store, executor,
// clock and engine, applies the workflows directory, serves the API until
// SIGINT or SIGTERM.
#pragma once

#include "cli/cli.h"

namespace keel::app {

int runServe(const cli::ServeOptions& options);
// Sets up JSON logs on stderr at the given level ("debug", "info", ...).
void setupLogging(const std::string& level);

}  // namespace keel::app
