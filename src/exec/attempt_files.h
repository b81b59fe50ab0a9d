// The per-attempt folder of a `run:` step, where keel and the attempt's
// supervisor (keel-shim) meet. Internal to exec.
//
// keel creates the folder (mode 0700) under its attempts directory, named
// by attemptDirName(), then starts keel-shim on it. The supervisor takes
// the lock and writes who it is into it, starts the step, adds the step's
// process group, appends what the step writes to `live` as it reads it, and when
// everything it started has ended writes `logs`
// and, last and atomically, `status`. The files outlive both processes:
// keel reads them whenever it gets to, before or after a restart, and
// removes the folder once the attempt's end is committed.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace keel::exec::attempt_files {

// Held with flock(LOCK_EX) by the live supervisor, for its whole life. keel
// takes it to learn that no supervisor is alive. Its text says who: "PID
// START" of the supervisor on the first line (written before the step
// starts; START is /proc/PID/stat field 22, so the pair names one process),
// and "PGID START" of the step's process group leader on the second, once
// the step runs. See readLock().
inline constexpr const char* kLock = "lock";
// Written by keel, under the lock, when it gives the attempt up: a
// supervisor that takes the lock later sees it and exits without running
// anything.
inline constexpr const char* kAbandoned = "abandoned";
// The failure class keel stopped the attempt for ("timeout", "cancelled",
// "lost"), written by keel before it signals the supervisor.
inline constexpr const char* kStop = "stop";
// The supervisor's report, JSON; its presence means the attempt has ended
// and `logs` is complete.
inline constexpr const char* kStatus = "status";
// The step's captured stdout, then its captured stderr; the status gives
// the length of each part. Not made when both are empty.
inline constexpr const char* kLogs = "logs";
// The step's output as the supervisor reads it, stdout and stderr
// interleaved, appended at once so that keel can follow a running step.
// Bounded: past twice the log cap the supervisor appends one line saying
// so and stops (the `logs` file keeps head and tail of each stream).
// Made before the step starts.
inline constexpr const char* kLive = "live";
// $KEEL_OUTPUT (the step creates it, if it has an output).
inline constexpr const char* kOutput = "output.json";
// Why a supervisor could not run, when it could not.
inline constexpr const char* kShimLog = "shim.log";

// A pid and the start time that makes it one process.
struct ProcessId {
  long long pid = 0;
  unsigned long long start = 0;
};
struct LockText {
  std::optional<ProcessId> supervisor;
  std::optional<ProcessId> group;  // the leader's pid is the group id
};
// What the folder's lock file says; empty parts when not (yet) written.
LockText readLock(const std::string& dir);
// "PID START\n".
std::string formatProcessId(long long pid, unsigned long long start);

// "RUN.STEP.N": run ids and step names hold letters, digits, '-' and '_'.
std::string attemptDirName(const std::string& runId, const std::string& step, int attempt);

// How far a write must get before writeFileAtomic returns.
enum class Durability {
  // Readers on this machine see the old file or the whole new one (a
  // temporary file, then rename). Enough for everything that matters only
  // while the processes that wrote it may still run: after a reboot no
  // supervisor is alive and its attempt is lost whatever the files say.
  kVisible,
  // Also on disk before the rename (fsync of the file): after a power loss
  // the file is whole or missing, never empty. For the status.
  kSynced,
};

// Writes `dir/name` so that a reader sees the old file or the whole new one.
Status writeFileAtomic(const std::string& dir, const std::string& name, std::string_view content,
                       Durability durability = Durability::kVisible);

// The file's bytes, at most `cap`; kNotFound when it does not exist.
Result<std::string> readFileCapped(const std::string& path, size_t cap);

}  // namespace keel::exec::attempt_files
