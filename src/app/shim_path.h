// Where keel-shim, the supervisor of every `run:` step, is installed: next
// to the keel binary. For `keel serve` and the benchmarks that start steps.
#pragma once

#include <string>

#include "core/result.h"

namespace keel::app {

// The path of keel-shim beside the running keel; kNotFound (with a message
// saying where it was looked for) when it is missing or not executable.
Result<std::string> findShim();

}  // namespace keel::app
