// Failure classification of a finished process, and the sentence that
// describes how it ended.
//
// Pure functions of the facts the executor gathered (exit status, the signal
// that ended the process, whether keel stopped it and why); no I/O. Any
// thread may call them.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "core/states.h"

namespace keel::exec {

// The failure class of an attempt, first rule that matches:
//   stoppedAs set (keel stopped it: timeout, cancel, ...)  -> that class
//   exit code 0                                            -> kNone
//   exit code 64..78 (sysexits.h: usage, data, config...)  -> kBadInput
//   exit code 126 or 127 (not executable, not found)       -> kError
//   ended by a signal                                      -> kCrash
//   any other exit code (or no status at all)              -> kError
// Note that a shell reports a command killed by signal N as exit code
// 128+N; that is an exit code, so kError, and the message says what it
// probably means.
FailureClass classifyExit(std::optional<int> exitCode, std::optional<int> signal,
                          std::optional<FailureClass> stoppedAs);

// "exit code 3", "exit code 65 (EX_DATAERR)", "exit code 127 (command not
// found)", "exit code 137 (128+9: a command was killed by SIGKILL)".
std::string describeExitCode(int code);

// "killed by signal 9 (SIGKILL)".
std::string describeSignal(int signal);

// "SIGKILL", or "signal 99" for a number without a known name.
std::string signalName(int signal);

// A measured duration for humans: "250ms", "1.5s", "10s", "2m30s", "1h5m".
// Durations of 10s and more are rounded to whole seconds.
std::string formatElapsed(std::chrono::milliseconds d);

// Everything known about how an attempt's process ended.
struct ExitFacts {
  std::optional<int> exitCode;
  std::optional<int> signal;
  std::optional<FailureClass> stoppedAs;      // keel stopped it, and why
  std::chrono::milliseconds stoppedAfter{0};  // from start() to stop()
  bool sigtermSent = false;                   // the process was alive when stopped
  bool sigkillAfterGrace = false;             // it outlived the grace period
  std::chrono::milliseconds killGrace{0};
};

// The human summary of an attempt's end:
//   "exit code 0", "exit code 3", "killed by signal 9 (SIGKILL)",
//   "timed out after 10s; SIGTERM sent, then SIGKILL after 10s grace",
//   "cancelled after 3s; SIGTERM sent, then killed by signal 15 (SIGTERM)".
std::string describeExit(const ExitFacts& facts);

}  // namespace keel::exec
