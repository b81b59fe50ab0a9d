// spawnShell: starts `/bin/sh -c COMMAND` as the leader of a new process
// group, with stdin on /dev/null and stdout/stderr on pipes. Internal to
// exec; called from the executor's worker threads, any number at once.
//
// The child starts clean whatever state the server is in: every descriptor
// but 0, 1 and 2 is closed (no server socket or SQLite file leaks into a
// step), the signal mask is empty and every signal has its default action
// (the server ignores SIGPIPE; a step must not inherit that).
#pragma once

#include <spawn.h>
#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "core/result.h"
#include "exec/unique_fd.h"

namespace keel::exec {

// posix_spawn's attribute and file-action objects, destroyed on every
// path. The child starts with an empty signal mask and every signal at its
// default action (the server ignores SIGPIPE, a supervisor blocks its stop
// signals: a child must inherit neither), plus `flags`
// (POSIX_SPAWN_SETPGROUP, POSIX_SPAWN_SETSID).
struct SpawnSetup {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  explicit SpawnSetup(short flags);
  ~SpawnSetup();
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

struct SpawnedShell {
  pid_t pid = -1;     // also the process group id
  UniqueFd stdoutFd;  // read ends, non-blocking, close-on-exec
  UniqueFd stderrFd;
};

// The variables a step gets from the server's environment whatever it asks:
// the search path, the home directory, the locale and the time zone.
inline constexpr const char* kBaseEnvironment[] = {"PATH", "HOME", "LANG", "LC_ALL", "TZ"};

// A step's environment as "NAME=value" entries: the kBaseEnvironment
// variables and those named in `passThrough` that are set in the server's
// environment (`environ`), then `overrides` on top. PATH is
// "/usr/local/bin:/usr/bin:/bin" when the server has none. It reads
// `environ`, so the server must not call setenv() once executors run
// (nothing in keel does). An InvalidArgument error for a name that is empty
// or contains '=' or a NUL, or a value that contains a NUL.
Result<std::vector<std::string>> buildEnvironment(
    const std::map<std::string, std::string>& overrides,
    const std::vector<std::string>& passThrough = {});

// `workdir` empty means the server's working directory. Errors: kIo for a
// failure of the system (pipes, fork), kNotFound for a missing workdir,
// kTooLarge when the command and environment are over the system's limit
// for a new program (E2BIG), kInvalidArgument for a command or workdir that
// holds a NUL byte (it would be cut short there).
Result<SpawnedShell> spawnShell(const std::string& command, const std::string& workdir,
                                const std::vector<std::string>& environment);

}  // namespace keel::exec
