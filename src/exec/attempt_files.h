// The per-attempt folder of a `run:` step, where keel and the attempt's
// supervisor (keel-shim) meet. Internal to exec.
//
// keel creates the folder (mode 0700) under its attempts directory, named
// by attemptDirName(), with an empty output file, then starts keel-shim on
// it. The supervisor takes the lock, writes `shim`, starts the step, writes
// `group`, and when everything it started has ended writes `stdout`,
// `stderr` and, last and atomically, `status`. The files outlive both
// processes: keel reads them whenever it gets to, before or after a
// restart, and removes the folder once the attempt's end is committed.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace keel::exec::attempt_files {

// Held with flock(LOCK_EX) by the live supervisor, for its whole life. keel
// takes it to learn that no supervisor is alive.
inline constexpr const char* kLock = "lock";
// Written by keel, under the lock, when it gives the attempt up: a
// supervisor that takes the lock later sees it and exits without running
// anything.
inline constexpr const char* kAbandoned = "abandoned";
// "PID START\n": the supervisor's pid and start time (/proc/PID/stat field
// 22), written before the step starts.
inline constexpr const char* kShim = "shim";
// "PGID START\n": the step's process group (its leader's pid) and the
// leader's start time.
inline constexpr const char* kGroup = "group";
// The failure class keel stopped the attempt for ("timeout", "cancelled",
// "lost"), written by keel before it signals the supervisor.
inline constexpr const char* kStop = "stop";
// The supervisor's report, JSON; its presence means the attempt has ended.
inline constexpr const char* kStatus = "status";
inline constexpr const char* kStdout = "stdout";
inline constexpr const char* kStderr = "stderr";
// $KEEL_OUTPUT.
inline constexpr const char* kOutput = "output.json";
// The supervisor's own stderr: why it could not run, if it could not.
inline constexpr const char* kShimLog = "shim.log";

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

// "A B\n" as two numbers; false when the text is not that.
bool parsePair(const std::string& text, long long& a, unsigned long long& b);

}  // namespace keel::exec::attempt_files
