// spawnShell: starts `/bin/sh -c COMMAND` as the leader of a new process
// group, with stdin on /dev/null and stdout/stderr on pipes. Internal to
// exec; called from the executor's worker threads, any number at once.
//
// The child starts clean whatever state the server is in: every descriptor
// but 0, 1 and 2 is closed (no server socket or SQLite file leaks into a
// step), the signal mask is empty and every signal has its default action
// (the server ignores SIGPIPE; a step must not inherit that).
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "core/result.h"
#include "exec/unique_fd.h"

namespace keel::exec {

struct SpawnedShell {
  pid_t pid = -1;     // also the process group id
  UniqueFd stdoutFd;  // read ends, non-blocking, close-on-exec
  UniqueFd stderrFd;
};

// The server's environment with `overrides` on top, as "NAME=value" entries.
// It reads `environ`, so the server must not call setenv() once executors
// run (nothing in keel does).
// A name that is empty or contains '=' is an InvalidArgument error.
Result<std::vector<std::string>> buildEnvironment(
    const std::map<std::string, std::string>& overrides);

// `workdir` empty means the server's working directory. Errors: kIo for a
// failure of the system (pipes, fork), kNotFound for a missing workdir.
Result<SpawnedShell> spawnShell(const std::string& command, const std::string& workdir,
                                const std::vector<std::string>& environment);

}  // namespace keel::exec
